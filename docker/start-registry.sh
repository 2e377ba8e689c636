#!/usr/bin/env bash
# Starts two CNCF Distribution registries (Debian's docker-registry package) for tests, bound to 127.0.0.1:
#   127.0.0.1:5000  plain: no auth, delete enabled
#   127.0.0.1:5001  htpasswd auth (bcrypt), delete enabled; its user and password are in
#                   $STAGECRAFT_STATE_DIR/registry/auth/credentials.json ({"registry","username","password"})
# The package's own service (every interface, its own auth) is stopped, disabled and masked: never used.
# Idempotent: registries of ours that already answer are left alone. Docker trusts 127.0.0.0/8 as an
# http registry by default, so push, pull and `docker login` need no daemon configuration.
# Usage: start-registry.sh        (ports: STAGECRAFT_REGISTRY_PORT, STAGECRAFT_AUTH_REGISTRY_PORT)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$here/lib.sh"

case "${1:-}" in
  "") ;;
  -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) die "unknown option: $1 (see --help)" ;;
esac

PLAIN_PORT="${STAGECRAFT_REGISTRY_PORT:-5000}"
AUTH_PORT="${STAGECRAFT_AUTH_REGISTRY_PORT:-5001}"
AUTH_USER=stagecraft
REGISTRY_BIN=/usr/bin/docker-registry
state="$STAGECRAFT_STATE_DIR/registry"

# Prints the HTTP status of GET /v2/ and the WWW-Authenticate header, or nothing when nothing answers.
probe() {
  curl --silent --max-time 2 --output /dev/null --dump-header - \
    --write-out '%{http_code}\n' "http://127.0.0.1:$1/v2/" 2>/dev/null \
    | tr -d '\r' | awk 'tolower($1) == "www-authenticate:" { $1 = ""; auth = substr($0, 2) } END { print code " " auth } { code = $0 }' \
    | sed -e 's/^ *//' -e '/^000 /d'
}
# What /v2/ must answer: 200 without auth; 401 with a Basic challenge naming our realm with auth.
answers_plain() { [ "$(probe "$PLAIN_PORT")" = "200 " ]; }
answers_auth() { [ "$(probe "$AUTH_PORT")" = "401 Basic realm=\"stagecraft\"" ]; }
ours() { pidfile_alive "$STAGECRAFT_RUN_DIR/registry-$1.pid" "$state/$1/config.yml"; }

if answers_plain && ours plain && answers_auth && ours auth; then
  say "registry at http://127.0.0.1:$PLAIN_PORT is answering (storage $state/plain/data)"
  say "auth registry at http://127.0.0.1:$AUTH_PORT is answering (user $AUTH_USER, credentials in $state/auth/credentials.json)"
  exit 0
fi

need_root "docker/start-registry.sh"
command -v curl >/dev/null || need_apt curl

# The package's service would listen on :5000 on every interface with its own htpasswd: mask it before
# the package is installed (a unit linked to /dev/null is masked, with or without a running systemd) and
# keep the SysV script from ever starting it.
mkdir -p /etc/systemd/system
[ -L /etc/systemd/system/docker-registry.service ] || ln -sfn /dev/null /etc/systemd/system/docker-registry.service
need_apt docker-registry apache2-utils
if [ -d /run/systemd/system ]; then
  systemctl stop docker-registry.service >/dev/null 2>&1 || true
  systemctl mask docker-registry.service >/dev/null 2>&1 || true
fi
if pidfile_alive /var/run/docker-registry.pid /etc/docker/registry/config.yml; then
  say "stopping the packaged docker-registry service (it listens on every interface)"
  /etc/init.d/docker-registry stop >/dev/null 2>&1 || stop_pidfile /var/run/docker-registry.pid /etc/docker/registry/config.yml
fi
if command -v update-rc.d >/dev/null; then update-rc.d docker-registry disable >/dev/null 2>&1 || true; fi
getent passwd docker-registry >/dev/null || die "the docker-registry package did not create its user docker-registry"

mkdir -p "$STAGECRAFT_RUN_DIR" "$STAGECRAFT_LOG_DIR"

# Writes an instance's config (only when it changed; prints "changed" then).
write_config() {
  local name="$1" port="$2" auth_block="$3" dir="$state/$1" new
  mkdir -p "$dir/data"
  chown docker-registry:docker-registry "$dir/data"
  [ -f "$dir/http-secret" ] || head -c 32 /dev/urandom | base64 | tr -d '\n=' >"$dir/http-secret"
  chmod 600 "$dir/http-secret"
  new="$(cat <<YAML
# Written by docker/start-registry.sh: a registry for stagecraft's tests, on the loopback interface only.
version: 0.1
log:
  level: info
  fields:
    service: stagecraft-registry-$name
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: 127.0.0.1:$port
  secret: $(cat "$dir/http-secret")
  headers:
    X-Content-Type-Options: [nosniff]
$auth_block
YAML
)"
  if [ "$(cat "$dir/config.yml" 2>/dev/null)" != "$new" ]; then
    printf '%s\n' "$new" >"$dir/config.yml.tmp"
    chown root:docker-registry "$dir/config.yml.tmp"
    chmod 640 "$dir/config.yml.tmp"
    mv "$dir/config.yml.tmp" "$dir/config.yml"
    echo changed
  fi
}

# The auth registry's user: the password is made once and kept, the bcrypt htpasswd follows it.
auth_dir="$state/auth"
mkdir -p "$auth_dir"
credentials="$auth_dir/credentials.json"
if [ ! -s "$credentials" ]; then
  password="$(head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
  printf '{"registry":"127.0.0.1:%s","username":"%s","password":"%s"}\n' "$AUTH_PORT" "$AUTH_USER" "$password" >"$credentials.tmp"
  chmod 600 "$credentials.tmp"
  mv "$credentials.tmp" "$credentials"
fi
password="$(sed -n 's/.*"password":"\([^"]*\)".*/\1/p' "$credentials")"
[ -n "$password" ] || die "$credentials has no password; delete it and run this script again"
if [ "$(sed -n 's/.*"registry":"\([^"]*\)".*/\1/p' "$credentials")" != "127.0.0.1:$AUTH_PORT" ]; then
  printf '{"registry":"127.0.0.1:%s","username":"%s","password":"%s"}\n' "$AUTH_PORT" "$AUTH_USER" "$password" >"$credentials.tmp"
  chmod 600 "$credentials.tmp"
  mv "$credentials.tmp" "$credentials"
fi
htpasswd_changed=0
if ! printf '%s' "$password" | htpasswd -v -i "$auth_dir/htpasswd" "$AUTH_USER" >/dev/null 2>&1; then
  printf '%s' "$password" | htpasswd -B -c -i "$auth_dir/htpasswd" "$AUTH_USER" >/dev/null 2>&1 \
    || die "htpasswd -B could not write $auth_dir/htpasswd"
  htpasswd_changed=1
fi
chown root:docker-registry "$auth_dir/htpasswd"
chmod 640 "$auth_dir/htpasswd"

plain_changed="$(write_config plain "$PLAIN_PORT" "")"
auth_changed="$(write_config auth "$AUTH_PORT" "auth:
  htpasswd:
    realm: stagecraft
    path: $auth_dir/htpasswd")"
[ "$htpasswd_changed" = 1 ] && auth_changed=changed

# Starts (or restarts, when its config changed) one instance and waits until /v2/ answers as it should.
start_instance() {
  local name="$1" port="$2" changed="$3" check="$4"
  local pidfile="$STAGECRAFT_RUN_DIR/registry-$name.pid" log="$STAGECRAFT_LOG_DIR/registry-$name.log"
  local config="$state/$name/config.yml"
  if ours "$name" && [ -z "$changed" ] && "$check"; then
    return 0
  fi
  if ours "$name"; then
    say "restarting the $name registry (its configuration changed)"
    stop_pidfile "$pidfile" "$config" 10
  else
    rm -f "$pidfile"
  fi
  if [ -n "$(probe "$port")" ]; then
    die "something else answers on 127.0.0.1:$port (see: ss -ltnp 'sport = :$port'); stop it, or choose another port with STAGECRAFT_$( [ "$name" = plain ] && echo REGISTRY || echo AUTH_REGISTRY )_PORT"
  fi
  say "starting the $name registry on 127.0.0.1:$port (log: $log)"
  start_daemon "$log" setpriv --reuid docker-registry --regid docker-registry --init-groups \
    "$REGISTRY_BIN" serve "$config"
  echo "$daemon_pid" >"$pidfile"
  if ! wait_for 20 "$check"; then
    say "the $name registry did not answer on http://127.0.0.1:$port/v2/ within 20 s. Last lines of $log:"
    tail -n 20 "$log" >&2 || true
    die "the $name registry did not start (see the log above)"
  fi
}
start_instance plain "$PLAIN_PORT" "$plain_changed" answers_plain
start_instance auth "$AUTH_PORT" "$auth_changed" answers_auth

say "registry at http://127.0.0.1:$PLAIN_PORT (storage $state/plain/data, log $STAGECRAFT_LOG_DIR/registry-plain.log)"
say "auth registry at http://127.0.0.1:$AUTH_PORT (user $AUTH_USER, credentials in $credentials, log $STAGECRAFT_LOG_DIR/registry-auth.log)"
