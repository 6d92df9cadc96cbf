-- 0012: the words of a new ticket and of an added entry come from the
-- daemon (core.SearchWords, computed where the CPU is spread over daemons)
-- and are merged into the ticket's index row (tsvector || tsvector) by the
-- statement that inserts the row, instead of the commit's rebuild, which
-- read every entry of the ticket again and ran tt_search_words' regular
-- expressions over them: about 2.3 of 4–5.6 ms of server time per ticket
-- opened through the Mail API (pg_stat_statements, 64 clients).
--
-- Only words are ever added so: whatever takes words away (an entry
-- deleted, a ticket renamed; retention, erasure) and every insert that did
-- not give its words (COPY of ticketd migrate-store, a text the daemon
-- leaves to SQL) is still rebuilt exactly from the rows by the deferred
-- triggers of 0008, so the index cannot drift from the tickets.
--
-- ticket_search.exact_in is the transaction (txid_current) whose writes
-- last made the row exact, merged the entries whose words it merged in that
-- transaction, NULL when it was the commit's rebuild. A deferred trigger
-- skips the rebuild when the row was rebuilt at this commit already, or
-- when its event is an insert that this transaction's writes covered: the
-- ticket's own (the daemon created the row) or an entry in merged. This
-- replaces 0008's test of the row's xmin, which any write of the
-- transaction sets, the merges too.

ALTER TABLE ticket_search ADD COLUMN exact_in BIGINT NOT NULL DEFAULT 0;
ALTER TABLE ticket_search ADD COLUMN merged BIGINT[];

CREATE OR REPLACE FUNCTION tt_ticket_reindex(tid text) RETURNS void
LANGUAGE sql AS $fn$
	INSERT INTO ticket_search (ticket_id, words, exact_in, merged)
		SELECT t.id, tt_ticket_words(t.id), txid_current(), NULL FROM tickets t WHERE t.id = tid
	ON CONFLICT (ticket_id) DO UPDATE SET words = excluded.words, exact_in = excluded.exact_in, merged = NULL
$fn$;

-- tt_ticket_reindex_covered rebuilds the index row of ticket tid at the
-- commit unless it is exact already: rebuilt by this commit, or, for the
-- insert of the ticket (entry 0) or of the entry with id entry, written
-- with its words by this transaction.
CREATE FUNCTION tt_ticket_reindex_covered(tid text, entry bigint) RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
	IF EXISTS (SELECT 1 FROM ticket_search s
		WHERE s.ticket_id = tid AND s.exact_in = txid_current()
		AND (s.merged IS NULL OR entry = 0 OR entry = ANY(s.merged))) THEN
		RETURN;
	END IF;
	PERFORM tt_ticket_reindex(tid);
END
$fn$;

-- The rebuild for a change that takes words away: skipped only when this
-- commit rebuilt the row already.
CREATE OR REPLACE FUNCTION tt_ticket_reindex_once(tid text) RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
	IF EXISTS (SELECT 1 FROM ticket_search s
		WHERE s.ticket_id = tid AND s.exact_in = txid_current() AND s.merged IS NULL) THEN
		RETURN;
	END IF;
	PERFORM tt_ticket_reindex(tid);
END
$fn$;

CREATE OR REPLACE FUNCTION tt_ticket_words_changed() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
	IF TG_OP = 'INSERT' THEN
		PERFORM tt_ticket_reindex_covered(NEW.id, 0);
	ELSE
		PERFORM tt_ticket_reindex_once(NEW.id);
	END IF;
	RETURN NULL;
END
$fn$;

CREATE OR REPLACE FUNCTION tt_entry_words_changed() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
	IF TG_OP = 'DELETE' THEN
		PERFORM tt_ticket_reindex_once(OLD.ticket_id);
	ELSIF NEW.author_kind <> 'system' THEN
		PERFORM tt_ticket_reindex_covered(NEW.ticket_id, NEW.id);
	END IF;
	RETURN NULL;
END
$fn$;
