#!/usr/bin/env bash
# Installs Docker Engine 26.1 and buildx from Debian trixie on a Debian bookworm machine, as root.
# Only docker.io, docker-cli and docker-buildx come from trixie; containerd, runc, tini and iptables come
# from the system's own suite (trixie's need a newer glibc). The system's apt sources are left untouched:
# trixie is reached through a temporary sources list and lists directory under $STAGECRAFT_STATE_DIR.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$here/lib.sh"

export DEBIAN_FRONTEND=noninteractive
apt_quiet=(-o Dpkg::Use-Pty=0 -o APT::Get::Assume-Yes=true -q)

if command -v dockerd >/dev/null && dockerd --version | grep -q ' 26\.1\.' && [ -x /usr/libexec/docker/cli-plugins/docker-buildx ]; then
  say "Docker Engine $(dockerd --version | awk '{print $3}' | tr -d ,) is already installed"
  exit 0
fi

# The archive URI comes from the system's own configuration (deb822 first, then the one-line format).
archive_uri=""
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
  archive_uri="$(awk '/^URIs:/ && !found { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; found = 1; exit } }' /etc/apt/sources.list.d/debian.sources)"
fi
if [ -z "$archive_uri" ] && [ -f /etc/apt/sources.list ]; then
  archive_uri="$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }' /etc/apt/sources.list)"
fi
[ -n "$archive_uri" ] || die "cannot find the Debian archive URI in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list"
base_suite="$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

say "installing containerd, runc, tini, iptables from $base_suite"
apt-get "${apt_quiet[@]}" update >/dev/null
# policy-rc.d keeps the packages from trying to start services (there is no init system here; we start dockerd ourselves).
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; made_policy=1; fi
trap '[ "$made_policy" = 1 ] && rm -f "$policy"' EXIT
apt-get "${apt_quiet[@]}" install --no-install-recommends containerd runc tini iptables ca-certificates curl procps >/dev/null

apt_dir="$STAGECRAFT_STATE_DIR/apt"
mkdir -p "$apt_dir/lists/partial"
cat >"$apt_dir/sources.list" <<LIST
deb [signed-by=$keyring] $archive_uri $base_suite main
deb [signed-by=$keyring] $archive_uri trixie main
LIST
apt_trixie=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=-" -o "Dir::State::Lists=$apt_dir/lists")
say "installing docker.io, docker-cli, docker-buildx from trixie (temporary sources list in $apt_dir)"
apt-get "${apt_quiet[@]}" "${apt_trixie[@]}" update >/dev/null
apt-get "${apt_quiet[@]}" "${apt_trixie[@]}" install --no-install-recommends \
  docker.io/trixie docker-cli/trixie docker-buildx/trixie >/dev/null
say "installed: $(dockerd --version)"
