-- Nothing changes on SQLite. The number is taken by PostgreSQL's
-- migration of the same name (the triggers that a ticket opened with its
-- first entry skips); the stores share the numbers so that a schema
-- version means the same in both.
SELECT 1;
