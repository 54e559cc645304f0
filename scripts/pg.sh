#!/usr/bin/env bash
# A private PostgreSQL 15 cluster for groupbuyd, reachable only through a
# Unix socket in a folder of its own (no TCP port).
#
#   scripts/pg.sh start   [DIR]   initdb if needed, start, create database
#   scripts/pg.sh stop    [DIR]
#   scripts/pg.sh destroy [DIR]   stop, then delete the cluster and its data
#   scripts/pg.sh url     [DIR]   print the libpq connection string
#   scripts/pg.sh migrate [DIR]   build/groupbuyd migrate against it
#
# DIR defaults to var/pg (the cluster of `make run`); the tests make their
# own under var/test-*. As root the cluster runs as the postgres user, as
# initdb requires. That user may be unable to traverse the checkout (a
# clone under /root or in a `mktemp -d` folder, both 0700): the cluster
# then lives in /var/lib/groupbuyd/dev-<hash of DIR>, DIR is a symlink to it
# (one stable place per checkout, so stop and a later start find it), and
# everything the postgres user opens is addressed by the resolved path,
# never through the checkout.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
cmd=${1:-}
DIR=${2:-$ROOT/var/pg}
case "$DIR" in /*) ;; *) DIR=$ROOT/$DIR ;; esac
DBNAME=${GROUPBUYD_DBNAME:-groupbuyd}

# As root, from / : the postgres user may not be allowed into the current
# directory, and PostgreSQL's tools complain when they cannot return to it.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

# Where the cluster really is: DIR itself, or what its symlink points to.
# The postgres user is only ever given this path.
real_dir() {
  if [ -L "$DIR" ]; then readlink -f "$DIR"; else printf %s "$DIR"; fi
}

sockdir() {
  # Unix socket paths are limited to 107 bytes.
  local real s
  real=$(real_dir)
  s="$real/sock"
  if [ ${#s} -gt 80 ]; then
    s="/tmp/gbd-$(printf %s "$real" | md5sum | cut -c1-16)"
  fi
  printf %s "$s"
}

url() { printf 'host=%s dbname=%s user=postgres' "$(sockdir)" "$DBNAME"; }

# The folder for clusters that cannot live in their checkout: persistent
# (unlike /tmp and /var/tmp, which are cleaned), traversable by postgres.
ALT_BASE=${GROUPBUYD_PG_ALT_BASE:-/var/lib/groupbuyd}

prepare_dir() {
  mkdir -p "$(dirname "$DIR")"
  if [ "$(id -u)" -ne 0 ]; then
    # The cluster runs as the caller, who can reach its own checkout.
    mkdir -p "$DIR"
    chmod 700 "$DIR"
    return 0
  fi
  # A symlink whose cluster was deleted is made again below.
  if [ -L "$DIR" ] && [ ! -e "$DIR" ]; then rm -f "$DIR"; fi
  [ -e "$DIR" ] && return 0
  mkdir -m 700 "$DIR"
  chown postgres:postgres "$DIR"
  if as_pg test -w "$DIR"; then return 0; fi
  rmdir "$DIR"
  local alt
  alt="$ALT_BASE/dev-$(printf %s "$DIR" | md5sum | cut -c1-16)"
  mkdir -p "$ALT_BASE"
  chmod 755 "$ALT_BASE"
  # An existing folder is this checkout's cluster whose symlink was deleted
  # (rm -rf var): it is found again, not initialised over a live server.
  if [ ! -d "$alt" ]; then
    mkdir -m 700 "$alt"
    chown postgres:postgres "$alt"
  fi
  ln -s "$alt" "$DIR"
}

start() {
  prepare_dir
  local sock real
  sock=$(sockdir)
  real=$(real_dir)
  if [ ! -s "$real/data/PG_VERSION" ]; then
    as_pg "$PGBIN/initdb" -D "$real/data" -U postgres --auth=trust \
      --encoding=UTF8 --locale=C.UTF-8 ${PG_INITDB_OPTS:-} >"$real/initdb.log" 2>&1 \
      || { cat "$real/initdb.log" >&2; exit 1; }
    cat >>"$real/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$sock'
max_connections = 200
shared_buffers = 128MB
${PG_EXTRA_CONF:-}
CONF
  fi
  mkdir -p "$sock"
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$sock"
  chmod 700 "$sock"
  if ! as_pg "$PGBIN/pg_ctl" -D "$real/data" status >/dev/null 2>&1; then
    as_pg "$PGBIN/pg_ctl" -D "$real/data" -l "$real/server.log" -w -t 60 \
      start >/dev/null || { tail -20 "$real/server.log" >&2; exit 1; }
  fi
  if ! as_pg "$PGBIN/psql" -h "$sock" -U postgres -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname = '$DBNAME'" | grep -q 1; then
    as_pg "$PGBIN/createdb" -h "$sock" -U postgres "$DBNAME"
  fi
}

stop() {
  local real
  real=$(real_dir)
  [ -s "$real/data/PG_VERSION" ] || return 0
  as_pg "$PGBIN/pg_ctl" -D "$real/data" -m fast -w stop >/dev/null 2>&1 || true
}

destroy() {
  local real
  real=$(real_dir)
  stop
  rm -rf "$real"
  if [ -L "$DIR" ]; then rm -f "$DIR"; fi
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  destroy) destroy ;;
  url) url; echo ;;
  migrate) GROUPBUYD_DATABASE_URL=$(url) "$ROOT/build/groupbuyd" migrate ;;
  *) echo "usage: $0 start|stop|destroy|url|migrate [DIR]" >&2; exit 2 ;;
esac
