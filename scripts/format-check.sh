#!/usr/bin/env bash
# Fails when a C file differs from clang-format's layout (.clang-format).
set -uo pipefail
cd "$(dirname "$0")/.."
files=$(ls server/*.c server/*.h tests/unit/*.c tests/unit/*.h tests/tools/*.c tests/fuzz/*.c 2>/dev/null)
if clang-format --dry-run --Werror $files 2>/tmp/gbd-format.$$; then
  echo "format: $(echo $files | wc -w) files clean"
  rm -f /tmp/gbd-format.$$
  exit 0
fi
head -30 /tmp/gbd-format.$$; rm -f /tmp/gbd-format.$$
echo "format: run 'make format'"; exit 1
