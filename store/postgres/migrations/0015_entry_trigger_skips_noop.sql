-- Nothing changes on PostgreSQL, whose entry triggers are its own. The
-- number is taken by SQLite's entry trigger that skips a no-op update
-- (see store/sqlite/migrations/ of the same name); the stores share the
-- numbers so that a schema version means the same in both.
SELECT 1;
