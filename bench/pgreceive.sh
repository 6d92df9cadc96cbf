#!/usr/bin/env bash
# POST /api/receive at 64 connections on SQLite and on a private, durable
# PostgreSQL 15 (bench/pgserver.sh), the stores taking turns RUNS times,
# 10 s each; prints every pair, the medians, the ratio PostgreSQL/SQLite,
# the CPU time per creation of the daemon and of the PostgreSQL server
# (medians; steadier than the rates on a machine shared with other work)
# and, from pg_stat_statements, statements and server time per creation.
# The same load as bench/run.sh's rows 3.
#
# PG_POOLS="4 16" measures PostgreSQL with each of these pools
# (pool_max_conns) in every run, "default" meaning the URL sets none; with
# PROFILE_DIR=DIR a CPU profile of the daemon over 5 s of the last run is
# written to DIR/pg-receive-POOL.pprof (go tool pprof).
#
# Needs: Go, curl, Debian's wrk, postgresql-15.
# Usage: bench/pgreceive.sh [RUNS] (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
command -v wrk >/dev/null || { echo "wrk not installed (Debian package wrk)" >&2; exit 1; }

source bench/common.sh
source bench/pgserver.sh
trap 'stop; pg_stop; rm -rf "$work"' EXIT
go build -o "$work/ticketd" ./cmd/ticketd
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$port
# ticks PID…: CPU time in clock ticks of the processes PID… (user and
# system), with the ended children a process waited for (the server's
# ended backends, in the postmaster's).
ticks() { for p in "$@"; do awk '{print $14+$15+$16+$17}' "/proc/$p/stat" 2>/dev/null; done | awk '{s+=$1} END {print s+0}'; }
server_pids() { local pm; pm=$(head -1 "$pg_dir/postmaster.pid"); echo "$pm" $(pgrep -P "$pm"); }
hz=$(getconf CLK_TCK)
# per_creation TICKS RATE: milliseconds of CPU per creation over a 10 s run.
per_creation() { echo "scale=3; $1 * 1000 / $hz / ($2 * 10)" | bc -l; }

# With BEFORE=REV, PG_POOLS may name "before": the daemon built from
# commit REV, with its default pool, on a database of its own.
if [ -n "${BEFORE:-}" ]; then
  build_before go build -o "$work/ticketd-before" ./cmd/ticketd
fi

# start DATA [ARGS…]: runs the daemon $bin on DATA as bench/run.sh does.
bin=$work/ticketd
start() {
  "$bin" --data "$1" --http 127.0.0.1:"$port" --no-tls --smtp "" --no-api-token --log-level error \
    --api-max-requests 128 "${@:2}" >/dev/null 2>>"$work/ticketd.log" &
  pid=$!
  until curl -fs "$url/healthz" >/dev/null 2>&1; do sleep 0.005; done
}
# load: creations per second of one 10 s wrk run; failed requests go to
# $work/errors.
load() {
  local out
  out=$(wrk -t 2 -c 64 -d 10s -s bench/receive.lua "$url" 2>>"$work/errors")
  echo "$out" | awk '/Socket errors/ {gsub(/,/, ""); print "socket errors", $0}' >>"$work/errors"
  echo "$out" | awk '/Requests\/sec/ {printf "%.0f", $2}'
}

pg_start "$work/pg"
debug=()
if [ -n "${PROFILE_DIR:-}" ]; then
  mkdir -p "$PROFILE_DIR"
  dport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  debug=(--debug-listen 127.0.0.1:"$dport")
fi
pools=(${PG_POOLS:-default})
if [ -n "${BEFORE:-}" ]; then
  "$pg_bin/psql" -qX -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -c 'CREATE DATABASE ticketd_before' >/dev/null
fi
: >"$work/errors"
declare -A pg ratios dcpu scpu
sq=() sqcpu=()
for i in $(seq "$runs"); do
  bin=$work/ticketd
  start "$work/sqlite"
  d0=$(ticks "$pid")
  s=$(load)
  sqcpu+=("$(per_creation $(($(ticks "$pid") - d0)) "$s")")
  stop
  sq+=("$s")
  line="run $i: SQLite $s/s"
  for pool in "${pools[@]}"; do
    u=$pg_url bin=$work/ticketd data=$work/pgdata
    case $pool in
    default) ;;
    before) u=${pg_url/\/ticketd\?//ticketd_before?} bin=$work/ticketd-before data=$work/pgbefore ;;
    *) u="$pg_url&pool_max_conns=$pool" ;;
    esac
    start "$data" --database "$u" "${debug[@]}"
    pg_psql -c 'SELECT pg_stat_statements_reset()' >/dev/null
    prof=
    if [ -n "${PROFILE_DIR:-}" ] && [ "$i" = "$runs" ]; then
      (sleep 3; curl -fs -o "$PROFILE_DIR/pg-receive-$pool.pprof" "http://127.0.0.1:$dport/debug/pprof/profile?seconds=5") &
      prof=$!
    fi
    d0=$(ticks "$pid") s0=$(ticks $(server_pids))
    p=$(load)
    dcpu[$pool]+="$(per_creation $(($(ticks "$pid") - d0)) "$p") "
    scpu[$pool]+="$(per_creation $(($(ticks $(server_pids)) - s0)) "$p") "
    if [ -n "$prof" ]; then wait "$prof" || true; fi
    stop
    r=$(echo "scale=2; $p / $s" | bc -l)
    line+=", PostgreSQL (pool $pool) $p/s, ratio $r"
    pg[$pool]+="$p " ratios[$pool]+="$r "
  done
  echo "$line"
done
ms=$(printf '%s\n' "${sq[@]}" | median)
echo "median SQLite $ms/s, daemon CPU $(printf '%s\n' "${sqcpu[@]}" | median) ms per creation"
for pool in "${pools[@]}"; do
  mp=$(printf '%s\n' ${pg[$pool]} | median)
  echo "pool $pool: median PostgreSQL $mp/s, ratio of medians $(echo "scale=2; $mp / $ms" | bc -l)," \
    "median ratio $(printf '%s\n' ${ratios[$pool]} | median), lowest ratio $(printf '%s\n' ${ratios[$pool]} | sort -g | head -1);" \
    "CPU per creation: daemon $(printf '%s\n' ${dcpu[$pool]} | median) ms, server $(printf '%s\n' ${scpu[$pool]} | median) ms"
done
echo "failed requests: $(grep -c . "$work/errors" || true)"
sort "$work/errors" | uniq -c | head -5
pg_psql -At -F ' ' -c "SELECT 'checkpoints during the runs', checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter"
# Of the last PostgreSQL run: statements per new ticket, and the server
# time they took (pg_stat_statements counts every statement once, a
# trigger's too with track=all).
pg_psql -At -F ' ' -c "SELECT 'statements per creation', round(sum(calls)::numeric / nullif(max(calls) FILTER (WHERE query ILIKE 'INSERT INTO tickets%'), 0), 1),
  'server ms per creation', round((sum(total_exec_time) FILTER (WHERE toplevel))::numeric / nullif(max(calls) FILTER (WHERE query ILIKE 'INSERT INTO tickets%'), 0), 3)
  FROM pg_stat_statements"
pg_psql -At -F ' | ' -c "SELECT calls, round(total_exec_time::numeric, 0), toplevel, left(regexp_replace(query, '\s+', ' ', 'g'), 90)
  FROM pg_stat_statements ORDER BY calls DESC, total_exec_time DESC LIMIT 20"
