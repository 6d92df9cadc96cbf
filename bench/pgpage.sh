#!/usr/bin/env bash
# The agent's ticket page on PostgreSQL against SQLite (the paired
# benchmark StoresPaired/ticket-page-100k: both stores asked in turn,
# request by request, 100,000 tickets, PostgreSQL durable), this checkout
# against a build of commit BEFORE, the two builds run alternately ROUNDS
# times. Prints each run's PostgreSQL and SQLite median times and their
# ratio, and the median ratio of each build: the ratio of one run moves
# with the machine's load, so compare builds measured in turn.
#
# Needs: Go, postgresql-15 (each run starts a private server).
# Usage: BEFORE=REV bench/pgpage.sh [ROUNDS] (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
: "${BEFORE:?set BEFORE to the commit to compare with}"
[ -x /usr/lib/postgresql/15/bin/initdb ] || { echo "PostgreSQL not installed (Debian package postgresql-15)" >&2; exit 1; }

source bench/common.sh
go test -c -o "$work/now.test" ./cmd/ticketd
build_before go test -c -o "$work/before.test" ./cmd/ticketd

# run BUILD: prints "postgres-us sqlite-us ratio" of one run.
run() {
  (cd cmd/ticketd && PGTEST_DURABLE=1 "$work/$1.test" -test.run '^$' -test.bench 'StoresPaired/^ticket-page-100k$' \
    -test.benchtime 2000x) | awk '/^BenchmarkStoresPaired/ {
      for (i = 3; i < NF; i++) m[$(i + 1)] = $i
      printf "%.0f %.0f %.3f\n", m["postgres-µs/op"], m["sqlite-µs/op"], m["postgres/sqlite"] }'
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
: >"$work/before.r" >"$work/now.r"
for i in $(seq "$rounds"); do
  for b in before now; do
    line=$(run "$b")
    echo "${line##* }" >>"$work/$b.r"
    set -- $line
    echo "round $i $b: PostgreSQL $1 us, SQLite $2 us, ratio $3"
  done
done
echo "median ratio: before $(median <"$work/before.r"), now $(median <"$work/now.r") (target <= 1.5)"
