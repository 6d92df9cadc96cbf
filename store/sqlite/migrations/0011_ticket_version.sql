-- 0011: tickets.version, a number that changes in the same transaction as
-- everything the customer's ticket page shows: the ticket's row, its
-- entries and their attachments. The web interface caches the customer's
-- page under it, so no code path (any daemon, import, retention, erasure)
-- may change a ticket without changing it: triggers bump it, not code.
--
-- recursive_triggers is off (SQLite's default; the DSN does not set it),
-- so the UPDATE inside tickets_version_update does not fire itself again;
-- its WHEN clause also leaves out updates that set version themselves
-- (the entry and attachment triggers below).

ALTER TABLE tickets ADD COLUMN version INTEGER NOT NULL DEFAULT 1;

CREATE TRIGGER tickets_version_update AFTER UPDATE ON tickets WHEN new.version = old.version BEGIN
	UPDATE tickets SET version = old.version + 1 WHERE id = new.id;
END;

CREATE TRIGGER entries_version_insert AFTER INSERT ON entries BEGIN
	UPDATE tickets SET version = version + 1 WHERE id = new.ticket_id;
END;

CREATE TRIGGER entries_version_update AFTER UPDATE ON entries BEGIN
	UPDATE tickets SET version = version + 1 WHERE id IN (old.ticket_id, new.ticket_id);
END;

CREATE TRIGGER entries_version_delete AFTER DELETE ON entries BEGIN
	UPDATE tickets SET version = version + 1 WHERE id = old.ticket_id;
END;

CREATE TRIGGER attachments_version_insert AFTER INSERT ON attachments BEGIN
	UPDATE tickets SET version = version + 1 WHERE id = (SELECT ticket_id FROM entries WHERE id = new.entry_id);
END;

CREATE TRIGGER attachments_version_update AFTER UPDATE ON attachments BEGIN
	UPDATE tickets SET version = version + 1
		WHERE id IN (SELECT ticket_id FROM entries WHERE id IN (old.entry_id, new.entry_id));
END;

CREATE TRIGGER attachments_version_delete AFTER DELETE ON attachments BEGIN
	UPDATE tickets SET version = version + 1 WHERE id = (SELECT ticket_id FROM entries WHERE id = old.entry_id);
END;
