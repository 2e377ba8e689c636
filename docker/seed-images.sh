#!/usr/bin/env bash
# Seeds base images without a registry, each only when missing:
#   stagecraft/busybox:latest   a static busybox from Debian's busybox-static (always)
#   stagecraft/debian:bookworm  debootstrap --variant=minbase (with --debian, for examples and benchmarks)
#   stagecraft/dockerd:28       Debian sid's docker.io (Docker 28.5) on a minbase sid, the image of
#                               docker/start-engine.sh --version 28 (with --dockerd-28; ~2 min, ~380 MB)
# They carry the host's CA bundle, so TLS works inside builds behind an inspecting proxy.
# Usage: seed-images.sh [--debian] [--dockerd-28]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$here/lib.sh"

BUSYBOX_IMAGE="${STAGECRAFT_BUSYBOX_IMAGE:-stagecraft/busybox:latest}"
DEBIAN_IMAGE="${STAGECRAFT_DEBIAN_IMAGE:-stagecraft/debian:bookworm}"
DOCKERD_28_IMAGE="${STAGECRAFT_DOCKERD_28_IMAGE:-stagecraft/dockerd:28}"
CA_BUNDLE="${STAGECRAFT_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
want_debian=0
want_dockerd_28=0
for arg in "$@"; do
  case "$arg" in
    --debian) want_debian=1 ;;
    --dockerd-28) want_dockerd_28=1 ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option: $arg (see --help)" ;;
  esac
done

engine_answers || die "no Docker Engine answers; run docker/ensure-engine.sh first"
# Through the Engine API (curl, ~10 ms) rather than the docker CLI (~60 ms a call).
has_image() { engine_get "/images/$1/json" >/dev/null 2>&1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if has_image "$BUSYBOX_IMAGE"; then
  say "$BUSYBOX_IMAGE is present"
else
  need_apt busybox-static
  say "making $BUSYBOX_IMAGE from busybox-static"
  root="$work/busybox"
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc/ssl/certs,tmp,root,home,var,proc,sys,dev}
  chmod 1777 "$root/tmp"
  cp /bin/busybox "$root/bin/busybox"
  # Link every applet where busybox would install it.
  for applet in $(/bin/busybox --list-full); do
    [ "$applet" = bin/busybox ] && continue
    mkdir -p "$root/$(dirname "$applet")"
    ln -sf /bin/busybox "$root/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  [ -f "$CA_BUNDLE" ] && cp "$CA_BUNDLE" "$root/etc/ssl/certs/ca-certificates.crt"
  tar -C "$root" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["sh"]' \
    --change 'LABEL org.stagecraft.seed=busybox' \
    - "$BUSYBOX_IMAGE" >/dev/null
  say "made $BUSYBOX_IMAGE"
fi

if [ "$want_debian" = 1 ]; then
  if has_image "$DEBIAN_IMAGE"; then
    say "$DEBIAN_IMAGE is present"
  else
    need_apt debootstrap
    archive_uri="$(awk '/^URIs:/ && !found { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; found = 1; exit } }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)"
    [ -n "$archive_uri" ] || die "cannot find the Debian archive URI in /etc/apt/sources.list.d/debian.sources"
    say "making $DEBIAN_IMAGE with debootstrap --variant=minbase (a few minutes)"
    root="$work/debian"
    debootstrap --variant=minbase bookworm "$root" "$archive_uri" >"$work/debootstrap.log" 2>&1 \
      || { tail -n 20 "$work/debootstrap.log" >&2; die "debootstrap failed (log above)"; }
    mkdir -p "$root/etc/ssl/certs"
    [ -f "$CA_BUNDLE" ] && cp "$CA_BUNDLE" "$root/etc/ssl/certs/ca-certificates.crt"
    printf 'deb %s bookworm main\n' "$archive_uri" >"$root/etc/apt/sources.list"
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    tar -C "$root" -c . | docker import \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
      --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
      --change 'CMD ["bash"]' \
      --change 'LABEL org.stagecraft.seed=debian' \
      - "$DEBIAN_IMAGE" >/dev/null
    say "made $DEBIAN_IMAGE"
  fi
fi

if [ "$want_dockerd_28" = 1 ]; then
  if has_image "$DOCKERD_28_IMAGE"; then
    say "$DOCKERD_28_IMAGE is present"
  else
    need_apt debootstrap
    archive_uri="$(awk '/^URIs:/ && !found { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; found = 1; exit } }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)"
    [ -n "$archive_uri" ] || die "cannot find the Debian archive URI in /etc/apt/sources.list.d/debian.sources"
    say "making $DOCKERD_28_IMAGE: debootstrap --variant=minbase sid with docker.io (a few minutes)"
    root="$work/dockerd"
    debootstrap --variant=minbase --include=docker.io,ca-certificates,iproute2,socat sid "$root" "$archive_uri" >"$work/debootstrap.log" 2>&1 \
      || { tail -n 20 "$work/debootstrap.log" >&2; die "debootstrap of sid with docker.io failed (log above)"; }
    version="$(chroot "$root" dockerd --version | sed -n 's/^Docker version \([0-9.]*\).*/\1/p')"
    case "$version" in
      28.*) ;;
      *) die "Debian sid's docker.io is Docker ${version:-of an unknown version} now, not 28; make the image under another name with STAGECRAFT_DOCKERD_28_IMAGE and a matching --version in docker/start-engine.sh" ;;
    esac
    mkdir -p "$root/etc/ssl/certs"
    [ -f "$CA_BUNDLE" ] && cp "$CA_BUNDLE" "$root/etc/ssl/certs/ca-certificates.crt"
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    tar -C "$root" -c . | docker import \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'CMD ["dockerd"]' \
      --change 'LABEL org.stagecraft.seed=dockerd' \
      --change "LABEL org.stagecraft.docker-version=$version" \
      - "$DOCKERD_28_IMAGE" >/dev/null
    say "made $DOCKERD_28_IMAGE (Docker $version)"
  fi
fi
