-- 0017 (issue 17): a new ticket costs the server less: its words go to the
-- search index's short pending list, its count is one row's upsert, and
-- the trigger that completes activity_at runs only when that is needed.

-- The search index. With fastupdate off (0007) every new ticket inserted
-- each of its words into the GIN index at once: a descent per word, and
-- the common words all end on the last leaf of their posting tree, which
-- every concurrent writer then waits for. That was the dearest statement
-- of a new ticket after the ticket's own insert (0.14 of its 0.65 ms of
-- server time, pg_stat_statements). The pending list takes a ticket's
-- words as one append, and moving it into the index sorts the words of
-- many tickets together, one descent per word. 0007 turned fastupdate off
-- because a search reads the whole pending list, up to 4 MB by default;
-- gin_pending_list_limit = 64 (kB, the least allowed) bounds it to 8
-- pages, which the writer that passes the limit (or autovacuum) moves
-- into the index.
ALTER INDEX ticket_search_words SET (fastupdate = on, gin_pending_list_limit = 64);

-- The view counts (0010). The insert trigger counted per statement, from
-- a transition table grouped and sorted, so that a bulk copy writes each
-- counter once; for the daemon's one ticket per statement that cost more
-- than the rest of the ticket's triggers together (0.12 ms of plpgsql
-- per new ticket, pg_stat_user_functions). A ticket is now counted by its
-- own row's upsert, and a bulk load (store.Import) sets the
-- transaction's tt.bulk to 'on', which skips it, and counts the tickets
-- it copied itself, once per counter.
CREATE FUNCTION tt_ticket_count_added() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
	INSERT INTO ticket_counts AS c (assignee, status, shard, n)
		VALUES (coalesce(NEW.assignee, ''), NEW.status, pg_backend_pid() % 64, 1)
	ON CONFLICT (assignee, status, shard) DO UPDATE SET n = c.n + 1;
	RETURN NULL;
END
$fn$;
DROP TRIGGER tickets_count_insert ON tickets;
DROP FUNCTION tt_ticket_counts_added();
CREATE TRIGGER tickets_count_insert AFTER INSERT ON tickets FOR EACH ROW
	WHEN (NEW.merged_into = '' AND current_setting('tt.bulk', true) IS DISTINCT FROM 'on')
	EXECUTE FUNCTION tt_ticket_count_added();

-- activity_at (0016): the daemon gives it in the insert, so the trigger
-- that raises it to created_at is called only when it would change it
-- (the same test as its assignment), not for every new ticket.
DROP TRIGGER tickets_activity_insert ON tickets;
CREATE TRIGGER tickets_activity_insert BEFORE INSERT ON tickets FOR EACH ROW
	WHEN (NEW.activity_at IS DISTINCT FROM greatest(NEW.activity_at, NEW.created_at))
	EXECUTE FUNCTION tt_tickets_activity();
