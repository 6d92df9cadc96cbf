-- 0004: the agents' workspace: last activity and who waits, the unread
-- marker, the agent's time zone, and search. (Numbered 0005 on main.)
--
-- activity_at, customer_at, replied_at and the search index are kept by
-- triggers, so every path that adds or deletes entries or tickets (core,
-- retention, erasure, import) keeps them in its own transaction.
--
-- tt_search_words is core.SearchWords in SQL: lower-case words in NFC (ICU's
-- root locale, whatever the database's locale), every CJK run as its
-- overlapping pairs of characters, so that a two-character Japanese word
-- inside a sentence is a lexeme of its own. The index is a tsvector of those
-- lexemes per ticket (array_to_tsvector: no parser, no stemming), with GIN.
-- (The SQLite store's tickets.search_seq, the order of its full-text index,
-- has no counterpart here: PostgreSQL's planner joins the GIN index with the
-- activity indexes itself.)

ALTER TABLE agents ADD COLUMN time_zone TEXT NOT NULL DEFAULT '';

ALTER TABLE tickets ADD COLUMN activity_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN customer_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN replied_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN seen_at BIGINT NOT NULL DEFAULT 0;

UPDATE tickets SET
	activity_at = greatest(created_at, coalesce((SELECT max(e.created_at) FROM entries e WHERE e.ticket_id = tickets.id), 0)),
	customer_at = coalesce((SELECT max(e.created_at) FROM entries e
		WHERE e.ticket_id = tickets.id AND e.author_kind = 'customer'), 0),
	replied_at = coalesce((SELECT max(e.created_at) FROM entries e
		WHERE e.ticket_id = tickets.id AND e.author_kind = 'agent' AND NOT e.internal), 0);

CREATE INDEX tickets_activity ON tickets (activity_at, id) WHERE merged_into = '';
CREATE INDEX tickets_status_activity ON tickets (status, activity_at, id) WHERE merged_into = '';
CREATE INDEX tickets_assignee_activity ON tickets (assignee, activity_at, id) WHERE merged_into = '';
CREATE INDEX tickets_assignee_status ON tickets (assignee, status, activity_at, id) WHERE merged_into = '';
CREATE INDEX tickets_customer_activity ON tickets (customer, activity_at, id) WHERE merged_into = '';

CREATE FUNCTION tt_search_words(t text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
	SELECT coalesce(array_agg(x.w ORDER BY m.n, x.k), '{}')
	FROM regexp_matches(lower(normalize(t, NFC) COLLATE "und-x-icu"),
		'([\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]+)|([^\s\u0021-\u002f\u003a-\u0040\u005b-\u0060\u007b-\u007e\u0080-\u00bf\u00d7\u00f7\u2000-\u206f\u2190-\u2bff\u3000-\u303f\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\ufe30-\ufe4f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65]+)',
		'g') WITH ORDINALITY AS m(g, n)
	CROSS JOIN LATERAL (
		SELECT m.g[2] AS w, 0 AS k WHERE m.g[2] IS NOT NULL
		UNION ALL
		SELECT m.g[1], 0 WHERE char_length(m.g[1]) = 1
		UNION ALL
		SELECT substr(m.g[1], i, 2), i FROM generate_series(1, char_length(m.g[1]) - 1) AS i
	) AS x
$fn$;

-- The words of a ticket: id, customer, subject and every customer and agent
-- entry (the daemon's own lines are no search matter).
CREATE FUNCTION tt_ticket_words(tid text) RETURNS tsvector
LANGUAGE sql STABLE STRICT AS $fn$
	SELECT array_to_tsvector(tt_search_words(t.id || ' ' || t.customer || ' ' || t.customer_name || ' ' || t.subject || ' ' ||
		coalesce((SELECT string_agg(e.text, ' ' ORDER BY e.id) FROM entries e
			WHERE e.ticket_id = t.id AND e.author_kind <> 'system'), '')))
	FROM tickets t WHERE t.id = tid
$fn$;

CREATE TABLE ticket_search (
	ticket_id TEXT COLLATE "C" PRIMARY KEY REFERENCES tickets(id) ON DELETE CASCADE,
	words     TSVECTOR NOT NULL
);
INSERT INTO ticket_search (ticket_id, words) SELECT id, tt_ticket_words(id) FROM tickets;
-- fastupdate off: every search would otherwise read GIN's whole list of
-- pending insertions (up to 4 MB) besides the index.
CREATE INDEX ticket_search_words ON ticket_search USING GIN (words) WITH (fastupdate = off);

CREATE FUNCTION tt_ticket_reindex(tid text) RETURNS void
LANGUAGE sql AS $fn$
	INSERT INTO ticket_search (ticket_id, words)
		SELECT t.id, tt_ticket_words(t.id) FROM tickets t WHERE t.id = tid
	ON CONFLICT (ticket_id) DO UPDATE SET words = excluded.words
$fn$;

CREATE FUNCTION tt_tickets_added() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
	UPDATE tickets SET activity_at = greatest(activity_at, created_at) WHERE id = NEW.id;
	PERFORM tt_ticket_reindex(NEW.id);
	RETURN NULL;
END
$fn$;
CREATE TRIGGER tickets_search_insert AFTER INSERT ON tickets FOR EACH ROW EXECUTE FUNCTION tt_tickets_added();

CREATE FUNCTION tt_tickets_renamed() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
	PERFORM tt_ticket_reindex(NEW.id);
	RETURN NULL;
END
$fn$;
CREATE TRIGGER tickets_search_update AFTER UPDATE OF subject, customer, customer_name ON tickets
	FOR EACH ROW EXECUTE FUNCTION tt_tickets_renamed();

CREATE FUNCTION tt_entries_added() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
	UPDATE tickets SET
		activity_at = greatest(activity_at, NEW.created_at),
		customer_at = CASE WHEN NEW.author_kind = 'customer' THEN greatest(customer_at, NEW.created_at) ELSE customer_at END,
		replied_at = CASE WHEN NEW.author_kind = 'agent' AND NOT NEW.internal THEN greatest(replied_at, NEW.created_at) ELSE replied_at END
		WHERE id = NEW.ticket_id;
	IF NEW.author_kind <> 'system' THEN
		PERFORM tt_ticket_reindex(NEW.ticket_id);
	END IF;
	RETURN NULL;
END
$fn$;
CREATE TRIGGER entries_workspace_insert AFTER INSERT ON entries FOR EACH ROW EXECUTE FUNCTION tt_entries_added();

CREATE FUNCTION tt_entries_deleted() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
	UPDATE tickets SET
		activity_at = greatest(created_at, coalesce((SELECT max(e.created_at) FROM entries e WHERE e.ticket_id = tickets.id), 0)),
		customer_at = coalesce((SELECT max(e.created_at) FROM entries e
			WHERE e.ticket_id = tickets.id AND e.author_kind = 'customer'), 0),
		replied_at = coalesce((SELECT max(e.created_at) FROM entries e
			WHERE e.ticket_id = tickets.id AND e.author_kind = 'agent' AND NOT e.internal), 0)
		WHERE id = OLD.ticket_id;
	PERFORM tt_ticket_reindex(OLD.ticket_id);
	RETURN NULL;
END
$fn$;
CREATE TRIGGER entries_workspace_delete AFTER DELETE ON entries FOR EACH ROW EXECUTE FUNCTION tt_entries_deleted();
