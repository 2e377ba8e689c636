#!/bin/sh
# The built script must print its version, not the placeholder.
set -e
out=$("$1")
case "$out" in
  *@VERSION@*) echo "not built: $out" >&2; exit 1 ;;
  "hello from api "*) echo "ok: $out" ;;
  *) echo "unexpected: $out" >&2; exit 1 ;;
esac
