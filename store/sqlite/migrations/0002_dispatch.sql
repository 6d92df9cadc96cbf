-- Outbox dispatch through an SMTP relay: a lease per mail so that one
-- dispatcher (of possibly several daemons) owns it at a time, and lookup by
-- Message-ID for bounces. Named leases for jobs one daemon does at a time.
ALTER TABLE outbox ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;
CREATE INDEX outbox_message_id ON outbox (message_id);

CREATE TABLE leases (
	name       TEXT PRIMARY KEY,
	owner      TEXT NOT NULL,
	expires_at INTEGER NOT NULL
) WITHOUT ROWID;
