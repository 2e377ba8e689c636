#!/bin/sh
# Checks the binary against known inputs; prints a summary line.
set -eu
bin=$1
passed=0
failed=0
check() {
  if [ "$(printf "$1" | "$bin")" = "$2" ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: '$1'"; fi
}
check "" "0 0 0"
check "one two\nthree\n" "2 3 14"
check "  spaced   out  " "0 2 16"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
