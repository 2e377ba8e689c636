import { describe, expect, it } from "vitest";
import { attributeLayers, largestLayers, type LayerStage } from "./attribute-layers.js";

// examples/node-service: runtime FROM node (FROM the Debian image), COPY --from=build.
const stages: LayerStage[] = [
  {
    id: "node",
    base: { kind: "image", reference: "stagecraft/debian:bookworm" },
    steps: [
      { keyword: "ARG", line: 7, copiedFrom: null },
      { keyword: "RUN", line: 10, copiedFrom: null },
      { keyword: "RUN", line: 12, copiedFrom: null },
    ],
  },
  {
    id: "build",
    base: { kind: "stage", stage: "node" },
    steps: [{ keyword: "RUN", line: 40, copiedFrom: null }],
  },
  {
    id: "runtime",
    base: { kind: "stage", stage: "node" },
    steps: [
      { keyword: "WORKDIR", line: 43, copiedFrom: null },
      { keyword: "COPY", line: 44, copiedFrom: null },
      { keyword: "COPY", line: 45, copiedFrom: "build" },
      { keyword: "USER", line: 46, copiedFrom: null },
      { keyword: "EXPOSE", line: 47, copiedFrom: null },
      { keyword: "CMD", line: 48, copiedFrom: null },
    ],
  },
];

// `GET /images/{id}/history` of that image on Docker 26.1.5, newest first.
const history = [
  { createdBy: 'CMD ["node" "dist/server.js"]', sizeBytes: 0 },
  { createdBy: "EXPOSE map[8080/tcp:{}]", sizeBytes: 0 },
  { createdBy: "USER nobody", sizeBytes: 0 },
  { createdBy: "COPY /app/dist/ dist/ # buildkit", sizeBytes: 609 },
  { createdBy: "COPY package.json ./ # buildkit", sizeBytes: 333 },
  { createdBy: "WORKDIR /app", sizeBytes: 0 },
  {
    createdBy: "RUN |1 NONCE=0 /bin/sh -c apt-get install nodejs # buildkit",
    sizeBytes: 99_566_230,
  },
  { createdBy: "RUN |1 NONCE=0 /bin/sh -c mkdir -p /x # buildkit", sizeBytes: 225_079 },
  { createdBy: "ARG NONCE=0", sizeBytes: 0 },
  { createdBy: "", sizeBytes: 116_892_416 },
];

describe("attributeLayers", () => {
  it("maps every entry to its stage and line, the base image's to the base image", () => {
    const layers = attributeLayers(history, "runtime", stages);
    expect(layers.map((layer) => [layer.index, layer.origin, layer.stage, layer.line])).toEqual([
      [0, "base", null, null],
      [1, "stage", "node", 7],
      [2, "stage", "node", 10],
      [3, "stage", "node", 12],
      [4, "stage", "runtime", 43],
      [5, "stage", "runtime", 44],
      [6, "stage", "runtime", 45],
      [7, "stage", "runtime", 46],
      [8, "stage", "runtime", 47],
      [9, "stage", "runtime", 48],
    ]);
    expect(layers[0]?.baseImage).toBe("stagecraft/debian:bookworm");
    expect(layers[6]).toMatchObject({ copiedFrom: "build", createdBy: "COPY /app/dist/ dist/" });
    expect(layers[3]?.createdBy).toBe("RUN /bin/sh -c apt-get install nodejs");
  });

  it("gives a base image's own BuildKit steps to the base image once the chain is used up", () => {
    const layers = attributeLayers(
      [
        { createdBy: "COPY /out/app /app # buildkit", sizeBytes: 10 },
        { createdBy: "RUN /bin/sh -c apk add gcc # buildkit", sizeBytes: 500 },
        { createdBy: "/bin/sh -c #(nop) ADD file:abc in / ", sizeBytes: 7 },
      ],
      "app",
      [
        {
          id: "app",
          base: { kind: "image", reference: "alpine:3" },
          steps: [{ keyword: "COPY", line: 5, copiedFrom: "build" }],
        },
      ],
    );
    expect(layers.map((layer) => [layer.origin, layer.line])).toEqual([
      ["base", null],
      ["base", null],
      ["stage", 5],
    ]);
  });

  it("skips a step that recorded no entry of its own", () => {
    const layers = attributeLayers([{ createdBy: "COPY a b # buildkit", sizeBytes: 3 }], "s", [
      {
        id: "s",
        base: { kind: "scratch" },
        steps: [
          { keyword: "COPY", line: 2, copiedFrom: null },
          { keyword: "ONBUILD", line: 3, copiedFrom: null },
        ],
      },
    ]);
    expect(layers).toEqual([
      {
        index: 0,
        sizeBytes: 3,
        createdBy: "COPY a b",
        origin: "stage",
        stage: "s",
        line: 2,
        copiedFrom: null,
        baseImage: null,
      },
    ]);
  });
});

describe("largestLayers", () => {
  it("lists the heaviest first and leaves config-only steps out", () => {
    const layers = attributeLayers(history, "runtime", stages);
    expect(largestLayers(layers, 3).map((layer) => layer.index)).toEqual([0, 3, 2]);
    expect(largestLayers(layers, 100)).toHaveLength(5);
  });
});
