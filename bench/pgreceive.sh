#!/usr/bin/env bash
# POST /api/receive at 64 connections on SQLite and on a private, durable
# PostgreSQL 15 (bench/pgserver.sh), the stores taking turns RUNS times,
# 10 s each; prints every pair, the medians, the ratio PostgreSQL/SQLite and,
# from pg_stat_statements and the daemon's pgx trace counters, statements
# and round trips per creation. The same load as bench/run.sh's rows 3.
#
# Needs: Go, curl, Debian's wrk, postgresql-15.
# Usage: bench/pgreceive.sh [RUNS] (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
command -v wrk >/dev/null || { echo "wrk not installed (Debian package wrk)" >&2; exit 1; }

work=$(mktemp -d)
pid=
stop() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; pid=; fi; }
source bench/pgserver.sh
trap 'stop; pg_stop; rm -rf "$work"' EXIT
go build -o "$work/ticketd" ./cmd/ticketd
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$port
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# start DATA [ARGS…]: runs the daemon on DATA as bench/run.sh does.
start() {
  "$work/ticketd" --data "$1" --http 127.0.0.1:"$port" --no-tls --smtp "" --no-api-token --log-level error \
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
: >"$work/errors"
sq=() pg=() ratios=()
for i in $(seq "$runs"); do
  start "$work/sqlite"
  s=$(load)
  stop
  start "$work/pgdata" --database "$pg_url"
  pg_psql -c 'SELECT pg_stat_statements_reset()' >/dev/null
  p=$(load)
  stop
  r=$(echo "scale=2; $p / $s" | bc -l)
  echo "run $i: SQLite $s/s, PostgreSQL $p/s, ratio $r"
  sq+=("$s") pg+=("$p") ratios+=("$r")
done
echo "medians: SQLite $(printf '%s\n' "${sq[@]}" | median)/s, PostgreSQL $(printf '%s\n' "${pg[@]}" | median)/s," \
  "ratio of medians $(echo "scale=2; $(printf '%s\n' "${pg[@]}" | median) / $(printf '%s\n' "${sq[@]}" | median)" | bc -l)," \
  "median ratio $(printf '%s\n' "${ratios[@]}" | median), lowest ratio $(printf '%s\n' "${ratios[@]}" | sort -g | head -1)"
echo "failed requests: $(grep -c . "$work/errors" || true)"
# Of the last PostgreSQL run: statements per new ticket, and the server
# time they took (pg_stat_statements counts every statement once, a
# trigger's too with track=all).
pg_psql -At -F ' ' -c "SELECT 'statements per creation', round(sum(calls)::numeric / nullif(max(calls) FILTER (WHERE query ILIKE 'INSERT INTO tickets%'), 0), 1),
  'server ms per creation', round((sum(total_exec_time) FILTER (WHERE toplevel))::numeric / nullif(max(calls) FILTER (WHERE query ILIKE 'INSERT INTO tickets%'), 0), 3)
  FROM pg_stat_statements"
pg_psql -At -F ' | ' -c "SELECT calls, round(total_exec_time::numeric, 0), toplevel, left(regexp_replace(query, '\s+', ' ', 'g'), 90)
  FROM pg_stat_statements ORDER BY calls DESC, total_exec_time DESC LIMIT 20"
