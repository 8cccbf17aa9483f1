#!/bin/sh
# Runs every test binary given, echoes their output, and sums their
# "N passed, N failed, N skipped" lines into one closing line.
P=0; F=0; S=0
# The roofline cache (measured once, ~3 s) lives beside the build, not in
# the user's home.
XDG_CACHE_HOME="${XDG_CACHE_HOME_TESTS:-$(pwd)/build/cache}"; export XDG_CACHE_HOME
mkdir -p "$XDG_CACHE_HOME"
for t in "$@"; do
  out=$("$t" 2>&1); rc=$?
  printf '%s\n' "$out" | grep -v '^[0-9]* passed, [0-9]* failed' 
  line=$(printf '%s\n' "$out" | grep '^[0-9]* passed, [0-9]* failed' | tail -n 1)
  if [ -z "$line" ]; then
    echo "FAIL $t: exited $rc without a summary line"; F=$((F+1)); continue
  fi
  p=$(echo "$line" | sed 's/^\([0-9]*\) passed.*/\1/')
  f=$(echo "$line" | sed 's/.* \([0-9]*\) failed.*/\1/')
  s=$(echo "$line" | sed -n 's/.* \([0-9]*\) skipped.*/\1/p'); s=${s:-0}
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then echo "FAIL $t: exit status $rc"; f=1; fi
  echo "  $(basename "$t"): $p passed, $f failed, $s skipped"
  P=$((P+p)); F=$((F+f)); S=$((S+s))
done
echo "$P passed, $F failed, $S skipped"
[ "$F" -eq 0 ]
