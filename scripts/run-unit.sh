#!/usr/bin/env bash
# Runs every unit-test binary given and prints one summary line:
# "unit: N passed, N failed". Exits non-zero if any check failed or a
# binary crashed.
set -uo pipefail
passed=0; failed=0; crashed=0
for bin in "$@"; do
  out=$("$bin" 2>&1); rc=$?
  line=$(printf '%s\n' "$out" | grep -E '^test_[a-z0-9_]+: [0-9]+ passed, [0-9]+ failed$' | tail -1)
  if [ -z "$line" ] || [ $rc -ne 0 ]; then
    printf '%s\n' "$out" | tail -40
  fi
  if [ -z "$line" ]; then
    echo "$bin: crashed (exit $rc)"; crashed=$((crashed + 1)); continue
  fi
  echo "$line"
  p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed/\1/')
  f=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed/\2/')
  passed=$((passed + p)); failed=$((failed + f))
  [ $rc -ne 0 ] && [ "$f" -eq 0 ] && { echo "$bin: exit $rc"; crashed=$((crashed + 1)); }
done
echo "unit: $passed passed, $((failed + crashed)) failed"
[ $failed -eq 0 ] && [ $crashed -eq 0 ]
