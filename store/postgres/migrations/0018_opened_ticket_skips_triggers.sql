-- 0018 (issue 17): a ticket opened with its first entry (the store's
-- OpenTicket) calls none of the triggers whose work its own writes did
-- already: the entry's update of the ticket's times (0016 made it a no-op
-- for that entry, but it still cost a plpgsql call and a statement) and
-- the two deferred search checks at the commit (0016, a plpgsql call and
-- a query each), which found the words the daemon wrote. Each trigger is
-- skipped by its WHEN clause, which costs no call; 15 statements per new
-- ticket become 12.
--
-- Two transaction-local settings name the ticket; a trigger is skipped
-- only when its row is that ticket's:
-- - tt.first: set by the ticket's insert (RETURNING, so only when the row
--   was inserted) and cleared by the insert of its first entry (RETURNING,
--   after that entry's WHEN clauses were evaluated), so it names the
--   ticket while exactly that entry is inserted. OpenTicket computed the
--   ticket's times from that entry (0016), so its update is not needed.
--   Any later entry of the ticket runs the trigger as before (its
--   tt.opened test of 0016 still spares the row when the times cover it).
-- - tt.words: set by the ticket's insert itself (its id is given as
--   set_config's result, so before the insert's WHEN clauses), only when
--   the daemon gives the words of the ticket and of its first entry
--   (store/postgres/search.go), which it writes with the COMMIT. A later
--   entry whose text the daemon leaves to SQL is not skipped (tt.first no
--   longer names the ticket), and its check rebuilds the whole row from
--   the tables, the skipped inserts' words included.
-- The ticket's check is skipped when tt.words names it, the first entry's
-- when both settings do. Whatever else inserts tickets or entries (an
-- import, an older daemon) sets neither and runs every trigger.

DROP TRIGGER entries_workspace_insert ON entries;
CREATE TRIGGER entries_workspace_insert AFTER INSERT ON entries FOR EACH ROW
	WHEN (NEW.ticket_id IS DISTINCT FROM current_setting('tt.first', true) COLLATE "C")
	EXECUTE FUNCTION tt_entries_added();

DROP TRIGGER tickets_search_insert_words ON tickets;
CREATE CONSTRAINT TRIGGER tickets_search_insert_words AFTER INSERT ON tickets
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
	WHEN (NEW.id IS DISTINCT FROM current_setting('tt.words', true) COLLATE "C")
	EXECUTE FUNCTION tt_ticket_words_changed();

-- A WHEN clause of an insert cannot be one of a delete: one trigger each.
-- The function skipped system entries itself; the clause spares the call.
DROP TRIGGER entries_search_words ON entries;
CREATE CONSTRAINT TRIGGER entries_search_words AFTER INSERT ON entries
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
	WHEN (NEW.author_kind <> 'system'
		AND (NEW.ticket_id IS DISTINCT FROM current_setting('tt.first', true) COLLATE "C"
			OR NEW.ticket_id IS DISTINCT FROM current_setting('tt.words', true) COLLATE "C"))
	EXECUTE FUNCTION tt_entry_words_changed();
CREATE CONSTRAINT TRIGGER entries_search_words_delete AFTER DELETE ON entries
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tt_entry_words_changed();
