# Shared helpers for the docker/ scripts. Sourced, never run.
# shellcheck shell=bash

STAGECRAFT_STATE_DIR="${STAGECRAFT_STATE_DIR:-/var/lib/stagecraft}"
DOCKERD_LOG="${STAGECRAFT_DOCKERD_LOG:-/var/log/stagecraft-dockerd.log}"

say() { printf '[stagecraft] %s\n' "$*" >&2; }
die() { printf '[stagecraft] error: %s\n' "$*" >&2; exit 1; }

# Prints the curl arguments that reach the engine named by DOCKER_HOST (or the default socket).
engine_curl_args() {
  local host="${DOCKER_HOST:-unix:///var/run/docker.sock}"
  case "$host" in
    unix://*) printf '%s\n' --unix-socket "${host#unix://}" "http://localhost" ;;
    tcp://*)
      if [ -n "${DOCKER_TLS_VERIFY:-}" ] && [ "${DOCKER_TLS_VERIFY}" != 0 ]; then
        local certs="${DOCKER_CERT_PATH:-$HOME/.docker}"
        printf '%s\n' --cacert "$certs/ca.pem" --cert "$certs/cert.pem" --key "$certs/key.pem" "https://${host#tcp://}"
      else
        printf '%s\n' "http://${host#tcp://}"
      fi ;;
    *) return 1 ;;
  esac
}

# GET a path from the engine; prints the body. Fails when the engine does not answer.
engine_get() {
  local path="$1" args
  mapfile -t args < <(engine_curl_args) || return 1
  local base="${args[${#args[@]}-1]}"
  unset 'args[${#args[@]}-1]'
  curl --silent --show-error --fail --max-time 5 "${args[@]}" "$base$path"
}

engine_answers() { [ "$(engine_get /_ping 2>/dev/null)" = "OK" ]; }
