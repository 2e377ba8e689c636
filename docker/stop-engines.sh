#!/usr/bin/env bash
# Stops and removes what docker/start-engine.sh and docker/start-registry.sh started: the extra engines
# (dockerd, its containerd and shims, mounts, bridge sc-NAME, NAT rules, cgroups, socket) and the registries.
# Never touches the main engine. Idempotent: what is not running is skipped.
# Usage: stop-engines.sh [NAME...] [--registries] [--purge]
#   no NAME and no --registries   every extra engine and both registries
#   NAME...                       only these engines
#   --registries                  the registries (with NAMEs: those engines and the registries)
#   --purge                       also delete their data (images, build cache, registry storage, credentials)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$here/lib.sh"

names=()
registries=0
purge=0
for arg in "$@"; do
  case "$arg" in
    --registries) registries=1 ;;
    --purge) purge=1 ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option: $arg (see --help)" ;;
    *) names+=("$arg") ;;
  esac
done
engines_run="$STAGECRAFT_RUN_DIR/engines"
engines_state="$STAGECRAFT_STATE_DIR/engines"
if [ ${#names[@]} -eq 0 ] && [ "$registries" = 0 ]; then
  registries=1
  for dir in "$engines_state"/*/ "$engines_run"/*/; do
    [ -d "$dir" ] || continue
    n="$(basename "$dir")"
    case " ${names[*]:-} " in *" $n "*) ;; *) names+=("$n") ;; esac
  done
fi
[ ${#names[@]} -eq 0 ] && [ "$registries" = 0 ] && exit 0
need_root "docker/stop-engines.sh"

# Pids of the containerd and containerd-shim processes whose command line names a path under $1.
containerd_pids() {
  local dir comm
  for dir in /proc/[0-9]*; do
    comm="$(cat "$dir/comm" 2>/dev/null)" || continue
    case "$comm" in containerd*) ;; *) continue ;; esac
    tr '\0' ' ' <"$dir/cmdline" 2>/dev/null | grep -qF -- "$1" && echo "${dir#/proc/}"
  done
  return 0
}
no_containerd_pids() { [ -z "$(containerd_pids "$1")" ]; }

# Unmounts every mount under $1, deepest first.
unmount_under() {
  awk -v root="$1" '$5 == root || index($5, root "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r mnt; do
    umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || say "warning: could not unmount $mnt"
  done
}

stop_engine() {
  local name="$1" run_dir="$engines_run/$1" state_dir="$engines_state/$1" bridge="sc-$1" pid pidfile dir table rule
  [[ "$name" =~ ^[a-z][a-z0-9-]{0,11}$ ]] || die "'$name' is not an engine name (see docker/start-engine.sh --help)"
  # An engine of another Docker version runs in a container of the main engine (--version 28).
  if engine_answers && docker container inspect "stagecraft-engine-$name" >/dev/null 2>&1; then
    say "stopping engine $name (container stagecraft-engine-$name)"
    docker stop --time 30 "stagecraft-engine-$name" >/dev/null 2>&1 || true
    docker rm --force "stagecraft-engine-$name" >/dev/null
  fi
  for pidfile in "$run_dir"/registry-*.pid; do
    [ -e "$pidfile" ] && stop_pidfile "$pidfile" socat 5
  done
  if pidfile_alive "$run_dir/dockerd.pid" "$state_dir/daemon.json"; then
    say "stopping engine $name (pid $(cat "$run_dir/dockerd.pid"))"
  fi
  stop_pidfile "$run_dir/dockerd.pid" "$state_dir/daemon.json" 30
  # dockerd stops the containerd it started; after a SIGKILL they and their shims are left over.
  local containerd_dir="$run_dir/exec/containerd/"
  for pid in $(containerd_pids "$containerd_dir"); do
    say "stopping pid $pid ($(cat "/proc/$pid/comm" 2>/dev/null)) left over from engine $name"
    kill -TERM "$pid" 2>/dev/null || true
  done
  wait_for 10 no_containerd_pids "$containerd_dir" \
    || for pid in $(containerd_pids "$containerd_dir"); do kill -KILL "$pid" 2>/dev/null || true; done
  unmount_under "$run_dir"
  unmount_under "$state_dir/data"
  if ip link show "$bridge" >/dev/null 2>&1; then
    ip link del "$bridge"
  fi
  if command -v iptables >/dev/null; then
    for table in nat filter; do
      iptables -t "$table" -S 2>/dev/null | { grep -F -- "--comment stagecraft-engine-$name" || true; } | sed 's/^-A /-D /' | while read -r rule; do
        eval "iptables -t $table $rule" || true
      done
    done
  fi
  for dir in /sys/fs/cgroup/*/stagecraft/"$name"; do
    [ -d "$dir" ] || continue
    find "$dir" -depth -type d -exec rmdir {} \; 2>/dev/null || say "warning: could not remove cgroup $dir (processes left in it?)"
    rmdir "$(dirname "$dir")" 2>/dev/null || true
  done
  rm -rf "$run_dir" "$engines_run/$name.sock" "$engines_run/$name.json"
  if [ "$purge" = 1 ] && [ -d "$state_dir" ]; then
    say "deleting engine $name's data ($state_dir)"
    rm -rf "$state_dir" "$STAGECRAFT_LOG_DIR/engine-$name.log" "$STAGECRAFT_LOG_DIR/engine-$name-forward.log"
  fi
}

if [ ${#names[@]} -gt 0 ]; then
  mkdir -p "$engines_run"
  exec 9>"$engines_run/.lock"
  flock -w 120 9 || die "another docker/start-engine.sh or docker/stop-engines.sh has held $engines_run/.lock for 2 minutes (see: fuser -v $engines_run/.lock)"
  for name in "${names[@]}"; do stop_engine "$name"; done
  say "stopped engines: ${names[*]}"
fi

if [ "$registries" = 1 ]; then
  for instance in plain auth; do
    pidfile="$STAGECRAFT_RUN_DIR/registry-$instance.pid"
    config="$STAGECRAFT_STATE_DIR/registry/$instance/config.yml"
    pidfile_alive "$pidfile" "$config" && say "stopping the $instance registry (pid $(cat "$pidfile"))"
    stop_pidfile "$pidfile" "$config" 10
  done
  if [ "$purge" = 1 ] && [ -d "$STAGECRAFT_STATE_DIR/registry" ]; then
    say "deleting the registries' storage and credentials ($STAGECRAFT_STATE_DIR/registry)"
    rm -rf "$STAGECRAFT_STATE_DIR/registry" "$STAGECRAFT_LOG_DIR"/registry-*.log
  fi
  say "stopped the registries"
fi
