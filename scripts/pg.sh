#!/usr/bin/env bash
# A private PostgreSQL 15 cluster for groupbuyd, reachable only through a
# Unix socket in a folder of its own (no TCP port).
#
#   scripts/pg.sh start   [DIR]   initdb if needed, start, create database
#   scripts/pg.sh stop    [DIR]
#   scripts/pg.sh url     [DIR]   print the libpq connection string
#   scripts/pg.sh migrate [DIR]   build/groupbuyd migrate against it
#
# DIR defaults to var/pg (the cluster of `make run`); the tests make their
# own under var/test-*. As root the cluster runs as the postgres user, as
# initdb requires. If the postgres user cannot reach the checkout (a clone
# under /root, say), the data lives in /var/tmp and DIR is a symlink to it.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
cmd=${1:-}
DIR=${2:-$ROOT/var/pg}
case "$DIR" in /*) ;; *) DIR=$ROOT/$DIR ;; esac
DBNAME=${GROUPBUYD_DBNAME:-groupbuyd}

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

sockdir() {
  # Unix socket paths are limited to 107 bytes.
  local s="$DIR/sock"
  if [ ${#s} -gt 80 ]; then
    s="/tmp/gbd-$(printf %s "$DIR" | md5sum | cut -c1-16)"
  fi
  printf %s "$s"
}

url() { printf 'host=%s dbname=%s user=postgres' "$(sockdir)" "$DBNAME"; }

prepare_dir() {
  mkdir -p "$(dirname "$DIR")"
  if [ "$(id -u)" -eq 0 ]; then
    if [ ! -e "$DIR" ]; then
      mkdir -p "$DIR"
      chown postgres:postgres "$DIR"
      chmod 700 "$DIR"
      if ! runuser -u postgres -- test -w "$DIR"; then
        rmdir "$DIR"
        local alt
        alt="/var/tmp/groupbuyd-$(printf %s "$DIR" | md5sum | cut -c1-16)"
        rm -rf "$alt"
        mkdir -p "$alt"
        chown postgres:postgres "$alt"
        chmod 700 "$alt"
        ln -s "$alt" "$DIR"
      fi
    fi
  else
    mkdir -p "$DIR"
    chmod 700 "$DIR"
  fi
}

start() {
  prepare_dir
  local sock; sock=$(sockdir)
  if [ ! -s "$DIR/data/PG_VERSION" ]; then
    as_pg "$PGBIN/initdb" -D "$DIR/data" -U postgres --auth=trust \
      --encoding=UTF8 --locale=C.UTF-8 ${PG_INITDB_OPTS:-} >"$DIR/initdb.log" 2>&1 \
      || { cat "$DIR/initdb.log" >&2; exit 1; }
    cat >>"$DIR/data/postgresql.conf" <<CONF
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
  if ! as_pg "$PGBIN/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1; then
    as_pg "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
      start >/dev/null || { tail -20 "$DIR/server.log" >&2; exit 1; }
  fi
  if ! as_pg "$PGBIN/psql" -h "$sock" -U postgres -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname = '$DBNAME'" | grep -q 1; then
    as_pg "$PGBIN/createdb" -h "$sock" -U postgres "$DBNAME"
  fi
}

stop() {
  [ -s "$DIR/data/PG_VERSION" ] || return 0
  as_pg "$PGBIN/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null 2>&1 || true
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  url) url; echo ;;
  migrate) GROUPBUYD_DATABASE_URL=$(url) "$ROOT/build/groupbuyd" migrate ;;
  *) echo "usage: $0 start|stop|url|migrate [DIR]" >&2; exit 2 ;;
esac
