#!/usr/bin/env bash
# SMTP ingest throughput of the gateway, durable (each 250 after the commit
# to SQLite with synchronous=FULL), measured with Postfix's smtp-source at
# concurrency 1 and 10, beside smtp-sink (which stores nothing) in the same
# run. Prints the median of RUNS runs of each.
#
# Needs: Go, Debian's postfix package (smtp-source, smtp-sink).
# Usage: bench/smtp.sh [RUNS] [MESSAGES]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
msgs=${2:-2000}
for p in smtp-source smtp-sink; do
  command -v "$p" >/dev/null || { echo "$p not installed (Debian package postfix)" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
go build -o "$work/ticketd" ./cmd/ticketd

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return; sleep 0.1; done; echo "port $1 not up" >&2; exit 1; }

# rate PORT CONCURRENCY: messages per second of one smtp-source run.
rate() {
  local start end
  start=$(date +%s.%N)
  smtp-source -s "$2" -m "$msgs" -l 2048 -f customer@example.com -t support@localhost 127.0.0.1:"$1"
  end=$(date +%s.%N)
  echo "$msgs / ($end - $start)" | bc -l
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

tp=$(port); hp=$(port)
"$work/ticketd" --data "$work/data" --http 127.0.0.1:"$hp" --smtp 127.0.0.1:"$tp" --log-level error \
  >/dev/null 2>"$work/ticketd.log" &
wait_port "$tp"
sp=$(port)
smtp-sink -u nobody 127.0.0.1:"$sp" 256 &
wait_port "$sp"

printf '%-28s %12s %12s %8s\n' "concurrency" "ticketd/s" "smtp-sink/s" "ratio"
for c in 1 10; do
  t=$(for _ in $(seq "$runs"); do rate "$tp" "$c"; done | median)
  s=$(for _ in $(seq "$runs"); do rate "$sp" "$c"; done | median)
  printf '%-28s %12.0f %12.0f %8.2f\n' "$c (median of $runs x $msgs)" "$t" "$s" "$(echo "$t / $s" | bc -l)"
done
n=$(ls -1 "$work/data" >/dev/null; echo "SELECT COUNT(*) FROM tickets;" | python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT COUNT(*) FROM tickets").fetchone()[0])' "$work/data/ticketd.db")
echo "tickets stored: $n (expected $((runs * msgs * 2)))"
