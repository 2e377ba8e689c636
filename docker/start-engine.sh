#!/usr/bin/env bash
# Starts an extra Docker Engine beside the main one, for tests and benchmarks:
#   socket      unix:///run/stagecraft/engines/NAME.sock  (described in /run/stagecraft/engines/NAME.json)
#   data-root   /var/lib/stagecraft/engines/NAME/data, exec-root and pidfile under /run/stagecraft/engines/NAME/
#   network     its own bridge interface sc-NAME (198.18.N.1/24), iptables off: RUN steps and containers get
#               a network that reaches this host only, unless --nat is given
#   log         /var/log/stagecraft/engine-NAME.log
# It seeds stagecraft/busybox:latest from the main engine (docker save | docker load).
# Usage: start-engine.sh NAME [--containerd-store] [--cpus N] [--nat] [--seed-debian] [--version 26|28]
#   --containerd-store  keep images in containerd ("features": {"containerd-snapshotter": true})
#   --cpus N            cap the whole engine (dockerd, containerd, every container and RUN step) at N CPUs
#                       with a CFS quota on its cgroup (cgroup v1); without it the engine is not capped
#   --nat               let its containers and RUN steps reach other hosts (adds MASQUERADE and FORWARD
#                       rules for sc-NAME, tagged stagecraft-engine-NAME; removed without --nat and on stop)
#   --seed-debian       seed stagecraft/debian:bookworm too
#   --version 28        Docker 28.5 (Debian sid's docker.io) instead of this host's dockerd: it runs in a
#                       privileged container stagecraft-engine-NAME of the main engine (image
#                       stagecraft/dockerd:28, made by docker/seed-images.sh --dockerd-28 when missing),
#                       its socket bind-mounted out; its network goes through the main engine's bridge
#                       and NAT, and --cpus is the container's --cpus
# Idempotent: an engine that already runs with the same settings is left running; --cpus and --nat are
# applied to a running engine at once. docker/stop-engines.sh stops it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$here/lib.sh"

usage() { sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; }
name=""
containerd_store=false
cpus=""
nat=0
version_wanted=26
seed=("${STAGECRAFT_BUSYBOX_IMAGE:-stagecraft/busybox:latest}")
while [ $# -gt 0 ]; do
  case "$1" in
    --containerd-store) containerd_store=true ;;
    --cpus) [ $# -ge 2 ] || die "--cpus needs a number of CPUs, for example --cpus 1"; cpus="$2"; shift ;;
    --cpus=*) cpus="${1#--cpus=}" ;;
    --nat) nat=1 ;;
    --seed-debian) seed+=("${STAGECRAFT_DEBIAN_IMAGE:-stagecraft/debian:bookworm}") ;;
    --version) [ $# -ge 2 ] || die "--version needs 26 or 28"; version_wanted="$2"; shift ;;
    --version=*) version_wanted="${1#--version=}" ;;
    -h|--help) usage; exit 0 ;;
    -*) die "unknown option: $1 (see --help)" ;;
    *) [ -z "$name" ] || die "one engine NAME at a time (got '$name' and '$1')"; name="$1" ;;
  esac
  shift
done
[ -n "$name" ] || { usage >&2; die "missing the engine NAME, for example: docker/start-engine.sh c8d --containerd-store"; }
[[ "$name" =~ ^[a-z][a-z0-9-]{0,11}$ ]] \
  || die "engine name '$name' must be 1-12 characters of a-z, 0-9 and '-', starting with a letter (it names the bridge sc-$name, and interface names have at most 15 characters)"
ncpu="$(nproc)"
quota=-1
if [ -n "$cpus" ]; then
  if ! [[ "$cpus" =~ ^[0-9]+([.][0-9]{1,2})?$ ]] || ! awk -v c="$cpus" -v n="$ncpu" 'BEGIN { exit !(c >= 0.01 && c <= n) }'; then
    die "--cpus $cpus: give a number of CPUs between 0.01 and $ncpu (this machine's CPUs), for example --cpus 1 or --cpus 0.5"
  fi
  quota="$(awk -v c="$cpus" 'BEGIN { printf "%d", c * 100000 }')"
fi
case "$version_wanted" in
  26|28) ;;
  *) die "--version $version_wanted: give 26 (this host's dockerd) or 28 (Docker 28.5 in a container)" ;;
esac
[ "$version_wanted" = 28 ] && [ "$nat" = 1 ] \
  && die "--nat is for engines on this host; a --version 28 engine already reaches other hosts through the main engine's NAT"
need_root "docker/start-engine.sh"
if [ "$version_wanted" = 26 ]; then
  command -v dockerd >/dev/null || die "dockerd is not installed; run docker/ensure-engine.sh first"
  host_version="$(dockerd --version | sed -n 's/^Docker version \([0-9]*\)\..*/\1/p')"
  [ "$host_version" = 26 ] || die "this host's dockerd is Docker ${host_version:-of an unknown version}, not 26; leave out --version, or use --version 28"
fi
engine_answers || die "the main Docker Engine does not answer; run docker/ensure-engine.sh first (the extra engine is seeded from it)"
command -v ip >/dev/null || need_apt iproute2

engines_run="$STAGECRAFT_RUN_DIR/engines"
engines_state="$STAGECRAFT_STATE_DIR/engines"
run_dir="$engines_run/$name"
state_dir="$engines_state/$name"
socket="$engines_run/$name.sock"
host="unix://$socket"
config="$state_dir/daemon.json"
pidfile="$run_dir/dockerd.pid"
log="$STAGECRAFT_LOG_DIR/engine-$name.log"
bridge="sc-$name"
mkdir -p "$engines_run" "$engines_state" "$run_dir" "$state_dir" "$STAGECRAFT_LOG_DIR"

# One start-engine.sh at a time: slots, bridges and config files are shared state.
exec 9>"$engines_run/.lock"
flock -w 120 9 || die "another docker/start-engine.sh or docker/stop-engines.sh has held $engines_run/.lock for 2 minutes (see: fuser -v $engines_run/.lock)"

answers() { [ "$(curl --silent --max-time 3 --unix-socket "$socket" http://localhost/_ping 2>/dev/null)" = OK ]; }

# Starts (or finds) an engine of Docker 28.5 in a privileged container of the main engine, and sets
# config, pid, cgroup_path, bridge, subnet and log for its description. --cgroupns private puts the
# inner daemon's containers and RUN steps inside the container's cgroup, so the container's --cpus
# caps them. 127.0.0.1 inside the container is the container's own: for the loopback registries a socat
# in the container carries 127.0.0.1:PORT to a unix socket in the bind-mounted directory, and a socat
# on this host carries that socket on to 127.0.0.1:PORT here.
start_in_container() {
  local image="${STAGECRAFT_DOCKERD_28_IMAGE:-stagecraft/dockerd:28}" container="stagecraft-engine-$name"
  local spec cpus_args=() state port forwarder_pid forwarder_socket
  local ports=("${STAGECRAFT_REGISTRY_PORT:-5000}" "${STAGECRAFT_AUTH_REGISTRY_PORT:-5001}")
  if ! docker image inspect "$image" >/dev/null 2>&1; then
    bash "$here/seed-images.sh" --dockerd-28
  fi
  command -v socat >/dev/null || need_apt socat
  mkdir -p "$run_dir/sock" "$state_dir/data"
  for port in "${ports[@]}"; do
    forwarder_pid="$run_dir/registry-$port.pid"
    forwarder_socket="$run_dir/sock/registry-$port.sock"
    if ! pidfile_alive "$forwarder_pid" "$forwarder_socket"; then
      rm -f "$forwarder_socket"
      start_daemon "$STAGECRAFT_LOG_DIR/engine-$name-forward.log" \
        socat "UNIX-LISTEN:$forwarder_socket,fork" "TCP:127.0.0.1:$port"
      echo "$daemon_pid" >"$forwarder_pid"
    fi
  done
  desired="$(printf '{\n  "hosts": ["unix:///run/stagecraft-engine/docker.sock"],\n  "features": { "containerd-snapshotter": %s }\n}' "$containerd_store")"
  spec="image=$(docker image inspect --format '{{.Id}}' "$image") config=$(printf '%s' "$desired" | sha256sum | cut -c1-16) ports=${ports[*]}"
  state="$(docker container inspect --format '{{.State.Running}} {{index .Config.Labels "org.stagecraft.engine-spec"}}' "$container" 2>/dev/null || true)"
  if [ -n "$state" ] && [ "${state#* }" != "$spec" ]; then
    die "engine $name is running with other settings than these (container $container); stop it first: docker/stop-engines.sh $name"
  fi
  if [ "${state%% *}" != true ]; then
    [ -z "$state" ] || docker rm -f "$container" >/dev/null
    printf '%s\n' "$desired" >"$config"
    rm -f "$run_dir/sock/docker.sock"
    ln -sfn "$name/sock/docker.sock" "$socket"
    say "starting engine $name: Docker 28 in container $container (log: docker logs $container)"
    docker run -d --name "$container" --privileged --cgroupns private \
      --label "org.stagecraft.engine=$name" --label "org.stagecraft.engine-spec=$spec" \
      -v "$state_dir/data:/var/lib/docker" -v "$run_dir/sock:/run/stagecraft-engine" \
      -v "$config:/etc/docker/daemon.json:ro" "$image" \
      sh -c 'for port in "$@"; do
          socat "TCP-LISTEN:$port,bind=127.0.0.1,fork,reuseaddr" "UNIX-CONNECT:/run/stagecraft-engine/registry-$port.sock" &
        done
        exec dockerd' sh "${ports[@]}" >/dev/null
    wait_for 90 answers || {
      docker logs --tail 25 "$container" >&2 || true
      die "engine $name did not answer on $socket within 90 s (log above); stop what is left with docker/stop-engines.sh $name"
    }
    docker exec "$container" sh -c 'command -v socat' >/dev/null \
      || die "$image has no socat, so engine $name cannot reach the loopback registries; remove the image (docker rmi $image) and start the engine again to remake it"
  fi
  if [ -n "$cpus" ]; then cpus_args=(--cpus "$cpus"); else cpus_args=(--cpus 0); fi
  docker update "${cpus_args[@]}" "$container" >/dev/null
  pid="$(docker container inspect --format '{{.State.Pid}}' "$container")"
  # Read from the host's cgroup namespace: the main engine's cgroup of the container (/docker/<id>).
  cgroup_path="$(awk -F: '$2 ~ /(^|,)cpu(,|$)/ { print $3; exit }' "/proc/$pid/cgroup")"
  bridge="docker0 (in container $container)"
  log="docker logs $container"
  subnet="$(DOCKER_HOST="$host" docker network inspect bridge --format '{{(index .IPAM.Config 0).Subnet}}')"
}

if [ "$version_wanted" = 28 ]; then
  start_in_container
else
  # The engine's /24 in 198.18.0.0/15 (RFC 2544, for benchmark networks): kept in its state directory, so an
  # engine keeps its addresses across restarts, and never the slot of another engine.
  slot="$(cat "$state_dir/slot" 2>/dev/null || true)"
  if [ -z "$slot" ]; then
    used=" $(cat "$engines_state"/*/slot 2>/dev/null | tr "\n" " " || true) "
    for n in $(seq 1 254); do
      case "$used" in *" $n "*) ;; *) slot="$n"; break ;; esac
    done
    [ -n "$slot" ] || die "no free 198.18.N.0/24 subnet is left for engine $name (254 engines?); stop some with docker/stop-engines.sh --purge"
    echo "$slot" >"$state_dir/slot"
  fi
  subnet="198.18.$slot.0/24"
  gateway="198.18.$slot.1/24"

  # cgroup v1 (these machines): the engine's cgroup /stagecraft/NAME holds dockerd and containerd
  # (daemon/) and every container and RUN step (containers/, the daemon's cgroup-parent, which BuildKit's
  # executor nests its RUN steps under). A CFS quota on /stagecraft/NAME caps all of it.
  cgroup_v1=0
  [ -d /sys/fs/cgroup/cpu ] && [ -f /sys/fs/cgroup/cpu/cpu.cfs_quota_us ] && cgroup_v1=1
  if [ "$cgroup_v1" = 0 ] && [ -n "$cpus" ]; then
    die "--cpus needs cgroup v1 with the cpu controller at /sys/fs/cgroup/cpu (this machine has none); start the engine without --cpus"
  fi
  cg_cpu="/sys/fs/cgroup/cpu/stagecraft/$name"
  cg_acct="/sys/fs/cgroup/cpuacct/stagecraft/$name"
  cgroup_parent_json=""
  if [ "$cgroup_v1" = 1 ]; then
    mkdir -p "$cg_cpu/daemon" "$cg_acct/daemon"
    cgroup_parent_json="\"cgroup-parent\": \"/stagecraft/$name/containers\","
  fi

  features_json=""
  [ "$containerd_store" = true ] && features_json='"features": { "containerd-snapshotter": true },'
  desired="$(cat <<JSON
{
  "data-root": "$state_dir/data",
  "exec-root": "$run_dir/exec",
  "pidfile": "$pidfile",
  "hosts": ["$host"],
  "bridge": "$bridge",
  "iptables": false,
  "ip6tables": false,
  "ip-forward": false,
  "ip-masq": false,
  $cgroup_parent_json
  $features_json
  "log-level": "info"
}
JSON
  )"

  running() { pidfile_alive "$pidfile" "$config"; }

  if running; then
    if [ "$(cat "$config")" != "$desired" ]; then
      die "engine $name is running with other settings than these (see $config); stop it first: docker/stop-engines.sh $name"
    fi
    answers || die "engine $name runs (pid $(cat "$pidfile")) but does not answer on $socket; see $log, or restart it: docker/stop-engines.sh $name && docker/start-engine.sh $name …"
  else
    # A bridge of its own: with "bridge": "none" in the host's network namespace dockerd deletes docker0
    # (moby removeDefaultBridgeInterface) and the main engine's RUN steps lose their network. It does the
    # same when it restarts on a data-root that holds a "bridge" network while "default-address-pools" is
    # set (daemon_unix.go configureNetworking, "Clear stale bridge network"; measured here on 26.1.5, on an
    # engine's second start): so no default-address-pools either, and docker0 is checked around the start.
    if ! ip link show "$bridge" >/dev/null 2>&1; then
      ip link add "$bridge" type bridge
    fi
    if ! ip -4 addr show dev "$bridge" | grep -qF "inet $gateway "; then
      ip -4 addr flush dev "$bridge"
      ip addr add "$gateway" dev "$bridge"
    fi
    ip link set "$bridge" up
    printf '%s\n' "$desired" >"$config"
    rm -f "$socket"
    docker0_before="$(ip -o link show docker0 2>/dev/null || true)"
    docker0_addrs="$(ip -o -4 addr show dev docker0 2>/dev/null | awk '{ print $4 }')"
    say "starting engine $name (log: $log)"
    # The shell joins the engine's cgroup first, so dockerd and the containerd it starts run inside it.
    if [ "$cgroup_v1" = 1 ]; then
      # shellcheck disable=SC2016 # $$ and "$1" belong to the inner shell
      start_daemon "$log" bash -c 'echo $$ >"$1"; echo $$ >"$2"; exec dockerd --config-file "$3"' _ \
        "$cg_cpu/daemon/cgroup.procs" "$cg_acct/daemon/cgroup.procs" "$config"
    else
      start_daemon "$log" dockerd --config-file "$config"
    fi
    started=$daemon_pid
    until answers; do
      if ! kill -0 "$started" 2>/dev/null; then
        say "dockerd for engine $name exited. Last lines of $log:"
        tail -n 25 "$log" >&2 || true
        die "engine $name did not start (see the log above)"
      fi
      if [ $SECONDS -ge 90 ]; then
        say "engine $name did not answer on $socket within 90 s. Last lines of $log:"
        tail -n 25 "$log" >&2 || true
        die "engine $name did not start (see the log above); stop what is left with docker/stop-engines.sh $name"
      fi
      sleep 0.2
    done
    # The main engine's docker0 must have survived; if a dockerd took it after all, put it back as it was
    # (same address and MAC: the main engine attaches its containers to it by name) and say so.
    if [ -n "$docker0_before" ] && ! ip link show docker0 >/dev/null 2>&1; then
      say "error: starting engine $name removed docker0, the main engine's bridge; recreating it"
      ip link add docker0 type bridge
      mac="$(printf '%s\n' "$docker0_before" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')"
      [ -n "$mac" ] && ip link set docker0 address "$mac"
      for addr in $docker0_addrs; do ip addr add "$addr" dev docker0; done
      ip link set docker0 up
      die "engine $name deleted docker0 when it started (recreated now); stop it (docker/stop-engines.sh $name) and report this with $log"
    fi
  fi

  if [ "$cgroup_v1" = 1 ]; then
    echo 100000 >"$cg_cpu/cpu.cfs_period_us"
    echo "$quota" >"$cg_cpu/cpu.cfs_quota_us"
  fi

  # --nat: the engine's own MASQUERADE and FORWARD rules (the main engine's FORWARD policy is DROP), each
  # tagged with a comment so they can be found and removed. Without --nat, remove any left from before.
  tag="stagecraft-engine-$name"
  remove_nat_rules() {
    local table rule
    for table in nat filter; do
      iptables -t "$table" -S 2>/dev/null | { grep -F -- "--comment $tag" || true; } | sed 's/^-A /-D /' | while read -r rule; do
        eval "iptables -t $table $rule" || true
      done
    done
  }
  if command -v iptables >/dev/null; then
    remove_nat_rules
    if [ "$nat" = 1 ]; then
      forward_chain=FORWARD
      iptables -S DOCKER-USER >/dev/null 2>&1 && forward_chain=DOCKER-USER
      iptables -t nat -A POSTROUTING -s "$subnet" ! -o "$bridge" -j MASQUERADE -m comment --comment "$tag"
      iptables -I "$forward_chain" -i "$bridge" ! -o "$bridge" -j ACCEPT -m comment --comment "$tag"
      iptables -I "$forward_chain" -o "$bridge" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT -m comment --comment "$tag"
      [ "$(cat /proc/sys/net/ipv4/ip_forward)" = 1 ] || say "warning: net.ipv4.ip_forward is 0, so --nat cannot route; set it with: sysctl -w net.ipv4.ip_forward=1"
    fi
  elif [ "$nat" = 1 ]; then
    die "--nat needs iptables (apt-get install iptables)"
  fi
  pid="$(cat "$pidfile")"
  cgroup_path=null
  [ "$cgroup_v1" = 1 ] && cgroup_path="/stagecraft/$name"
fi

for image in "${seed[@]}"; do
  if DOCKER_HOST="$host" docker image inspect "$image" >/dev/null 2>&1; then continue; fi
  docker image inspect "$image" >/dev/null 2>&1 \
    || die "$image is not on the main engine to seed engine $name from; run docker/seed-images.sh$([ "$image" = "${seed[0]}" ] || echo ' --debian') first"
  say "seeding $image into engine $name"
  docker save "$image" | DOCKER_HOST="$host" docker load >/dev/null
done

version="$(DOCKER_HOST="$host" docker version --format '{{.Server.Version}}')"
driver="$(DOCKER_HOST="$host" docker info --format '{{range .DriverStatus}}{{if eq (index . 0) "driver-type"}}{{index . 1}}{{end}}{{end}}')"
[ -n "$driver" ] || driver="$(DOCKER_HOST="$host" docker info --format '{{.Driver}}')"
cpus_json=null
[ -n "$cpus" ] && cpus_json="$cpus"
cat >"$engines_run/$name.json.tmp" <<JSON
{"name":"$name","host":"$host","version":"$version","containerdStore":$containerd_store,"storage":"$driver","cpus":$cpus_json,"nat":$([ "$nat" = 1 ] && echo true || echo false),"bridge":"$bridge","subnet":"$subnet","cgroup":$([ "$cgroup_path" = null ] && echo null || echo "\"$cgroup_path\""),"dataRoot":"$state_dir/data","log":"$log","pid":$pid}
JSON
mv "$engines_run/$name.json.tmp" "$engines_run/$name.json"
say "engine $name at $host: Docker $version, $driver, $([ -n "$cpus" ] && echo "capped at $cpus CPUs" || echo "not capped"), bridge $bridge ($subnet)$([ "$nat" = 1 ] && echo ", NAT on")"
