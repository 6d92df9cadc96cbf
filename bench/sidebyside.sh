#!/usr/bin/env bash
# ticketd beside the original trivial-tickets, in turn, in one run, with the
# same requests:
#  1. GET /api/fetchMails over HTTPS from the real daemons with about
#     PENDING mails pending (each made by a POST /api/receive that opened a
#     ticket): seconds per fetch (median of RUNS), time per mail, the
#     daemon's CPU time per mail, and its peak resident memory (VmHWM);
#  2. SMTP ingest, durable, beside a private Postfix and smtp-sink at 1 and
#     10 sessions (bench/smtp.sh; the original has no SMTP door); skipped
#     when SMTP_MESSAGES is 0.
# Prints a line per target saying met or missed.
#
# ORIGINAL is a checkout of github.com/mortenterhart/trivial-tickets; it is
# copied and built in a temporary directory (a go.mod is written there when
# it has none; its three modules come through the Go module proxy), and
# listens on localhost only (its HTTP-to-HTTPS redirect tries localhost:80).
# Nothing of it is kept.
#
# Needs: Go, python3, curl, Debian's postfix. Usage:
#   bench/sidebyside.sh ORIGINAL [PENDING] [RUNS] [SMTP_MESSAGES]
set -euo pipefail
[ $# -ge 1 ] && [ -d "$1" ] || { echo "usage: $0 ORIGINAL_CHECKOUT [PENDING] [RUNS] [SMTP_MESSAGES]" >&2; exit 2; }
orig=$(cd "$1" && pwd)
cd "$(dirname "$0")/.."
pending=${2:-20000}
runs=${3:-3}
smtpmsgs=${4:-2000}

work=$(mktemp -d)
pid=
stop() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; pid=; fi; }
trap 'stop; rm -rf "$work"' EXIT

go build -o "$work/ticketd" ./cmd/ticketd
cp -r "$orig" "$work/orig"
(
  cd "$work/orig"
  if [ ! -f go.mod ]; then
    printf 'module github.com/mortenterhart/trivial-tickets\n\ngo 1.21\n' >go.mod
    go mod tidy >/dev/null 2>&1
  fi
  go build -o "$work/ticketsystem" ./cmd/ticketsystem
)

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
hwm() { awk '/VmHWM/ {printf "%.0f", $2/1024}' /proc/"$pid"/status; }
up() { for _ in $(seq 300); do curl -ks -o /dev/null "$1" && return; sleep 0.05; done; echo "$1 not up" >&2; exit 1; }

# fill URL N: N POST /api/receive, each from a new sender, over HTTPS on
# one keep-alive connection (the original dies of concurrent map writes at
# two connections).
fill() {
  python3 - "$1" "$2" <<'EOF'
import http.client, json, ssl, sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
c = http.client.HTTPSConnection(u.hostname, u.port, context=ssl._create_unverified_context())
for i in range(int(sys.argv[2])):
    body = json.dumps({"from": "s%d@example.com" % i, "subject": "load %d" % i, "message": "Hello from the side-by-side bench."})
    c.request("POST", "/api/receive", body, {"Content-Type": "application/json"})
    r = c.getresponse()
    r.read()
    if r.status != 200:
        sys.exit("POST /api/receive: status %d" % r.status)
EOF
}

# cpu: the daemon's CPU time so far (user and system), in clock ticks.
cpu() { awk '{print $14 + $15}' /proc/"$pid"/stat; }

# fetch URL: "SECONDS MAILS CPU_SECONDS" of RUNS fetches: the median time
# and the daemon's CPU time per fetch (steadier than the time on a machine
# shared with other work).
fetch() {
  local s=() n c0 c1
  n=$(curl -ksf "$1/api/fetchMails" | grep -o '"id": *"' | wc -l)
  c0=$(cpu)
  for _ in $(seq "$runs"); do
    s+=("$(curl -ksf -o /dev/null -w '%{time_total}' "$1/api/fetchMails")")
  done
  c1=$(cpu)
  echo "$(printf '%s\n' "${s[@]}" | median) $n $(echo "($c1 - $c0) / $(getconf CLK_TCK) / $runs" | bc -l)"
}

p=$(port)
"$work/ticketd" --data "$work/data" --http 127.0.0.1:"$p" --smtp "" --no-api-token --log-level error \
  >/dev/null 2>>"$work/ticketd.log" &
pid=$!
up "https://127.0.0.1:$p/healthz"
fill "https://127.0.0.1:$p" "$pending"
read -r ts tn tc <<<"$(fetch "https://127.0.0.1:$p")"
tm=$(hwm)
stop

p=$(port)
mkdir -p "$work/o/tickets" "$work/o/mails"
(cd "$work/orig" && exec "$work/ticketsystem" -port "$p" -tickets "$work/o/tickets" -mails "$work/o/mails" \
  -users files/users/users.json -cert ssl/server.cert -key ssl/server.key -web www -log-level error) \
  >/dev/null 2>>"$work/orig.log" &
pid=$!
up "https://localhost:$p/"
fill "https://localhost:$p" "$pending"
read -r os on oc <<<"$(fetch "https://localhost:$p")"
om=$(hwm)
stop

per() { echo "$1 * 1000000 / $2" | bc -l; }
tpm=$(per "$ts" "$tn"); opm=$(per "$os" "$on")
echo "== fetchMails over HTTPS, median of $runs fetches"
printf '%-22s %8s %8s %12s %16s %10s\n' "" "mails" "s" "µs per mail" "CPU µs per mail" "peak MiB"
printf '%-22s %8d %8.3f %12.2f %16.2f %10s\n' "ticketd" "$tn" "$ts" "$tpm" "$(per "$tc" "$tn")" "$tm"
printf '%-22s %8d %8.3f %12.2f %16.2f %10s\n' "original" "$on" "$os" "$opm" "$(per "$oc" "$on")" "$om"
r=$(echo "$tpm / $opm" | bc -l)
echo "target: ticketd's time per mail <= 0.5 x the original's: $(printf '%.2f' "$r") -> $([ "$(echo "$r <= 0.5" | bc -l)" = 1 ] && echo met || echo MISSED)"
echo "        (the daemons' CPU per mail: $(printf '%.2f' "$(echo "$tc * $on / ($oc * $tn)" | bc -l)") x)"

[ "$smtpmsgs" -gt 0 ] || exit 0
echo "== SMTP ingest, durable"
bench/smtp.sh "$runs" "$smtpmsgs"
