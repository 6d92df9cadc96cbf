-- 0011: tickets.version, a number that changes in the same transaction as
-- everything the customer's ticket page shows: the ticket's row, its
-- entries and their attachments. The web interface caches the customer's
-- page under it, so no code path (any daemon, import, retention, erasure)
-- may change a ticket without changing it: triggers bump it, not code.
--
-- Every UPDATE of a ticket row goes through tt_ticket_version, which sets
-- the new row's version to the old one plus one (whatever the UPDATE set
-- it to); the entry and attachment triggers only touch the ticket's row.

ALTER TABLE tickets ADD COLUMN version BIGINT NOT NULL DEFAULT 1;

CREATE FUNCTION tt_ticket_version() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
	NEW.version := OLD.version + 1;
	RETURN NEW;
END
$fn$;
CREATE TRIGGER tickets_version_update BEFORE UPDATE ON tickets FOR EACH ROW EXECUTE FUNCTION tt_ticket_version();

CREATE FUNCTION tt_entry_version() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
	IF TG_OP <> 'INSERT' THEN
		UPDATE tickets SET version = version + 1 WHERE id = OLD.ticket_id;
	END IF;
	IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.ticket_id IS DISTINCT FROM OLD.ticket_id) THEN
		UPDATE tickets SET version = version + 1 WHERE id = NEW.ticket_id;
	END IF;
	RETURN NULL;
END
$fn$;
CREATE TRIGGER entries_version AFTER INSERT OR UPDATE OR DELETE ON entries
	FOR EACH ROW EXECUTE FUNCTION tt_entry_version();

CREATE FUNCTION tt_attachment_version() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
	IF TG_OP <> 'INSERT' THEN
		UPDATE tickets SET version = version + 1 WHERE id = (SELECT ticket_id FROM entries WHERE id = OLD.entry_id);
	END IF;
	IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.entry_id IS DISTINCT FROM OLD.entry_id) THEN
		UPDATE tickets SET version = version + 1 WHERE id = (SELECT ticket_id FROM entries WHERE id = NEW.entry_id);
	END IF;
	RETURN NULL;
END
$fn$;
CREATE TRIGGER attachments_version AFTER INSERT OR UPDATE OR DELETE ON attachments
	FOR EACH ROW EXECUTE FUNCTION tt_attachment_version();
