#!/usr/bin/env bash
# Sourced by bench/run.sh: pg_start DIR starts a private, durable
# PostgreSQL 15 (fsync and synchronous_commit on, the defaults) on a free
# loopback port with pg_stat_statements loaded, creates the database
# "ticketd" and sets pg_url; pg_stop stops it. Needs postgresql-15.
#
# Checkpoints are spaced as README ("PostgreSQL and several daemons")
# tells operators to for a steady stream of new tickets (max_wal_size
# 4 GB, checkpoint_timeout 15 min). At the default 1 GB a checkpoint
# came every ~0.54 GB of WAL, within the ~0.9 GB of bench/pgreceive.sh 5,
# and the runs after it paid a full-page image of every index page they
# touched first: a cost that fell on whichever build ran then.
pg_bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
pg_dir=
# As root, the server runs as the system user postgres (initdb refuses root).
pg_as() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pg_start() {
  [ -x "$pg_bin/initdb" ] || { echo "PostgreSQL not installed (Debian package postgresql-15)" >&2; return 1; }
  pg_dir=$1
  mkdir -p "$pg_dir" && chmod 700 "$pg_dir"
  if [ "$(id -u)" = 0 ]; then chown postgres: "$pg_dir"; chmod o+x "$(dirname "$pg_dir")"; fi
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  pg_as "$pg_bin/initdb" -D "$pg_dir" -U postgres -A trust -E UTF8 --locale C >/dev/null
  pg_as "$pg_bin/pg_ctl" -D "$pg_dir" -l "$pg_dir/log" -w -o "-c listen_addresses=127.0.0.1 -p $port -k $pg_dir \
    -c max_connections=100 -c shared_buffers=256MB -c max_wal_size=4GB -c checkpoint_timeout=15min \
    -c shared_preload_libraries=pg_stat_statements \
    -c pg_stat_statements.track=all" start >/dev/null
  "$pg_bin/psql" -qX -h 127.0.0.1 -p "$port" -U postgres -d postgres -c 'CREATE DATABASE ticketd' >/dev/null
  "$pg_bin/psql" -qX -h 127.0.0.1 -p "$port" -U postgres -d ticketd -c 'CREATE EXTENSION pg_stat_statements' >/dev/null
  pg_url="postgres://postgres@127.0.0.1:$port/ticketd?sslmode=disable"
  pg_port=$port
}
pg_psql() { PGOPTIONS="-c client_min_messages=warning" "$pg_bin/psql" -qX -h 127.0.0.1 -p "$pg_port" -U postgres -d ticketd "$@"; }
pg_stop() {
  if [ -n "$pg_dir" ]; then pg_as "$pg_bin/pg_ctl" -D "$pg_dir" -m fast -w stop >/dev/null 2>&1 || true; pg_dir=; fi
}
