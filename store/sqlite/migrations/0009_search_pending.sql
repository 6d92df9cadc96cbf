-- 0009: the search index is written once per committed transaction instead
-- of inside every statement that adds an entry or a ticket.
--
-- FTS5 writes the rows it holds in memory to disk, as a new segment of the
-- index, whenever a statement that needs a statement journal begins (every
-- insert into tickets or entries, because of their triggers) and whenever a
-- row is deleted right after it was inserted. With the triggers of 0007
-- writing ticket_search directly, a new ticket made about two segments,
-- which FTS5 then merged again: a quarter of the committer's time at 64
-- Mail API clients.
--
-- Now the triggers only note, in ticket_search_pending, which tickets'
-- documents changed and which row of ticket_search each had before
-- (old_seq, NULL for none). The store rewrites those rows in two
-- statements before every commit (store/sqlite, flushSearch) and empties
-- ticket_search_pending, so every committed state has the index 0007
-- defined: one row per ticket whose rowid is its search_seq. Deleting a
-- ticket still deletes its row at once.

CREATE TABLE ticket_search_pending (
	ticket_id TEXT PRIMARY KEY,
	old_seq   INTEGER
) WITHOUT ROWID;

-- The store's CreateTicket gives a new ticket its search_seq and
-- activity_at in the insert itself, which spares an update that moved the
-- ticket in six indexes; an insert without them gets them here.
DROP TRIGGER tickets_search_insert;
CREATE TRIGGER tickets_search_insert AFTER INSERT ON tickets WHEN new.search_seq IS NULL BEGIN
	UPDATE tickets SET search_seq = coalesce((SELECT max(search_seq) FROM tickets), 0) + 1,
		activity_at = max(activity_at, created_at)
		WHERE id = new.id;
END;
CREATE TRIGGER tickets_ticket_search_pending AFTER INSERT ON tickets BEGIN
	INSERT INTO ticket_search_pending (ticket_id, old_seq) VALUES (new.id, NULL)
		ON CONFLICT (ticket_id) DO NOTHING;
END;

DROP TRIGGER tickets_search_update;
CREATE TRIGGER tickets_search_update AFTER UPDATE OF subject, customer, customer_name ON tickets BEGIN
	INSERT INTO ticket_search_pending (ticket_id, old_seq) VALUES (new.id, old.search_seq)
		ON CONFLICT (ticket_id) DO NOTHING;
END;

DROP TRIGGER tickets_search_delete;
CREATE TRIGGER tickets_search_delete AFTER DELETE ON tickets BEGIN
	DELETE FROM ticket_search WHERE rowid = old.search_seq
		AND NOT EXISTS (SELECT 1 FROM ticket_search_pending WHERE ticket_id = old.id);
	DELETE FROM ticket_search WHERE rowid = (SELECT old_seq FROM ticket_search_pending WHERE ticket_id = old.id);
	DELETE FROM ticket_search_pending WHERE ticket_id = old.id;
END;

DROP TRIGGER entries_workspace_insert;
CREATE TRIGGER entries_workspace_insert AFTER INSERT ON entries BEGIN
	INSERT INTO ticket_search_pending (ticket_id, old_seq) SELECT id, search_seq FROM tickets WHERE id = new.ticket_id
		ON CONFLICT (ticket_id) DO NOTHING;
	UPDATE tickets SET
		activity_at = max(activity_at, new.created_at),
		customer_at = CASE WHEN new.author_kind = 'customer' THEN max(customer_at, new.created_at) ELSE customer_at END,
		replied_at = CASE WHEN new.author_kind = 'agent' AND new.internal = 0 THEN max(replied_at, new.created_at) ELSE replied_at END,
		search_seq = coalesce((SELECT max(search_seq) FROM tickets), 0) + 1
		WHERE id = new.ticket_id;
END;

DROP TRIGGER entries_workspace_delete;
CREATE TRIGGER entries_workspace_delete AFTER DELETE ON entries BEGIN
	INSERT INTO ticket_search_pending (ticket_id, old_seq) SELECT id, search_seq FROM tickets WHERE id = old.ticket_id
		ON CONFLICT (ticket_id) DO NOTHING;
	UPDATE tickets SET
		activity_at = max(created_at, coalesce((SELECT max(e.created_at) FROM entries e WHERE e.ticket_id = tickets.id), 0)),
		customer_at = coalesce((SELECT max(e.created_at) FROM entries e
			WHERE e.ticket_id = tickets.id AND e.author_kind = 'customer'), 0),
		replied_at = coalesce((SELECT max(e.created_at) FROM entries e
			WHERE e.ticket_id = tickets.id AND e.author_kind = 'agent' AND e.internal = 0), 0)
		WHERE id = old.ticket_id;
END;
