-- 0004: the agents' workspace: last activity and who waits, the unread
-- marker, the agent's time zone, and search. (Numbered 0005 on main.)
--
-- The columns activity_at, customer_at and replied_at and the search index
-- are kept by triggers, so every path that adds or deletes entries or
-- tickets (core, retention, erasure, import) keeps them in its own
-- transaction. tt_search_text is core.SearchText, registered by the store
-- on every connection: it lower-cases words and splits CJK runs into
-- overlapping pairs, so unicode61 finds a two-character Japanese word.
--
-- The search index has one row per ticket: the words of its id, customer,
-- subject and every customer and agent entry. Its rowid is the ticket's
-- search_seq, which takes the next number on every new entry, so reading
-- the index backwards by rowid lists matches in order of last activity and
-- stops after one page, however common the word.

ALTER TABLE agents ADD COLUMN time_zone TEXT NOT NULL DEFAULT '';

ALTER TABLE tickets ADD COLUMN activity_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN customer_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN replied_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN seen_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN search_seq INTEGER;

UPDATE tickets SET
	activity_at = max(created_at, coalesce((SELECT max(e.created_at) FROM entries e WHERE e.ticket_id = tickets.id), 0)),
	customer_at = coalesce((SELECT max(e.created_at) FROM entries e
		WHERE e.ticket_id = tickets.id AND e.author_kind = 'customer'), 0),
	replied_at = coalesce((SELECT max(e.created_at) FROM entries e
		WHERE e.ticket_id = tickets.id AND e.author_kind = 'agent' AND e.internal = 0), 0);

UPDATE tickets SET search_seq = r.n
	FROM (SELECT id, row_number() OVER (ORDER BY activity_at, id) AS n FROM tickets) AS r
	WHERE r.id = tickets.id;

-- Lists by last activity: All, All per status, Mine and Unassigned.
CREATE INDEX tickets_activity ON tickets (activity_at, id) WHERE merged_into = '';
CREATE INDEX tickets_status_activity ON tickets (status, activity_at, id) WHERE merged_into = '';
CREATE INDEX tickets_assignee_activity ON tickets (assignee, activity_at, id) WHERE merged_into = '';
CREATE INDEX tickets_assignee_status ON tickets (assignee, status, activity_at, id) WHERE merged_into = '';
CREATE INDEX tickets_customer_activity ON tickets (customer, activity_at, id) WHERE merged_into = '';
CREATE UNIQUE INDEX tickets_search_seq ON tickets (search_seq);

CREATE VIRTUAL TABLE ticket_search USING fts5 (
	words,
	tokenize = 'unicode61 remove_diacritics 0'
);

-- The words of each ticket: id, customer, subject and every customer and
-- agent entry (the daemon's own lines are no search matter).
CREATE VIEW ticket_search_docs (id, search_seq, words) AS
	SELECT t.id, t.search_seq, tt_search_text(t.id || ' ' || t.customer || ' ' || t.customer_name || ' ' || t.subject || ' ' ||
		coalesce((SELECT group_concat(e.text, ' ') FROM entries e WHERE e.ticket_id = t.id AND e.author_kind <> 'system'), ''))
	FROM tickets t;

INSERT INTO ticket_search (rowid, words) SELECT search_seq, words FROM ticket_search_docs;

CREATE TRIGGER tickets_search_insert AFTER INSERT ON tickets BEGIN
	UPDATE tickets SET search_seq = coalesce((SELECT max(search_seq) FROM tickets), 0) + 1,
		activity_at = max(activity_at, created_at)
		WHERE id = new.id;
	INSERT INTO ticket_search (rowid, words) SELECT search_seq, words FROM ticket_search_docs WHERE id = new.id;
END;

CREATE TRIGGER tickets_search_update AFTER UPDATE OF subject, customer, customer_name ON tickets BEGIN
	DELETE FROM ticket_search WHERE rowid = new.search_seq;
	INSERT INTO ticket_search (rowid, words) SELECT search_seq, words FROM ticket_search_docs WHERE id = new.id;
END;

CREATE TRIGGER tickets_search_delete AFTER DELETE ON tickets BEGIN
	DELETE FROM ticket_search WHERE rowid = old.search_seq;
END;

CREATE TRIGGER entries_workspace_insert AFTER INSERT ON entries BEGIN
	DELETE FROM ticket_search WHERE rowid = (SELECT search_seq FROM tickets WHERE id = new.ticket_id);
	UPDATE tickets SET
		activity_at = max(activity_at, new.created_at),
		customer_at = CASE WHEN new.author_kind = 'customer' THEN max(customer_at, new.created_at) ELSE customer_at END,
		replied_at = CASE WHEN new.author_kind = 'agent' AND new.internal = 0 THEN max(replied_at, new.created_at) ELSE replied_at END,
		search_seq = coalesce((SELECT max(search_seq) FROM tickets), 0) + 1
		WHERE id = new.ticket_id;
	INSERT INTO ticket_search (rowid, words) SELECT search_seq, words FROM ticket_search_docs WHERE id = new.ticket_id;
END;

CREATE TRIGGER entries_workspace_delete AFTER DELETE ON entries BEGIN
	DELETE FROM ticket_search WHERE rowid = (SELECT search_seq FROM tickets WHERE id = old.ticket_id);
	UPDATE tickets SET
		activity_at = max(created_at, coalesce((SELECT max(e.created_at) FROM entries e WHERE e.ticket_id = tickets.id), 0)),
		customer_at = coalesce((SELECT max(e.created_at) FROM entries e
			WHERE e.ticket_id = tickets.id AND e.author_kind = 'customer'), 0),
		replied_at = coalesce((SELECT max(e.created_at) FROM entries e
			WHERE e.ticket_id = tickets.id AND e.author_kind = 'agent' AND e.internal = 0), 0)
		WHERE id = old.ticket_id;
	INSERT INTO ticket_search (rowid, words) SELECT search_seq, words FROM ticket_search_docs WHERE id = old.ticket_id;
END;

-- The number of listable (not merged) tickets per assignee ('' for none) and
-- status, kept by triggers, so that the counts of the views and of their
-- statuses cost one lookup each instead of reading up to MaxListCount index
-- entries (SQLite only: with several daemons on PostgreSQL such a row would
-- be a hot spot that every new ticket writes).
CREATE TABLE ticket_counts (
	assignee TEXT NOT NULL,
	status   TEXT NOT NULL,
	n        INTEGER NOT NULL,
	PRIMARY KEY (assignee, status)
) WITHOUT ROWID;

INSERT INTO ticket_counts (assignee, status, n)
	SELECT coalesce(assignee, ''), status, count(*) FROM tickets WHERE merged_into = '' GROUP BY 1, 2;

CREATE TRIGGER tickets_count_insert AFTER INSERT ON tickets WHEN new.merged_into = '' BEGIN
	INSERT INTO ticket_counts (assignee, status, n) VALUES (coalesce(new.assignee, ''), new.status, 1)
		ON CONFLICT (assignee, status) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER tickets_count_update AFTER UPDATE OF status, assignee, merged_into ON tickets BEGIN
	UPDATE ticket_counts SET n = n - 1
		WHERE old.merged_into = '' AND assignee = coalesce(old.assignee, '') AND status = old.status;
	INSERT INTO ticket_counts (assignee, status, n)
		SELECT coalesce(new.assignee, ''), new.status, 1 WHERE new.merged_into = ''
		ON CONFLICT (assignee, status) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER tickets_count_delete AFTER DELETE ON tickets WHEN old.merged_into = '' BEGIN
	UPDATE ticket_counts SET n = n - 1 WHERE assignee = coalesce(old.assignee, '') AND status = old.status;
END;
