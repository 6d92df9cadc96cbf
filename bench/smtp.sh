#!/usr/bin/env bash
# SMTP ingest throughput of the gateway, durable (each 250 after the commit
# of the message to the inbound queue in SQLite with synchronous=FULL),
# measured with Postfix's smtp-source at 1 and 10 sessions, in turn in one
# run, beside:
#  - a private Postfix (its own config_directory and queue_directory, on
#    loopback, every accepted mail put on hold so that it stays queued; its
#    queue files are counted to prove they were stored), which fsyncs each
#    queue file before its 250: the durable peer;
#  - smtp-sink, which stores nothing: the ceiling of the protocol.
# The three run in turn, run by run, in an order that alternates (ticketd
# first in odd runs, last in even ones), all three with the same
# smtp-source arguments. Prints the median of RUNS runs of each and the
# ratios, each ratio the median of the runs' own ratios (ticketd's run
# against the peer's run of the same round, so that a change in the shared
# machine's load between rounds cancels out), the range of those per-run
# ratios, and, per target (ticketd >= 2 x Postfix and >= 0.5 x smtp-sink at
# 10 sessions), met or missed; the machine's load average before and
# after. ticketd's figure is its acceptance rate (250s a second, as for
# the peers); after each of its runs the script waits until the inbound
# queue is drained (every accepted message a ticket) and prints the drain
# time, the end-to-end rate (messages / (sending + draining)) and the
# daemon's CPU time per accepted message too. With PROFILE_DIR set, a CPU
# profile of the daemon while it accepts mail is written there for each
# concurrency (from --debug-listen): 3 s inside an extra, unmeasured burst
# of 10 x MESSAGES before the runs, while the worker still leaves the
# queue alone (it holds off for 5 s while mail comes in).
#
# TICKETD_BIN=path runs that ticketd binary instead of building this
# checkout (for paired runs against an older build).
#
# Needs: Go, Debian's postfix package (postfix, smtp-source, smtp-sink), and
# root for the private Postfix (it runs its daemons as the user postfix).
# Usage: bench/smtp.sh [RUNS] [MESSAGES]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
msgs=${2:-2000}
for p in smtp-source smtp-sink postfix; do
  command -v "$p" >/dev/null || { echo "$p not installed (Debian package postfix)" >&2; exit 1; }
done

source bench/common.sh
chmod 755 "$work" # Postfix's daemons run as the user postfix
pf=$work/postfix
cleanup() {
  [ -f "$pf/etc/main.cf" ] && postfix -c "$pf/etc" stop >/dev/null 2>&1 || true
  stop
  kill $(jobs -p) 2>/dev/null
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
if [ -n "${TICKETD_BIN:-}" ]; then
  cp "$TICKETD_BIN" "$work/ticketd"
else
  go build -o "$work/ticketd" ./cmd/ticketd
fi

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
# queued: rows in ticketd's inbound queue.
queued() {
  python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1], timeout=30).execute("SELECT COUNT(*) FROM inbound_queue").fetchone()[0])' "$work/data/ticketd.db"
}
# cputicks: the daemon's CPU time so far (user + system) in clock ticks.
cputicks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)
# trate CONCURRENCY: one smtp-source run against ticketd, then the wait
# for its inbound queue to drain; prints "accepted/s drain-seconds
# end-to-end/s cpu-us/msg", the last the daemon's CPU time per accepted
# message while it accepted (less at the mercy of the machine's load than
# the rates).
trate() {
  local start end drained c0 c1
  c0=$(cputicks)
  start=$(date +%s.%N)
  smtp-source -s "$1" -m "$msgs" -l 2048 -f customer@example.com -t support@localhost 127.0.0.1:"$tp"
  end=$(date +%s.%N)
  c1=$(cputicks)
  while [ "$(queued)" != 0 ]; do sleep 0.02; done
  drained=$(date +%s.%N)
  echo "$msgs / ($end - $start); $drained - $end; $msgs / ($drained - $start); ($c1 - $c0) * 1000000 / $hz / $msgs" | bc -l | paste -sd ' '
}
# ratios EXPR / spread EXPR: the median / the range of EXPR (awk, over
# the columns of $work/r$c, one line a round).
ratios() { awk "{print $1}" "$work/r$c" | median; }
spread() { awk "{print $1}" "$work/r$c" | sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%.2f-%.2f", lo, hi}'; }

tp=$(port); hp=$(port); dp=$(port)
"$work/ticketd" --data "$work/data" --http 127.0.0.1:"$hp" --smtp 127.0.0.1:"$tp" --log-level error \
  --smtp-max-connections-per-address 64 --debug-listen 127.0.0.1:"$dp" \
  >/dev/null 2>"$work/ticketd.log" &
pid=$!
wait_port "$tp"

sp=$(port)
smtp-sink -u nobody 127.0.0.1:"$sp" 256 &
wait_port "$sp"

# The private Postfix: everything under $pf, smtpd on 127.0.0.1:$pp only,
# no chroot, every message held after its DATA (check_client_access
# static:HOLD), so the queue manager delivers nothing.
pp=$(port)
mkdir -p "$pf/etc" "$pf/spool" "$pf/data"
chown postfix "$pf/data"
cat >"$pf/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $pf/spool
data_directory = $pf/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = bench.localhost
mydestination = localhost
local_recipient_maps =
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
smtpd_recipient_restrictions = permit_mynetworks, reject
smtpd_end_of_data_restrictions = check_client_access static:HOLD
default_process_limit = 200
maillog_file = $pf/maillog
maillog_file_prefixes = $pf
EOF
awk -v p="$pp" 'BEGIN {OFS = "\t"} /^#/ || /^[ \t]/ || NF < 8 {print; next}
  {if ($1 == "smtp" && $2 == "inet") $1 = "127.0.0.1:" p; $5 = "n"; print}' \
  /etc/postfix/master.cf >"$pf/etc/master.cf"
postfix -c "$pf/etc" start >/dev/null 2>&1 || { echo "private Postfix did not start; see $pf/maillog" >&2; exit 1; }
wait_port "$pp"

# profile CONCURRENCY: a CPU profile of the daemon over 3 s of a burst of
# 10 x MESSAGES at CONCURRENCY sessions (from 0.5 s into it), then the wait
# for the queue to drain.
profile() {
  [ -n "${PROFILE_DIR:-}" ] || return 0
  mkdir -p "$PROFILE_DIR"
  smtp-source -s "$1" -m $((msgs * 10)) -l 2048 -f customer@example.com -t support@localhost 127.0.0.1:"$tp" &
  local burst=$!
  sleep 0.5
  curl -fs -o "$PROFILE_DIR/smtp-$1.pprof" "http://127.0.0.1:$dp/debug/pprof/profile?seconds=3" || true
  wait "$burst"
  while [ "$(queued)" != 0 ]; do sleep 0.1; done
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-28s %11s %11s %11s %10s %10s %9s %11s %10s %10s %9s\n' "sessions" "ticketd/s" "Postfix/s" "smtp-sink/s" "x Postfix" "x sink" \
  "drain s" "end-to-end/s" "x Postfix" "x sink" "CPU us/msg"
for c in 1 10; do
  profile "$c"
  # The three in turn, run by run, ticketd first or last by turns, so
  # that a change in the shared machine's load meets them alike.
  for i in $(seq "$runs"); do
    if [ $((i % 2)) = 1 ]; then trate "$c" >>"$work/t$c"; fi
    rate "$pp" "$c" >>"$work/p$c"
    rate "$sp" "$c" >>"$work/s$c"
    if [ $((i % 2)) = 0 ]; then trate "$c" >>"$work/t$c"; fi
  done
  t=$(cut -d' ' -f1 "$work/t$c" | median)
  dr=$(cut -d' ' -f2 "$work/t$c" | median)
  e=$(cut -d' ' -f3 "$work/t$c" | median)
  cpu=$(cut -d' ' -f4 "$work/t$c" | median)
  p=$(median <"$work/p$c")
  s=$(median <"$work/s$c")
  # One line a round: accepted/s, end-to-end/s, Postfix/s, smtp-sink/s.
  paste -d' ' <(cut -d' ' -f1,3 "$work/t$c") "$work/p$c" "$work/s$c" >"$work/r$c"
  xp=$(ratios '$1 / $3'); xs=$(ratios '$1 / $4')
  ep=$(ratios '$2 / $3'); es=$(ratios '$2 / $4')
  printf '%-28s %11.0f %11.0f %11.0f %10.2f %10.2f %9.2f %11.0f %10.2f %10.2f %9.0f\n' "$c (median of $runs x $msgs)" "$t" "$p" "$s" "$xp" "$xs" \
    "$dr" "$e" "$ep" "$es" "$cpu"
  echo "  per-run ratios: x Postfix $(spread '$1 / $3'), x smtp-sink $(spread '$1 / $4')"
done
verdict() { if [ "$(echo "$1 >= $2" | bc -l)" = 1 ]; then echo met; else echo MISSED; fi; }
echo "target: ticketd >= 2 x Postfix at 10 sessions: $(printf '%.2f' "$xp") -> $(verdict "$xp" 2)"
echo "target: ticketd >= 0.5 x smtp-sink at 10 sessions: $(printf '%.2f' "$xs") -> $(verdict "$xs" 0.5)"
echo "(end-to-end at 10 sessions, accepted and made tickets: $(printf '%.2f' "$ep") x Postfix, $(printf '%.2f' "$es") x smtp-sink)"

echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
sleep 1
held=$(find "$pf/spool/hold" -type f | wc -l)
echo "Postfix queue files held: $held (expected $((runs * msgs * 2)))"
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
n=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT COUNT(*) FROM tickets").fetchone()[0])' "$work/data/ticketd.db")
extra=0
[ -z "${PROFILE_DIR:-}" ] || extra=$((msgs * 20)) # the profiles' bursts
echo "tickets stored: $n (expected $((runs * msgs * 2 + extra)); every accepted message)"
