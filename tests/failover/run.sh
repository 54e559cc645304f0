#!/usr/bin/env bash
# The failover test (tests/failover/failover.py): a primary and a
# synchronous standby on loopback, two groupbuyd processes (the asan build)
# on a multi-host URL, a join storm, `kill -9` of the primary mid-storm,
# the standby promoted, then the counts and the invariants. Run by
# `make test` (scripts/test.sh) and `make failover-test`.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
export GROUPBUYD_BIN=${GROUPBUYD_BIN:-$ROOT/build/asan/groupbuyd}
export PYTHONDONTWRITEBYTECODE=1
if [ ! -x "$GROUPBUYD_BIN" ]; then
  echo "failover: $GROUPBUYD_BIN is missing (make asan)" >&2
  exit 1
fi
/usr/bin/python3 tests/failover/failover.py "$@"
rc=$?
if [ $rc -eq 0 ]; then echo "failover: passed"; else echo "failover: FAILED"; fi
exit $rc
