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
-- fillfactor 90 leaves room in the pages of new tickets for the update
-- that a ticket's first entry makes (the store's OpenTicket gives the
-- entry's times in the insert, so that update changes no indexed column):
-- with room on the row's page it is a HOT update, without one it adds an
-- entry to every index of tickets. Pages written before keep theirs.

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

ALTER TABLE tickets SET (fillfactor = 90);
