#!/usr/bin/env bash
# Fails when a C file differs from clang-format's layout (.clang-format).
set -uo pipefail
cd "$(dirname "$0")/.."
files=$(find server tests/unit tests/fuzz -name "*.[ch]" | sort)
if clang-format --dry-run --Werror $files 2>/tmp/gbd-format.$$; then
  echo "format: $(echo $files | wc -w) files clean"
  rm -f /tmp/gbd-format.$$
  exit 0
fi
head -30 /tmp/gbd-format.$$; rm -f /tmp/gbd-format.$$
echo "format: run 'make format'"; exit 1
