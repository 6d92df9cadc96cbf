// Package store groups the persistence packages of Trivial Tickets. It holds
// no code of its own.
//
// Each sub-package implements core.Store, the interface that package core
// defines:
//
//   - store/sqlite: the embedded default (pure Go, one file in the data
//     directory, nothing to install);
//   - store/storetest: the conformance suite that every store must pass,
//     covering each core.Tx method and core's rules end to end on top of the
//     store.
//
// Store packages import core and nothing else of the project; they implement
// no domain rules (those live in core) and must not be imported by core.
//
// Adding a migration: put the next numbered file (NNNN_what.sql) beside the
// existing ones in store/sqlite/migrations. Migrations are append-only: never
// edit or renumber one that was released.
package store
