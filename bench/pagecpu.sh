#!/usr/bin/env bash
# The customer's ticket page at 1 connection (wrk -c 1, plain HTTP, the
# page served from the page cache after its version check), this checkout
# against a build of commit BEFORE, in alternating pairs on one database
# of TICKETS tickets (bench/gendb): each run starts a fresh daemon, warms it
# for 2 s, then measures 6 s. Prints each run's requests/s and the daemon's
# CPU time (user + system) per request, and the medians: the CPU per
# request is less at the mercy of a shared machine's load than the rate.
#
# Needs: Go, curl, Debian's wrk.
# Usage: BEFORE=REV bench/pagecpu.sh [PAIRS] [TICKETS] (defaults 5, 100000)
set -euo pipefail
cd "$(dirname "$0")/.."
pairs=${1:-5}
tickets=${2:-100000}
: "${BEFORE:?set BEFORE to the commit to compare with}"
command -v wrk >/dev/null || { echo "wrk not installed (Debian package wrk)" >&2; exit 1; }

source bench/common.sh
source bench/pairs.sh
go build -o "$work/ticketd-now" ./cmd/ticketd
go build -o "$work/gendb" ./bench/gendb
build_before go build -o "$work/ticketd-before" ./cmd/ticketd
"$work/gendb" -data "$work/data" -tickets "$tickets" >/dev/null

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$port
hz=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }

start() {
  "$work/ticketd-$1" --data "$work/data" --http 127.0.0.1:"$port" --no-tls --smtp "" --no-api-token \
    --log-level error >/dev/null 2>>"$work/ticketd.log" &
  pid=$!
  until curl -fs "$url/healthz" >/dev/null 2>&1; do sleep 0.01; done
}

# The first ticket on the dashboard of gendb's agent.
start now
cookie=$(curl -fs -o /dev/null -c - -d 'username=bench&password=bench-password' "$url/login" | awk '$6 == "tt_session" {print $7}')
ticket=$(curl -fs -b "tt_session=$cookie" "$url/dashboard" | grep -o '/ticket?id=[a-z2-7]*' | head -1)
stop

# run KIND: prints "cpu-us/request requests/s" of one measured run.
run() {
  start "$1"
  wrk -t 1 -c 1 -d 2s "$url$ticket" >/dev/null
  local c0 c1 out
  c0=$(ticks)
  out=$(wrk -t 1 -c 1 -d 6s "$url$ticket")
  c1=$(ticks)
  stop
  echo "$out" | awk -v c="$((c1 - c0))" -v hz="$hz" '
    /requests in/ {n = $1} /Requests\/sec/ {r = $2}
    END {printf "%.1f %.0f\n", c * 1000000 / hz / n, r}'
}

pairs "$pairs" us/req req/s
