#!/usr/bin/env bash
# The performance budget of the embedded default (SQLite) on this machine,
# in one run: start-up time and memory with 0 and with many tickets,
# POST /api/receive with wrk at concurrency 1, 8 and 64, fetchMails with the
# confirmations that left pending, and the pages with many tickets.
# Figures are medians of RUNS runs where a run is short.
#
# Needs: Go, curl, Debian's wrk. Usage: bench/run.sh [TICKETS] [RUNS]
# (TICKETS defaults to 1000000; generating them takes about a minute).
set -euo pipefail
cd "$(dirname "$0")/.."
tickets=${1:-1000000}
runs=${2:-3}
for p in wrk curl; do command -v "$p" >/dev/null || { echo "$p not installed (Debian package $p)" >&2; exit 1; }; done

work=$(mktemp -d)
pid=
stop() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; pid=; fi; }
trap 'stop; rm -rf "$work"' EXIT
go build -o "$work/ticketd" ./cmd/ticketd
go build -o "$work/gendb" ./bench/gendb

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$port
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# start DATA: runs the daemon on DATA; started_ms is the milliseconds
# until /healthz answered.
start() {
  local t0 t1
  t0=$(date +%s%N)
  "$work/ticketd" --data "$1" --http 127.0.0.1:"$port" --no-tls --smtp "" --no-api-token --log-level error \
    >/dev/null 2>>"$work/ticketd.log" &
  pid=$!
  until curl -fs "$url/healthz" >/dev/null 2>&1; do sleep 0.005; done
  t1=$(date +%s%N)
  started_ms=$(( (t1 - t0) / 1000000 ))
}
rss() { awk '/VmRSS/ {printf "%.0f", $2/1024}' /proc/"$pid"/status; }

# startup DATA: median start-up time and resident memory after a second.
startup() {
  local ms=() mem=()
  for _ in $(seq "$runs"); do
    start "$1"; ms+=("$started_ms"); sleep 1; mem+=("$(rss)"); stop
  done
  printf '%s ms, %s MiB' "$(printf '%s\n' "${ms[@]}" | median)" "$(printf '%s\n' "${mem[@]}" | median)"
}

# wrkline ARGS…: "requests/s, p99" of one wrk run.
wrkline() {
  local out
  out=$(wrk --latency "$@" 2>"$work/wrk.err")
  if grep -q . "$work/wrk.err"; then echo "errors: $(sort "$work/wrk.err" | uniq -c | head -3 | tr '\n' ' ')" >&2; fi
  printf '%8.0f req/s, p99 %s' "$(echo "$out" | awk '/Requests\/sec/ {print $2}')" "$(echo "$out" | awk '$1 == "99%" {print $2}')"
}

startup "$work/empty" >"$work/s0"
echo "== start-up with 0 tickets: $(cat "$work/s0")"

start "$work/empty"
for c in 1 8 64; do
  echo "== POST /api/receive, concurrency $c (10 s): $(wrkline -t "$(( c < 2 ? 1 : 2 ))" -c "$c" -d 10s -s bench/receive.lua "$url")"
done
pending=$(curl -fs "$url/api/fetchMails" | grep -o '"id"' | wc -l)
ms=()
for _ in $(seq "$runs"); do
  t0=$(date +%s%N); curl -fs "$url/api/fetchMails" -o /dev/null; t1=$(date +%s%N); ms+=($(( (t1 - t0) / 1000000 )))
done
echo "== GET /api/fetchMails with $pending pending: $(printf '%s\n' "${ms[@]}" | median) ms, daemon resident $(rss) MiB after"
stop

echo "== generating $tickets tickets …"
"$work/gendb" -data "$work/big" -tickets "$tickets"
startup "$work/big" >"$work/s1"
echo "== start-up with $tickets tickets: $(cat "$work/s1")"

start "$work/big"
cookie=$(curl -fs -o /dev/null -c - -d 'username=bench&password=bench-password' "$url/login" | awk '$6 == "tt_session" {print $7}')
ticket=$(curl -fs -b "tt_session=$cookie" "$url/dashboard" | grep -o '/ticket?id=[a-z2-7]*' | head -1)
for page in "$ticket" /tickets /dashboard; do
  echo "== GET $page with $tickets tickets, 1 connection (10 s): $(wrkline -t 1 -c 1 -d 10s -H "Cookie: tt_session=$cookie" "$url$page")"
done
echo "== daemon resident after the page runs: $(rss) MiB"
stop
