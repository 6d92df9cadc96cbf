-- 0016 (issue 17): an entry's insert writes the ticket's row once, not
-- twice, and a new ticket's row is written without the update after it.
--
-- tt_entries_added's update of the activity times bumps the version by
-- itself (tickets_version_update, 0011, runs on every update of the row),
-- so entries_version's second update for an insert only added one more
-- row version and its WAL: entries_version now runs for updates and
-- deletes of entries only. The version still changes with every entry.
--
-- A new ticket's activity_at is set before the insert (BEFORE INSERT)
-- instead of by an update after it, which cost a statement even when it
-- changed nothing (the daemon gives activity_at in the insert).
--
-- A ticket opened with its first entry (the store's OpenTicket) is not
-- written again for that entry: its insert gives the entry's times and
-- names the ticket in the transaction-local setting tt.opened (set_config
-- in its RETURNING, so only when the row was inserted), and
-- tt_entries_added leaves the row of that ticket alone while its times
-- cover the entry. Its version needs no bump then: the row was made in
-- this transaction, so no one saw it without the entry. Any other entry,
-- and one that moves the ticket's times, updates the row as before.

CREATE OR REPLACE FUNCTION tt_entry_version() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
	UPDATE tickets SET version = version + 1 WHERE id = OLD.ticket_id;
	IF TG_OP = 'UPDATE' AND NEW.ticket_id IS DISTINCT FROM OLD.ticket_id THEN
		UPDATE tickets SET version = version + 1 WHERE id = NEW.ticket_id;
	END IF;
	RETURN NULL;
END
$fn$;
DROP TRIGGER entries_version ON entries;
CREATE TRIGGER entries_version AFTER UPDATE OR DELETE ON entries
	FOR EACH ROW EXECUTE FUNCTION tt_entry_version();

DROP TRIGGER tickets_search_insert ON tickets;
DROP FUNCTION tt_tickets_added();
CREATE FUNCTION tt_tickets_activity() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
	NEW.activity_at := greatest(NEW.activity_at, NEW.created_at);
	RETURN NEW;
END
$fn$;
CREATE TRIGGER tickets_activity_insert BEFORE INSERT ON tickets
	FOR EACH ROW EXECUTE FUNCTION tt_tickets_activity();

CREATE OR REPLACE FUNCTION tt_entries_added() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
	UPDATE tickets SET
		activity_at = greatest(activity_at, NEW.created_at),
		customer_at = CASE WHEN NEW.author_kind = 'customer' THEN greatest(customer_at, NEW.created_at) ELSE customer_at END,
		replied_at = CASE WHEN NEW.author_kind = 'agent' AND NOT NEW.internal THEN greatest(replied_at, NEW.created_at) ELSE replied_at END
		WHERE id = NEW.ticket_id
		AND (NEW.ticket_id IS DISTINCT FROM current_setting('tt.opened', true) COLLATE "C"
			OR activity_at < NEW.created_at
			OR NEW.author_kind = 'customer' AND customer_at < NEW.created_at
			OR NEW.author_kind = 'agent' AND NOT NEW.internal AND replied_at < NEW.created_at);
	RETURN NULL;
END
$fn$;

-- The deferred search triggers of an insert test whether this
-- transaction's writes covered it themselves instead of through
-- tt_ticket_reindex_covered (0012, the same test): one statement and one
-- function call less at the commit for each new ticket and entry, which
-- the daemon's words almost always cover.
CREATE OR REPLACE FUNCTION tt_ticket_words_changed() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
	IF TG_OP <> 'INSERT' THEN
		PERFORM tt_ticket_reindex_once(NEW.id);
	ELSIF NOT EXISTS (SELECT 1 FROM ticket_search s WHERE s.ticket_id = NEW.id AND s.exact_in = txid_current()) THEN
		PERFORM tt_ticket_reindex(NEW.id);
	END IF;
	RETURN NULL;
END
$fn$;

CREATE OR REPLACE FUNCTION tt_entry_words_changed() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
	IF TG_OP = 'DELETE' THEN
		PERFORM tt_ticket_reindex_once(OLD.ticket_id);
	ELSIF NEW.author_kind <> 'system' AND NOT EXISTS (SELECT 1 FROM ticket_search s
		WHERE s.ticket_id = NEW.ticket_id AND s.exact_in = txid_current() AND (s.merged IS NULL OR NEW.id = ANY(s.merged))) THEN
		PERFORM tt_ticket_reindex(NEW.ticket_id);
	END IF;
	RETURN NULL;
END
$fn$;
DROP FUNCTION tt_ticket_reindex_covered(text, bigint);
