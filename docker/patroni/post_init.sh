#!/bin/sh
# Patroni runs this once, on the node that initialised the cluster, with a
# superuser connection string as $1: the application's role and database.
set -eu
psql -v ON_ERROR_STOP=1 -v pw="$GROUPBUYD_DB_PASSWORD" "$1" <<'SQL'
CREATE ROLE groupbuyd LOGIN PASSWORD :'pw';
CREATE DATABASE groupbuyd OWNER groupbuyd;
SQL
