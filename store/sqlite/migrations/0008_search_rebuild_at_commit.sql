-- 0008: nothing changes on SQLite. The number is taken by PostgreSQL's
-- search index, rebuilt once per transaction at its commit (see
-- store/postgres/migrations/0008_search_rebuild_at_commit.sql); the stores share the numbers
-- so that a schema version means the same in both.
SELECT 1;
