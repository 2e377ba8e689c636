#!/usr/bin/env bash
# Measures what docker/start-engine.sh --cpus does to a CPU-bound RUN step: an engine "cpucapV" builds a
# step with two busy workers (each md5sums the same number of bytes) at --cpus 2 and --cpus 1, several
# times in alternation, without cache. Prints BuildKit's own duration of the step, the CPU time the
# engine's cgroup used, and how often the CFS quota throttled it. Stops the engine at the end.
# Usage: measure-cpu-cap.sh [--runs N] [--mb MB] [--version 28]   (defaults: 5 runs, 300 MB per worker;
#        --version 28 measures an engine in a container capped by docker's own --cpus instead)
# The machine's load changes the uncapped numbers (2 CPUs are only 2 when nobody else uses them): the
# load average is printed with each run.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$here/lib.sh"

runs=5
mb=300
version=26
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="${2:?--runs needs a number}"; shift ;;
    --mb) mb="${2:?--mb needs a number of megabytes}"; shift ;;
    --version) version="${2:?--version needs 26 or 28}"; shift ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option: $1 (see --help)" ;;
  esac
  shift
done
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || die "--runs $runs: give a positive whole number"
[[ "$mb" =~ ^[1-9][0-9]*$ ]] || die "--mb $mb: give a positive whole number of megabytes"
[ -d /sys/fs/cgroup/cpu ] || die "this measurement reads cgroup v1 counters (/sys/fs/cgroup/cpu), which this machine does not have"

name="cpucap$version"
host="unix://$STAGECRAFT_RUN_DIR/engines/$name.sock"
work="$(mktemp -d)"
trap 'rm -rf "$work"; bash "$here/stop-engines.sh" "$name" >/dev/null 2>&1 || true' EXIT
cat >"$work/Dockerfile" <<DOCKERFILE
FROM ${STAGECRAFT_BUSYBOX_IMAGE:-stagecraft/busybox:latest}
ARG NONCE
RUN echo "\$NONCE" >/dev/null; for w in 1 2; do (head -c ${mb}000000 /dev/zero | md5sum >/dev/null) & done; wait
DOCKERFILE

# One build without cache; prints "step_seconds cpu_seconds throttled_periods": BuildKit's own duration of
# the RUN step, and the CPU time and CFS throttling of the engine's whole cgroup during the build.
measure() {
  local cgroup cg acct usage0 throttled0 usage1 throttled1 step
  cgroup="$(sed -n 's/.*"cgroup":"\([^"]*\)".*/\1/p' "$STAGECRAFT_RUN_DIR/engines/$name.json")"
  [ -n "$cgroup" ] || die "engine $name has no cgroup of its own to measure (see $STAGECRAFT_RUN_DIR/engines/$name.json)"
  cg="/sys/fs/cgroup/cpu$cgroup"
  acct="/sys/fs/cgroup/cpuacct$cgroup"
  usage0="$(cat "$acct/cpuacct.usage")"
  throttled0="$(awk '$1 == "nr_throttled" { print $2 }' "$cg/cpu.stat")"
  DOCKER_HOST="$host" docker build --progress=plain --no-cache --build-arg "NONCE=$RANDOM$RANDOM" \
    --label org.stagecraft.test=1 "$work" >"$work/out" 2>&1 || { tail -n 20 "$work/out" >&2; die "the build failed"; }
  usage1="$(cat "$acct/cpuacct.usage")"
  throttled1="$(awk '$1 == "nr_throttled" { print $2 }' "$cg/cpu.stat")"
  step="$(awk '/ RUN echo/ && id == "" { id = $1 } id != "" && $1 == id && $2 == "DONE" { sub(/s$/, "", $3); print $3 }' "$work/out")"
  [ -n "$step" ] || { tail -n 20 "$work/out" >&2; die "no duration for the RUN step in the build's output"; }
  echo "$step $(awk -v a="$usage0" -v b="$usage1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }') $((throttled1 - throttled0))"
}

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

say "engine $name (Docker $version): two workers x $mb MB md5sum, $runs runs per setting, alternating"
: >"$work/results"
for run in $(seq 1 "$runs"); do
  for cpus in 2 1; do
    bash "$here/start-engine.sh" "$name" --version "$version" --cpus "$cpus" >/dev/null 2>&1 \
      || bash "$here/start-engine.sh" "$name" --version "$version" --cpus "$cpus"
    measure >"$work/measured"
    read -r step cpu throttled <"$work/measured"
    load="$(cut -d' ' -f1 /proc/loadavg)"
    printf '%s %s %s %s %s\n' "$cpus" "$step" "$cpu" "$throttled" "$load" >>"$work/results"
    say "run $run, --cpus $cpus: RUN step ${step} s, CPU ${cpu} s, throttled $throttled periods (load average $load)"
  done
done
for cpus in 2 1; do
  steps="$(awk -v c="$cpus" '$1 == c { print $2 }' "$work/results" | sort -n | tr '\n' ' ')"
  say "--cpus $cpus: RUN step median $(awk -v c="$cpus" '$1 == c { print $2 }' "$work/results" | median) s (all: $steps), CPU median $(awk -v c="$cpus" '$1 == c { print $3 }' "$work/results" | median) s, throttled median $(awk -v c="$cpus" '$1 == c { print $4 }' "$work/results" | median)"
done
one="$(awk '$1 == 1 { print $2 }' "$work/results" | median)"
two="$(awk '$1 == 2 { print $2 }' "$work/results" | median)"
say "ratio of medians, 1 CPU / 2 CPUs: $(awk -v a="$one" -v b="$two" 'BEGIN { printf "%.2f", a / b }')"
