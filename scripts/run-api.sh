#!/usr/bin/env bash
# The black-box API tests: pytest from Debian against build/asan/groupbuyd.
# The suite starts its own PostgreSQL clusters under var/test-*.
# Extra arguments go to pytest, e.g. scripts/run-api.sh -k readyz; paths
# under tests/api run only those (scripts/run-api.sh tests/api/shop).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export GROUPBUYD_BIN=${GROUPBUYD_BIN:-$ROOT/build/asan/groupbuyd}
export PYTHONDONTWRITEBYTECODE=1
# Randomised tests run with this seed and with a fresh one (tests/api/conftest.py);
# SEED=N replays seed N alone.
export TEST_SEED=${TEST_SEED:-20261205}
where=tests/api
for a in "$@"; do
  case "$a" in tests/api*) where= ;; esac
done
/usr/bin/python3 -m pytest -q -p no:cacheprovider $where "$@"
rc=$?
[ $rc -eq 5 ] && { echo "api: no tests collected"; exit 1; }
exit $rc
