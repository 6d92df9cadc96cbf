-- Nothing changes on SQLite. The number is taken by PostgreSQL's
-- migration of the same name (one write of the ticket's row per entry);
-- the stores share the numbers so that a schema version means the same
-- in both.
SELECT 1;
