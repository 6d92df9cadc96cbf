-- 0010: nothing changes on SQLite, which keeps its ticket_counts since
-- 0007. The number is taken by PostgreSQL's sharded ticket_counts (see
-- store/postgres/migrations/0010_ticket_counts.sql); the stores share the
-- numbers so that a schema version means the same in both.
SELECT 1;
