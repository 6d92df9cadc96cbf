-- An entry's trigger leaves the ticket's row alone when it would change
-- nothing there: the ticket's times already cover the entry, its
-- search_seq is already the highest and its search document is already
-- noted in ticket_search_pending. That is the case for a new ticket's
-- first entry, which the store's OpenTicket writes together with the
-- ticket (and for a note that core adds in the same moment): the update
-- rewrote the row and moved it in the six indexes of activity_at and
-- search_seq, a third of what opening a ticket cost.
--
-- Keeping search_seq instead of taking the next one keeps the order of
-- the tickets, since it is the highest already; the pending search
-- document is rewritten at the commit as before. The version still
-- changes: entries_version_insert is unchanged.

DROP TRIGGER entries_workspace_insert;
CREATE TRIGGER entries_workspace_insert AFTER INSERT ON entries
WHEN NOT EXISTS (SELECT 1 FROM tickets t WHERE t.id = new.ticket_id
	AND t.activity_at >= new.created_at
	AND (new.author_kind <> 'customer' OR t.customer_at >= new.created_at)
	AND (new.author_kind <> 'agent' OR new.internal <> 0 OR t.replied_at >= new.created_at)
	AND t.search_seq = (SELECT max(search_seq) FROM tickets)
	AND EXISTS (SELECT 1 FROM ticket_search_pending p WHERE p.ticket_id = t.id))
BEGIN
	INSERT INTO ticket_search_pending (ticket_id, old_seq) SELECT id, search_seq FROM tickets WHERE id = new.ticket_id
		ON CONFLICT (ticket_id) DO NOTHING;
	UPDATE tickets SET
		activity_at = max(activity_at, new.created_at),
		customer_at = CASE WHEN new.author_kind = 'customer' THEN max(customer_at, new.created_at) ELSE customer_at END,
		replied_at = CASE WHEN new.author_kind = 'agent' AND new.internal = 0 THEN max(replied_at, new.created_at) ELSE replied_at END,
		search_seq = coalesce((SELECT max(search_seq) FROM tickets), 0) + 1
		WHERE id = new.ticket_id;
END;
