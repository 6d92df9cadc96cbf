// Package store groups the persistence packages of Trivial Tickets. Its own
// code is what every store shares: loading the numbered, embedded schema
// migrations (LoadMigrations) and ErrSchemaTooNew; Unavailable, with which
// the stores mark errors that mean "try again later" as
// core.ErrUnavailable; and Guard, which gives each transaction of the
// daemon a time budget and reports the store's health.
//
// Each sub-package implements core.Store, the interface that package core
// defines:
//
//   - store/sqlite: the embedded default (pure Go, one file in the data
//     directory, nothing to install);
//   - store/postgres: PostgreSQL with pgx, for several daemons on one
//     database (store/postgres/pgtest starts a private server for tests);
//   - store/sqlrows: what the two SQL stores share on the read side (the
//     column lists and the scans of rows into core's values), so that the
//     dialects keep only the SQL that differs;
//   - store/storetest: the conformance suite that every store must pass,
//     covering each core.Tx method and core's rules end to end on top of the
//     store.
//
// Store packages import core and this package, nothing else of the project;
// they implement no domain rules (those live in core) and must not be
// imported by core.
//
// Adding a migration: put the next numbered file (NNNN_what.sql) into both
// store/sqlite/migrations and store/postgres/migrations, with the same number
// and meaning in each dialect. Migrations are append-only: never edit or
// renumber one that was released.
package store
