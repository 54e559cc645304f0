#!/usr/bin/env bash
# A fresh clone works wherever it is put: the cluster of `make run` starts,
# migrates and serves /readyz, `make db-stop` finds it again, and so does a
# second start, from
#   * a `mktemp -d` folder (0700),
#   * a 0700 home folder (like /root/groupbuyd),
#   * as root: the same home folder case for an ordinary user (nobody).
# As root the first two are the case where the postgres user cannot enter
# the checkout. Run by anyone else, every case runs as that user, who is
# then the ordinary user; the root cases need root and are run by
# `make test` as root.
#
# The clone is of this checkout's HEAD plus its uncommitted changes to
# tracked files. Only the release binary is built, once (the first clone);
# no demo data (the walkthrough test covers it). Everything started is stopped, and every
# folder removed, on success or failure.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# Behaviour, not durability: the clusters skip fsync (pg.sh passes these on).
export PG_INITDB_OPTS=--no-sync PG_EXTRA_CONF="fsync = off"
T0=$(date +%s)
BASES=()
CLONES=()   # "user dir" of every clone, for the clean-up
SERVER=""

fail() { echo "clone: FAILED: $*" >&2; exit 1; }

as() {  # as USER CMD...: run in the clone's folder as USER
  local user=$1; shift
  if [ "$user" = "$(id -un)" ]; then "$@"; else (cd / && runuser -u "$user" -- "$@"); fi
}

cleanup() {
  local rc=$?
  if [ -n "$SERVER" ]; then kill -TERM "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null; fi
  local c
  for c in "${CLONES[@]}"; do
    # shellcheck disable=SC2086
    set -- $c
    as "$1" "$2/scripts/pg.sh" destroy "$2/var/pg" >/dev/null 2>&1
  done
  for c in "${BASES[@]}"; do rm -rf "$c"; done
  exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# clone USER DEST: the checkout as it is now, owned by USER.
clone() {
  local user=$1 dest=$2
  git clone -q "$ROOT" "$dest" || fail "git clone into $dest"
  if ! git -C "$ROOT" diff --quiet HEAD; then
    git -C "$ROOT" diff --binary HEAD | git -C "$dest" apply || fail "applying local changes"
  fi
  # Only the first clone builds (proving the build works from there too);
  # the others get its build/ copied with fresh times, which make takes as
  # up to date: the cases differ in where the cluster goes, not in the
  # compiler's output, and make test's time matters.
  if [ ${#CLONES[@]} -gt 0 ]; then
    # shellcheck disable=SC2086
    set -- ${CLONES[0]}
    cp -r "$2/build" "$dest/build" || fail "copying the first clone's build"
  fi
  [ "$user" = "$(id -un)" ] || chown -R "$user": "$dest"
  CLONES+=("$user $dest")
}

# one_case NAME USER DEST
one_case() {
  local name=$1 user=$2 dest=$3 port log url t0
  t0=$(date +%s)
  clone "$user" "$dest"
  log=$dest.log
  as "$user" env -C "$dest" make -s -j2 migrate >"$log" 2>&1 \
    || { cat "$log" >&2; fail "$name: make migrate (build, start the cluster, migrate)"; }
  grep -q "14 applied\|[0-9]* applied, 0 already there" "$log" \
    || { cat "$log" >&2; fail "$name: migrate applied nothing"; }
  if [ "$(id -u)" -eq 0 ] && [ "$user" = root ]; then
    # The postgres user cannot enter this checkout: the cluster must be
    # elsewhere, var/pg only pointing to it.
    [ -L "$dest/var/pg" ] || fail "$name: var/pg is not a link to a cluster outside the checkout"
  fi
  url=$(as "$user" "$dest/scripts/pg.sh" url "$dest/var/pg")
  port=$(free_port)
  # The server's own pid (not runuser's), for a SIGTERM it answers itself.
  rm -f "$dest/serve.pid"
  as "$user" env -C "$dest" GROUPBUYD_DATABASE_URL="$url" GROUPBUYD_LISTEN=127.0.0.1:$port \
    sh -c 'echo $$ >serve.pid; exec build/groupbuyd serve' >>"$log" 2>&1 &
  SERVER=$!
  local ok=0
  for _ in $(seq 100); do
    if curl -fsS "http://127.0.0.1:$port/readyz" 2>/dev/null | grep -q '"ready"'; then ok=1; break; fi
    kill -0 "$SERVER" 2>/dev/null || break
    sleep 0.1
  done
  [ $ok -eq 1 ] || { cat "$log" >&2; fail "$name: /readyz did not answer ready"; }
  kill -TERM "$(cat "$dest/serve.pid")"
  wait "$SERVER" || { cat "$log" >&2; fail "$name: serve did not exit 0 on SIGTERM"; }
  SERVER=""
  as "$user" env -C "$dest" make -s db-stop >>"$log" 2>&1 || fail "$name: make db-stop"
  if as "$user" psql "$url" -tAc 'SELECT 1' >/dev/null 2>&1; then
    fail "$name: the cluster still answers after make db-stop"
  fi
  # A second start finds the same cluster, already migrated.
  as "$user" env -C "$dest" make -s migrate >"$log.2" 2>&1 \
    || { cat "$log.2" >&2; fail "$name: second make migrate"; }
  grep -q " 0 applied" "$log.2" || { cat "$log.2" >&2; fail "$name: the second start made a new cluster"; }
  as "$user" env -C "$dest" make -s db-stop >/dev/null 2>&1 || fail "$name: second make db-stop"
  echo "clone: $name: cluster started, migrated, /readyz ready, stopped, found again ($(( $(date +%s) - t0 )) s)"
}

me=$(id -un)
tmp=$(mktemp -d) || fail "mktemp -d"
BASES+=("$tmp")
one_case "mktemp -d folder as $me" "$me" "$tmp/groupbuyd"

home_base=$(mktemp -d) || fail "mktemp -d"
BASES+=("$home_base")
chmod 711 "$home_base"
mkdir -m 700 "$home_base/$me"
one_case "0700 home folder as $me" "$me" "$home_base/$me/groupbuyd"

if [ "$(id -u)" -eq 0 ]; then
  id nobody >/dev/null 2>&1 || fail "no user 'nobody' to run the ordinary-user case as"
  mkdir -m 700 "$home_base/nobody"
  chown nobody: "$home_base/nobody"
  one_case "0700 home folder as nobody" nobody "$home_base/nobody/groupbuyd"
fi
echo "clone: all cases passed in $(( $(date +%s) - T0 )) s"
