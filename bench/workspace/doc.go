// Package workspace holds the benchmarks of the agents' workspace on a
// database of many tickets made by bench/gendb: search for a rare and a
// common word, the first page of each view with its counts, and the ticket
// page, each as p50 and p99 latency of one operation at a time (one
// connection). bench/run.sh runs them on 1,000,000 tickets:
//
//	TICKETD_BENCH_DB=/path/ticketd.db go test ./bench/workspace -run '^$' -bench . -benchtime 200x
//
// BenchmarkPostgres copies that SQLite file into a private PostgreSQL
// server (as ticketd migrate-store does) and runs the same operations.
package workspace
