-- 0009 (issue 14): nothing changes here. store/sqlite's 0009 writes its
-- FTS5 search index once per commit from ticket_search_pending, which
-- SQLite alone needs; this file keeps the two stores' schema versions
-- meaning the same.
SELECT 1;
