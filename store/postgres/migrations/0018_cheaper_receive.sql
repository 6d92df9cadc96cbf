-- Nothing changes on PostgreSQL. The number is taken by SQLite's
-- migration of the same name (one index and one version update less per
-- new ticket); the stores share the numbers so that a schema version
-- means the same in both.
SELECT 1;
