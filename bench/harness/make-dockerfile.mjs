// Generated multi-stage Dockerfiles for the front-end benchmarks (parse-plan.mjs, check.mjs).

/**
 * A generator of Dockerfiles of exactly `count` instructions, from a deterministic pseudo-random
 * sequence (seeded), so every run measures the same files when sizes are asked in the same order.
 */
export function createDockerfileGenerator(seed = 7) {
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const pick = (items) => items[Math.floor(random() * items.length)];

  /**
   * A Dockerfile of exactly `count` instructions: three global ARGs, then stages of about 20
   * instructions (FROM an image, an ARG-selected image or an earlier stage; ARG, ENV, LABEL,
   * WORKDIR; COPY and COPY --from an earlier stage; RUN with cache mounts and continuations; RUN and
   * COPY heredocs; EXPOSE, USER, CMD), with comments and blank lines between them.
   */
  return function makeDockerfile(count) {
    const out = [
      "# syntax=docker/dockerfile:1",
      "ARG GO_VERSION=1.26",
      "ARG BASE=alpine:3.22",
      "ARG TARGETOS",
    ];
    let instructions = 3;
    let stage = 0;
    const add = (...lines) => {
      out.push(...lines);
      instructions++;
    };
    const body = [
      (s) => add(`ARG VERSION_${s}=1.${s}.0`),
      (s) => add(`ENV APP=app${s} PATH="/app/bin:$PATH" \\`, `    CGO_ENABLED=0`),
      () => add("WORKDIR /src"),
      () => add("COPY go.mod go.sum ./"),
      (s) => s > 0 && add(`COPY --from=stage${Math.floor(random() * s)} /out/bin /usr/local/bin/`),
      () =>
        add(
          "RUN --mount=type=cache,target=/root/.cache/go-build \\",
          "    --mount=type=cache,target=/go/pkg/mod \\",
          "    go build -trimpath -ldflags='-s -w' -o /out/bin/app ./cmd/app && \\",
          "    echo built",
        ),
      () =>
        add(
          "RUN <<EOF",
          "set -eux",
          "apk add --no-cache ca-certificates tzdata",
          "adduser -D app",
          "EOF",
        ),
      (s) => add(`COPY <<-EOF /etc/app${s}.conf`, "\tlisten=:8080", `\tname=stage${s}`, "\tEOF"),
      (s) => add(`LABEL org.opencontainers.image.title="stage ${s}" version="1.${s}"`),
      () => add('RUN ["sh", "-c", "echo exec form"]'),
      () => add("EXPOSE 8080/tcp"),
      () => add("USER app"),
      () => add("COPY . ."),
      () => add("RUN go test ./... \\", "", "    -count=1"),
      () => add('HEALTHCHECK --interval=30s CMD ["wget", "-qO-", "http://localhost:8080/health"]'),
      () => add('ENTRYPOINT ["/usr/local/bin/app"]'),
      () => add('CMD ["serve"]'),
    ];
    while (instructions < count) {
      out.push("", `# stage ${stage}`);
      const from = random();
      if (stage > 0 && from < 0.4)
        add(`FROM stage${Math.floor(random() * stage)} AS stage${stage}`);
      else if (from < 0.7) add(`FROM golang:\${GO_VERSION}-alpine AS stage${stage}`);
      else add(`FROM --platform=$BUILDPLATFORM \${BASE} AS stage${stage}`);
      for (let i = 0; i < 19 && instructions < count; i++) {
        const before = instructions;
        pick(body)(stage);
        if (instructions === before) i--;
      }
      stage++;
    }
    return { text: out.join("\n") + "\n", stages: stage };
  };
}
