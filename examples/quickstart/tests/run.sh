#!/bin/sh
# Runs the binary on known inputs and compares what it prints; one summary line at the end.
set -eu
bin=$1
passed=0
failed=0
check() {
  name=$1 input=$2 expected=$3
  shift 3
  actual=$(printf "$input" | "$bin" "$@")
  if [ "$actual" = "$(printf "$expected")" ]; then
    passed=$((passed + 1)) && echo "ok   $name"
  else
    failed=$((failed + 1)) && echo "FAIL $name: got '$actual'"
  fi
}
check "empty input" "" ""
check "counts and orders" "b a b c b a\n" "3 b\n2 a\n1 c"
check "case folds" "Go go GO stop\n" "3 go\n1 stop"
check "punctuation splits" "end. End, (end)!\n" "3 end"
check "top N" "x y z x y x\n" "3 x" 1
check "ties by word" "pear apple fig\n" "1 apple\n1 fig" 2
if "$bin" 0 </dev/null 2>/dev/null; then failed=$((failed + 1)) && echo "FAIL rejects N=0"; else passed=$((passed + 1)) && echo "ok   rejects N=0"; fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
