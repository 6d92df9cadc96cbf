-- Nothing changes on SQLite. The number is taken by PostgreSQL's
-- migration of the same name (the search index's pending list and the
-- triggers of a new ticket); the stores share the numbers so that a
-- schema version means the same in both.
SELECT 1;
