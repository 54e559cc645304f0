#!/usr/bin/env bash
# `make test` after the build: unit tests, API tests (asan build), the
# failover test (tests/failover: a synchronous standby promoted mid-storm),
# the newcomer's path (docs/walkthrough.md run on `make run`'s demo, and
# the cluster from clones in folders the postgres user cannot enter), the
# browser suite (tests/browser), format, layer and compose checks, and the
# bench's arithmetic (tests/bench/test_figures.py). Every runner
# prints its summary; the exit status is non-zero if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
scripts/run-unit.sh "$@" || status=1
scripts/run-api.sh || status=1
tests/failover/run.sh || status=1
tests/newcomer/test_walkthrough.py || status=1
tests/newcomer/test_clone_location.sh || status=1
scripts/run-browser.sh || status=1
scripts/format-check.sh || status=1
scripts/check-layers.py || status=1
scripts/check-compose.sh || status=1
/usr/bin/python3 -m pytest -q -p no:cacheprovider tests/bench/test_figures.py || status=1
if [ $status -eq 0 ]; then echo "make test: all passed"; else echo "make test: FAILED"; fi
exit $status
