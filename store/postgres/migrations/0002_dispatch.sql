-- 0002: outbox dispatch through an SMTP relay, as store/sqlite's 0002: a
-- lease per mail so that one dispatcher (of possibly several daemons) owns
-- it at a time, and lookup by Message-ID for bounces. Named leases for jobs
-- one daemon does at a time. Times are unix nanoseconds as in 0001.
ALTER TABLE outbox ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN lease_until BIGINT NOT NULL DEFAULT 0;
CREATE INDEX outbox_message_id ON outbox (message_id);

CREATE TABLE leases (
	name       TEXT COLLATE "C" PRIMARY KEY,
	owner      TEXT NOT NULL,
	expires_at BIGINT NOT NULL
);
