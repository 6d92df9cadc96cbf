#!/usr/bin/env bash
# ticketd beside the original trivial-tickets, in turn, in one run, with the
# same requests:
#  1. GET /api/fetchMails over HTTPS from the real daemons with about
#     PENDING mails pending (each made by a POST /api/receive that opened a
#     ticket), both running, fetched from in turn: seconds per fetch
#     (median of RUNS each), time per mail, the daemon's CPU time per
#     mail, and its peak resident memory (VmHWM);
#  2. SMTP ingest, durable, beside a private Postfix and smtp-sink at 1 and
#     10 sessions (bench/smtp.sh; the original has no SMTP door); skipped
#     when SMTP_MESSAGES is 0;
#  3. the ticket page over HTTPS, as the customer (no session) and as an
#     agent (logged in), at 1 and 8 connections (wrk, RUNS x 10 s each, the
#     daemons in turn): ticketd with TICKETS tickets (bench/gendb), the
#     original with ORIG_TICKETS made by POST /api/receive (it keeps every
#     ticket in memory, and its agent page lists all of them).
# Prints a line per target saying met or missed.
#
# SECTIONS (environment, default "fetch smtp pages") picks sections;
# GENDB_DATA names a data directory that bench/gendb already filled, to
# reuse instead of generating TICKETS tickets again (the page run writes to
# it: the agent's view marks the ticket seen).
#
# ORIGINAL is a checkout of github.com/mortenterhart/trivial-tickets; it is
# copied and built in a temporary directory (a go.mod is written there when
# it has none; its three modules come through the Go module proxy), and
# listens on localhost only (its HTTP-to-HTTPS redirect tries localhost:80).
# Nothing of it is kept.
#
# Needs: Go, python3, curl, Debian's postfix and wrk. Usage:
#   bench/sidebyside.sh ORIGINAL [PENDING] [RUNS] [SMTP_MESSAGES] [TICKETS] [ORIG_TICKETS]
set -euo pipefail
[ $# -ge 1 ] && [ -d "$1" ] || { echo "usage: $0 ORIGINAL_CHECKOUT [PENDING] [RUNS] [SMTP_MESSAGES] [TICKETS] [ORIG_TICKETS]" >&2; exit 2; }
orig=$(cd "$1" && pwd)
cd "$(dirname "$0")/.."
pending=${2:-20000}
runs=${3:-3}
smtpmsgs=${4:-2000}
tickets=${5:-1000000}
origtickets=${6:-1000}
sections=" ${SECTIONS:-fetch smtp pages} "
has() { [[ $sections == *" $1 "* ]]; }

source bench/common.sh

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

# cpu PID: the daemon's CPU time so far (user and system), in clock ticks.
cpu() { awk '{print $14 + $15}' /proc/"$1"/stat; }

# fetchone URL: the seconds one fetch took.
fetchone() { curl -ksf -o /dev/null -w '%{time_total}' "$1/api/fetchMails"; }

if has fetch; then
# Both daemons are filled first and then fetched from in turn, RUNS times
# each (which one first alternates), so that a change in the load of a
# shared machine meets both alike; each daemon's CPU time is counted over
# its own fetches.
p=$(port)
"$work/ticketd" --data "$work/data" --http 127.0.0.1:"$p" --smtp "" --no-api-token --log-level error \
  >/dev/null 2>>"$work/ticketd.log" &
tpid=$!
turl=https://127.0.0.1:$p
p=$(port)
mkdir -p "$work/o/tickets" "$work/o/mails"
(cd "$work/orig" && exec "$work/ticketsystem" -port "$p" -tickets "$work/o/tickets" -mails "$work/o/mails" \
  -users files/users/users.json -cert ssl/server.cert -key ssl/server.key -web www -log-level error) \
  >/dev/null 2>>"$work/orig.log" &
opid=$!
ourl=https://localhost:$p
stopboth() { kill "$tpid" "$opid" 2>/dev/null; wait "$tpid" "$opid" 2>/dev/null || true; }
trap 'stopboth; stop; rm -rf "$work"' EXIT
up "$turl/healthz"
up "$ourl/"
fill "$turl" "$pending"
fill "$ourl" "$pending"
tn=$(curl -ksf "$turl/api/fetchMails" | grep -o '"id": *"' | wc -l)
on=$(curl -ksf "$ourl/api/fetchMails" | grep -o '"id": *"' | wc -l)
tv=$(curl -ksf -o /dev/null -w '%{http_version}' "$turl/api/fetchMails")
ov=$(curl -ksf -o /dev/null -w '%{http_version}' "$ourl/api/fetchMails")
tc=0 oc=0 tss=() oss=()
fetcht() { c0=$(cpu "$tpid"); tss+=("$(fetchone "$turl")"); tc=$((tc + $(cpu "$tpid") - c0)); }
fetcho() { c0=$(cpu "$opid"); oss+=("$(fetchone "$ourl")"); oc=$((oc + $(cpu "$opid") - c0)); }
for i in $(seq "$runs"); do
  # Which goes first alternates, so that neither always follows the other.
  if [ $((i % 2)) = 1 ]; then fetcht; fetcho; else fetcho; fetcht; fi
done
pid=$tpid
tm=$(hwm)
pid=$opid
om=$(hwm)
pid=
stopboth
ts=$(printf '%s\n' "${tss[@]}" | median) os=$(printf '%s\n' "${oss[@]}" | median)
tc=$(echo "$tc / $(getconf CLK_TCK) / $runs" | bc -l) oc=$(echo "$oc / $(getconf CLK_TCK) / $runs" | bc -l)

per() { echo "$1 * 1000000 / $2" | bc -l; }
tpm=$(per "$ts" "$tn"); opm=$(per "$os" "$on")
echo "== fetchMails over HTTPS (HTTP/$tv and HTTP/$ov), median of $runs fetches from each in turn"
printf '%-22s %8s %8s %12s %16s %10s  %s\n' "" "mails" "s" "µs per mail" "CPU µs per mail" "peak MiB" "each fetch, s"
printf '%-22s %8d %8.3f %12.2f %16.2f %10s  %s\n' "ticketd" "$tn" "$ts" "$tpm" "$(per "$tc" "$tn")" "$tm" "$(echo "${tss[@]}" | tr ' ' ,)"
printf '%-22s %8d %8.3f %12.2f %16.2f %10s  %s\n' "original" "$on" "$os" "$opm" "$(per "$oc" "$on")" "$om" "$(echo "${oss[@]}" | tr ' ' ,)"
r=$(echo "$tpm / $opm" | bc -l)
echo "target: ticketd's time per mail <= 0.5 x the original's: $(printf '%.2f' "$r") -> $([ "$(echo "$r <= 0.5" | bc -l)" = 1 ] && echo met || echo MISSED)"
echo "        (the daemons' CPU per mail: $(printf '%.2f' "$(echo "$tc * $on / ($oc * $tn)" | bc -l)") x)"
trap 'stop; rm -rf "$work"' EXIT

fi

if has smtp && [ "$smtpmsgs" -gt 0 ]; then
echo "== SMTP ingest, durable"
bench/smtp.sh "$runs" "$smtpmsgs"
fi

if has pages; then
# wrkrate ARGS…: requests per second of one wrk run; non-2xx answers or
# connection errors fail the script (the original's agent page, which lists
# every ticket, may take longer than wrk's default timeout of 2 s).
wrkrate() {
  local out
  out=$(wrk --timeout 10s "$@")
  if echo "$out" | grep -q 'Non-2xx' || echo "$out" | awk '/Socket errors/ {gsub(/,/, ""); if ($4 + $6 + $8 + $10) e = 1} END {exit !e}'; then
    echo "wrk $*: $out" >&2
    exit 1
  fi
  echo "$out" | awk '/Requests\/sec/ {print $2}'
}
# rates NAME URL [COOKIE]: "NAME CONNECTIONS RUN REQ/S" lines for 1 and 8
# connections, RUNS runs of 10 s each.
rates() {
  local c i r h=()
  [ -n "${3:-}" ] && h=(-H "Cookie: $3")
  for c in 1 8; do
    for i in $(seq "$runs"); do
      r=$(wrkrate -t "$(( c < 2 ? 1 : 2 ))" -c "$c" -d 10s "${h[@]}" "$2")
      echo "$1 $c $i $r"
    done
  done
}

# ticketd: TICKETS tickets from bench/gendb; the agent "bench" has a
# hundred of them, and the page measured is the first on its dashboard.
big=${GENDB_DATA:-}
if [ -z "$big" ]; then
  big=$work/big
  echo "== generating $tickets tickets …"
  go run ./bench/gendb -data "$big" -tickets "$tickets" >/dev/null
fi
p=$(port)
"$work/ticketd" --data "$big" --http 127.0.0.1:"$p" --smtp "" --no-api-token --log-level error \
  >/dev/null 2>>"$work/ticketd.log" &
pid=$!
url=https://127.0.0.1:$p
up "$url/healthz"
cookie=tt_session=$(curl -ksf -o /dev/null -c - -d 'username=bench&password=bench-password' "$url/login" | awk '$6 == "tt_session" {print $7}')
curl -ksf -b "$cookie" -o "$work/page" "$url/dashboard"
ticket=$(grep -o '/ticket?id=[a-z2-7]*' "$work/page" | sed -n 1p)
[ -n "$ticket" ] || { echo "no ticket on the bench agent's dashboard" >&2; exit 1; }
curl -ksf -b "$cookie" -o "$work/page" "$url$ticket"
grep -q 'Reply to customer' "$work/page" || { echo "the agent's ticket page lacks the answer form" >&2; exit 1; }
{ rates "ticketd-customer" "$url$ticket"; rates "ticketd-agent" "$url$ticket" "$cookie"; } >>"$work/pages"
stop

# The original: ORIG_TICKETS tickets by POST /api/receive, and an agent
# "admin" with a password of ours (the users file of the checkout has
# hashes of an unknown one).
(cd "$work/orig" && mkdir -p benchhash && cat >benchhash/main.go <<'GO'
package main

import (
	"fmt"
	"os"

	"golang.org/x/crypto/bcrypt"
)

func main() {
	h, err := bcrypt.GenerateFromPassword([]byte(os.Args[1]), bcrypt.MinCost)
	if err != nil {
		panic(err)
	}
	fmt.Print(string(h))
}
GO
go run ./benchhash bench-password) >"$work/hash"
printf '{"admin": {"id": "bench-admin", "name": "Admin", "username": "admin", "mail": "admin@example.com", "hash": "%s", "isOnHoliday": false}}\n' \
  "$(cat "$work/hash")" >"$work/users.json"
p=$(port)
mkdir -p "$work/op/tickets" "$work/op/mails"
(cd "$work/orig" && exec "$work/ticketsystem" -port "$p" -tickets "$work/op/tickets" -mails "$work/op/mails" \
  -users "$work/users.json" -cert ssl/server.cert -key ssl/server.key -web www -log-level error) \
  >/dev/null 2>>"$work/orig.log" &
pid=$!
url=https://localhost:$p
up "$url/"
fill "$url" "$origtickets"
oticket=$(cd "$work/op/tickets" && for f in *.json; do echo "/ticket?id=${f%.json}"; break; done)
# A customer's browser sends back the session cookie the original sets on
# the first visit; without one, every request makes a session, and two
# connections crash the original (concurrent map writes).
curl -ksf -o /dev/null -c "$work/customer.jar" "$url/"
ccookie=session=$(awk '$6 == "session" {print $7}' "$work/customer.jar")
jar=$work/orig.jar
curl -ksf -o /dev/null -c "$jar" "$url/"
curl -ksf -o /dev/null -b "$jar" -c "$jar" -d 'username=admin&password=bench-password' "$url/login"
ocookie=session=$(awk '$6 == "session" {print $7}' "$jar")
curl -ksf -b "$ocookie" -o "$work/page" "$url$oticket"
grep -q 'Merge Ticket with' "$work/page" || { echo "the original's agent login failed" >&2; exit 1; }
{ rates "original-customer" "$url$oticket" "$ccookie"; rates "original-agent" "$url$oticket" "$ocookie"; } >>"$work/pages"
stop

echo "== ticket page over HTTPS, req/s (runs of 10 s): ticketd with $tickets tickets, the original with $origtickets"
printf '%-10s %5s %-24s %-24s %7s\n' "page" "conns" "ticketd" "original" "ratio"
for who in customer agent; do
  for c in 1 8; do
    ours=$(awk -v n="ticketd-$who" -v c="$c" '$1 == n && $2 == c {print $4}' "$work/pages")
    theirs=$(awk -v n="original-$who" -v c="$c" '$1 == n && $2 == c {print $4}' "$work/pages")
    om=$(echo "$ours" | median); tm=$(echo "$theirs" | median)
    r=$(echo "$om / $tm" | bc -l)
    printf '%-10s %5d %-24s %-24s %7.2f\n' "$who" "$c" "$(echo $ours | tr ' ' ',')" "$(echo $theirs | tr ' ' ',')" "$r"
    echo "target: $who's ticket page at $c connection(s), ticketd/original (medians) >= 1: $(printf '%.2f' "$r") -> $([ "$(echo "$r >= 1" | bc -l)" = 1 ] && echo met || echo MISSED)"
  done
done
fi
