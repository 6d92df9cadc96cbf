-- 0012: nothing changes on SQLite, whose search index is written from
-- core.SearchText already. The number is taken by PostgreSQL's words given
-- by the daemon (see store/postgres/migrations/0012_search_words_given.sql);
-- the stores share the numbers so that a schema version means the same in
-- both.
SELECT 1;
