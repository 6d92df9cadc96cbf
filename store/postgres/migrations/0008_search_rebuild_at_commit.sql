-- 0008: the search index of a ticket rebuilt once per transaction, at its
-- commit, instead of after every row that changes its words. A ticket
-- opened through the Mail API was indexed twice (after the INSERT of the
-- ticket and after that of its first entry), each time reading its words
-- again and rewriting its GIN entries (fastupdate is off): 4 of the 4.8 ms
-- of server time per new ticket (pg_stat_statements, 64 clients).
--
-- The activity columns stay with the triggers of 0007, at once. The
-- reindexing moves to constraint triggers deferred to the commit, when
-- every statement of the transaction has run; the first of them for a
-- ticket sees its final words, so the others skip a ticket whose index row
-- this transaction wrote already (its xmin is this transaction's id). A
-- search inside the writing transaction does not see its new words: none
-- does (core searches in View). A frozen row keeps its raw xmin: after
-- 2^32 transactions one may equal the current id (1 in 4 billion), and
-- that ticket's words then wait for its next change.

CREATE FUNCTION tt_ticket_reindex_once(tid text) RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
	IF EXISTS (SELECT 1 FROM ticket_search
		WHERE ticket_id = tid AND xmin::text::bigint = txid_current() % 4294967296) THEN
		RETURN;
	END IF;
	PERFORM tt_ticket_reindex(tid);
END
$fn$;

CREATE OR REPLACE FUNCTION tt_tickets_added() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
	UPDATE tickets SET activity_at = created_at WHERE id = NEW.id AND activity_at < created_at;
	RETURN NULL;
END
$fn$;

CREATE OR REPLACE FUNCTION tt_entries_added() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
	UPDATE tickets SET
		activity_at = greatest(activity_at, NEW.created_at),
		customer_at = CASE WHEN NEW.author_kind = 'customer' THEN greatest(customer_at, NEW.created_at) ELSE customer_at END,
		replied_at = CASE WHEN NEW.author_kind = 'agent' AND NOT NEW.internal THEN greatest(replied_at, NEW.created_at) ELSE replied_at END
		WHERE id = NEW.ticket_id;
	RETURN NULL;
END
$fn$;

CREATE OR REPLACE FUNCTION tt_entries_deleted() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
	UPDATE tickets SET
		activity_at = greatest(created_at, coalesce((SELECT max(e.created_at) FROM entries e WHERE e.ticket_id = tickets.id), 0)),
		customer_at = coalesce((SELECT max(e.created_at) FROM entries e
			WHERE e.ticket_id = tickets.id AND e.author_kind = 'customer'), 0),
		replied_at = coalesce((SELECT max(e.created_at) FROM entries e
			WHERE e.ticket_id = tickets.id AND e.author_kind = 'agent' AND NOT e.internal), 0)
		WHERE id = OLD.ticket_id;
	RETURN NULL;
END
$fn$;

DROP TRIGGER tickets_search_update ON tickets;
DROP FUNCTION tt_tickets_renamed();

CREATE FUNCTION tt_ticket_words_changed() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
	PERFORM tt_ticket_reindex_once(NEW.id);
	RETURN NULL;
END
$fn$;

CREATE FUNCTION tt_entry_words_changed() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
	IF TG_OP = 'DELETE' THEN
		PERFORM tt_ticket_reindex_once(OLD.ticket_id);
	ELSIF NEW.author_kind <> 'system' THEN
		PERFORM tt_ticket_reindex_once(NEW.ticket_id);
	END IF;
	RETURN NULL;
END
$fn$;

CREATE CONSTRAINT TRIGGER tickets_search_insert_words AFTER INSERT ON tickets
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tt_ticket_words_changed();
CREATE CONSTRAINT TRIGGER tickets_search_update_words AFTER UPDATE OF subject, customer, customer_name ON tickets
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tt_ticket_words_changed();
CREATE CONSTRAINT TRIGGER entries_search_words AFTER INSERT OR DELETE ON entries
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tt_entry_words_changed();
