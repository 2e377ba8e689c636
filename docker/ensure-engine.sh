#!/usr/bin/env bash
# Makes a Docker Engine answer: uses the one at DOCKER_HOST or /var/run/docker.sock when it answers
# /_ping; otherwise, as root on Debian, installs Docker Engine 26.1 + buildx from Debian trixie and
# starts dockerd in the background. Idempotent: a second run only checks.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$here/lib.sh"

print_engine() {
  local version
  version="$(engine_get /version)" || die "the engine answered /_ping but not /version"
  # The fields are flat strings in /version's JSON: sed reads them without starting node (~80 ms).
  # Components (containerd, runc, …) carry fields of the same names: they are cut first.
  version="$(printf '%s' "$version" | sed 's/"Components":\[.*\],"Version"/"Version"/')"
  field() { printf '%s' "$version" | sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }
  say "engine at ${DOCKER_HOST:-unix:///var/run/docker.sock}: Docker $(field Version), API $(field ApiVersion) (min $(field MinAPIVersion)), $(field Os)/$(field Arch)"
}

if engine_answers; then
  print_engine
  exit 0
fi

if [ -n "${DOCKER_HOST:-}" ]; then
  die "no Docker Engine answers at DOCKER_HOST=$DOCKER_HOST. Start that engine, or unset DOCKER_HOST to let this script use (or install) a local one."
fi

if [ "$(id -u)" != 0 ] || [ ! -f /etc/debian_version ]; then
  die "no Docker Engine answers at /var/run/docker.sock, and this script can only install one as root on Debian.
  Point stagecraft at an engine with DOCKER_HOST (unix:///path/to/docker.sock, tcp://host:2375, or tcp://host:2376 with DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH),
  or start Docker on this machine and run this script again."
fi

"$here/install-engine.sh"

if ! pgrep -x dockerd >/dev/null; then
  say "starting dockerd (log: $DOCKERD_LOG)"
  mkdir -p "$(dirname "$DOCKERD_LOG")"
  start_daemon "$DOCKERD_LOG" dockerd --host unix:///var/run/docker.sock
fi

deadline=$((SECONDS + 60))
until engine_answers; do
  if [ $SECONDS -ge $deadline ]; then
    say "dockerd did not answer /_ping within 60 s. Last lines of $DOCKERD_LOG:"
    tail -n 25 "$DOCKERD_LOG" >&2 || true
    die "the Docker Engine did not start (see the log above)"
  fi
  if ! pgrep -x dockerd >/dev/null; then
    say "dockerd exited. Last lines of $DOCKERD_LOG:"
    tail -n 25 "$DOCKERD_LOG" >&2 || true
    die "the Docker Engine did not start (see the log above)"
  fi
  sleep 0.5
done
print_engine
