# Shared helpers for the docker/ scripts. Sourced, never run.
# shellcheck shell=bash

STAGECRAFT_STATE_DIR="${STAGECRAFT_STATE_DIR:-/var/lib/stagecraft}"
# shellcheck disable=SC2034 # used by the scripts that source this file
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

# Where the extra parts (registries, engines) keep state, sockets and logs.
STAGECRAFT_RUN_DIR="${STAGECRAFT_RUN_DIR:-/run/stagecraft}"
STAGECRAFT_LOG_DIR="${STAGECRAFT_LOG_DIR:-/var/log/stagecraft}"

need_root() { [ "$(id -u)" = 0 ] || die "$1 needs root (run it with sudo, or as root)"; }

# Installs the Debian packages that are missing, refreshing the package lists once if the first try fails.
# Packaged services are not started (policy-rc.d answers 101 while apt runs): we start our own, with our
# own configuration.
need_apt() {
  local missing=() pkg
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" = 0 ] || die "need Debian packages ${missing[*]} (install them as root)"
  say "installing ${missing[*]}"
  local policy=/usr/sbin/policy-rc.d made_policy=0 status=0
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; made_policy=1; fi
  local apt=(apt-get -q -y -o Dpkg::Use-Pty=0 -o DPkg::Lock::Timeout=300)
  DEBIAN_FRONTEND=noninteractive "${apt[@]}" install --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
    || { "${apt[@]}" update >/dev/null && DEBIAN_FRONTEND=noninteractive "${apt[@]}" install --no-install-recommends "${missing[@]}" >/dev/null; } \
    || status=$?
  [ "$made_policy" = 1 ] && rm -f "$policy"
  [ "$status" = 0 ] || die "could not install ${missing[*]} with apt-get (exit $status); try: apt-get update && apt-get install ${missing[*]}"
}

# Runs "$@" until it succeeds, for at most $1 seconds; fails when time is up.
wait_for() {
  local seconds="$1"; shift
  local deadline=$((SECONDS + seconds))
  until "$@"; do
    [ $SECONDS -ge "$deadline" ] && return 1
    sleep 0.2
  done
}

# True when the pid in file $1 is a live process whose command line contains $2.
pidfile_alive() {
  local pid
  pid="$(cat "$1" 2>/dev/null)" || return 1
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$2"
}

pid_gone() { ! kill -0 "$1" 2>/dev/null; }

# Sends SIGTERM to the pid in file $1 (when its command line contains $2), waits up to $3 seconds, then
# SIGKILL. Removes the pid file.
stop_pidfile() {
  local file="$1" match="$2" seconds="${3:-20}" pid
  if pidfile_alive "$file" "$match"; then
    pid="$(cat "$file")"
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_for "$seconds" pid_gone "$pid"; then
      say "pid $pid ($match) did not stop within $seconds s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      wait_for 5 pid_gone "$pid" || true
    fi
  fi
  rm -f "$file"
}

# Starts "$@" (after the log file $1) as a daemon: in a session of its own, stdin from /dev/null, stdout
# and stderr appended to the log, and no other file descriptor of ours. Without the last part a daemon
# keeps every lock its starters held: `flock LOCK cmd` passes its locked descriptor on, so a registry or
# dockerd started by tests run under flock held the tests' lock for as long as it ran. Sets
# daemon_pid (setsid and bash exec, so it is the daemon's own pid).
start_daemon() {
  local log="$1"; shift
  # shellcheck disable=SC2016 # expanded by the inner shell
  setsid bash -c 'for fd in /proc/$$/fd/*; do fd="${fd##*/}"; [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done; exec "$@"' \
    _ "$@" >>"$log" 2>&1 </dev/null &
  # shellcheck disable=SC2034 # read by the scripts that source this file
  daemon_pid=$!
}
