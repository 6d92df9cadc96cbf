#!/usr/bin/env bash
# POST /api/receive at 64 connections on the embedded default (SQLite), as
# bench/run.sh's section 3 measures it (wrk -t 2 -c 64 -d 10s -s
# bench/receive.lua against the real daemon, each request a new ticket),
# the daemon of this checkout and one built from commit BEFORE taking
# turns RUNS times, each run on a fresh data directory; prints every run
# (creations/s, p99), the medians and the ratio of the medians.
#
# Without BEFORE only this checkout runs. With PROFILE_DIR=DIR a CPU
# profile of each daemon over 5 s of its last run is written to
# DIR/receive-{before,now}.pprof (go tool pprof).
#
# Needs: Go, curl, Debian's wrk.
# Usage: [BEFORE=REV] bench/receive.sh [RUNS] (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
command -v wrk >/dev/null || { echo "wrk not installed (Debian package wrk)" >&2; exit 1; }

source bench/common.sh
go build -o "$work/ticketd-now" ./cmd/ticketd
kinds=(now)
if [ -n "${BEFORE:-}" ]; then
  build_before go build -o "$work/ticketd-before" ./cmd/ticketd
  kinds=(before now)
fi
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(freeport)
dport=$(freeport)
url=http://127.0.0.1:$port
# ms DURATION: wrk's latency (850.00us, 41.93ms, 1.02s) in milliseconds.
msecs() { awk -v d="$1" 'BEGIN {v = d + 0; if (d ~ /us$/) v /= 1000; else if (d ~ /ms$/) v += 0; else if (d ~ /m$/) v *= 60000; else if (d ~ /s$/) v *= 1000; printf "%.2f", v}'; }

# start KIND DATA: runs the daemon KIND on DATA as bench/run.sh does.
start() {
  "$work/ticketd-$1" --data "$2" --http 127.0.0.1:"$port" --no-tls --smtp "" --no-api-token --log-level error \
    --api-max-requests 128 --debug-listen 127.0.0.1:"$dport" >/dev/null 2>>"$work/ticketd.log" &
  pid=$!
  until curl -fs "$url/healthz" >/dev/null 2>&1; do sleep 0.005; done
}

: >"$work/errors"
declare -A rate p99
for i in $(seq "$runs"); do
  line="run $i:"
  for k in "${kinds[@]}"; do
    start "$k" "$work/data-$k-$i"
    prof=
    if [ -n "${PROFILE_DIR:-}" ] && [ "$i" = "$runs" ]; then
      mkdir -p "$PROFILE_DIR"
      (sleep 3; curl -fs -o "$PROFILE_DIR/receive-$k.pprof" "http://127.0.0.1:$dport/debug/pprof/profile?seconds=5") &
      prof=$!
    fi
    out=$(wrk --latency -t 2 -c 64 -d 10s -s bench/receive.lua "$url" 2>>"$work/errors")
    if [ -n "$prof" ]; then wait "$prof" || true; fi
    stop
    rm -rf "$work/data-$k-$i"
    echo "$out" | awk '/Socket errors/ {gsub(/,/, ""); print "socket errors", $0}' >>"$work/errors"
    r=$(echo "$out" | awk '/Requests\/sec/ {printf "%.0f", $2}')
    p=$(msecs "$(echo "$out" | awk '$1 == "99%" {print $2}')")
    rate[$k]+="$r " p99[$k]+="$p "
    line+=" $k $r/s p99 $p ms;"
  done
  echo "$line"
done
for k in "${kinds[@]}"; do
  echo "$k: median $(printf '%s\n' ${rate[$k]} | median)/s, median p99 $(printf '%s\n' ${p99[$k]} | median) ms"
done
if [ -n "${BEFORE:-}" ]; then
  echo "ratio of medians now/before: $(echo "scale=2; $(printf '%s\n' ${rate[now]} | median) / $(printf '%s\n' ${rate[before]} | median)" | bc -l)"
fi
echo "failed requests: $(grep -c . "$work/errors" || true)"
sort "$work/errors" | uniq -c | head -5
