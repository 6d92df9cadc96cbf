#!/usr/bin/env bash
# The SMTP gateway's CPU time per accepted message at 10 sessions, this
# checkout against a build of commit BEFORE, in alternating pairs: each
# run starts a fresh daemon, warms it with 500 messages, waits until the
# queue worker has made them tickets, then measures the daemon's CPU time
# (user + system) and the acceptance rate over one smtp-source run of
# MESSAGES messages (2 KiB, one connection each, as bench/smtp.sh sends).
# Prints every pair and the medians. CPU time per message is less at the
# mercy of a shared machine's load than the rates, but still noisy: use
# several pairs.
#
# Needs: Go, Debian's postfix package (smtp-source).
# Usage: BEFORE=REV bench/smtpcpu.sh [PAIRS] [MESSAGES] (defaults 6, 10000)
set -euo pipefail
cd "$(dirname "$0")/.."
pairs=${1:-6}
msgs=${2:-10000}
: "${BEFORE:?set BEFORE to the commit to compare with}"
command -v smtp-source >/dev/null || { echo "smtp-source not installed (Debian package postfix)" >&2; exit 1; }

source bench/common.sh
source bench/pairs.sh
go build -o "$work/ticketd-now" ./cmd/ticketd
build_before go build -o "$work/ticketd-before" ./cmd/ticketd

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
hport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
hz=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
send() { smtp-source -s 10 -m "$1" -l 2048 -f customer@example.com -t support@localhost 127.0.0.1:"$port"; }

# run KIND: prints "cpu-us/msg messages/s" of one measured run.
run() {
  rm -rf "$work/data"
  "$work/ticketd-$1" --data "$work/data" --http 127.0.0.1:"$hport" --smtp 127.0.0.1:"$port" --log-level error \
    --smtp-max-connections-per-address 64 >/dev/null 2>>"$work/ticketd.log" &
  pid=$!
  for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.1; done
  send 500
  sleep 6 # the worker holds off for 5 s while mail comes in
  local c0 c1 t0 t1
  c0=$(ticks) t0=$(date +%s.%N)
  send "$msgs"
  c1=$(ticks) t1=$(date +%s.%N)
  stop
  echo "($c1 - $c0) * 1000000 / $hz / $msgs; $msgs / ($t1 - $t0)" | bc -l | xargs printf '%.0f %.0f\n'
}

pairs "$pairs" us/msg messages/s
