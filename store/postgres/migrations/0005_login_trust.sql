-- The login throttle's trusted devices: browsers in which an agent logged in,
-- with a failure budget of their own (core/throttle.go). Only the hash of
-- the cookie's token is stored.
CREATE TABLE trusted_devices (
	token_hash TEXT COLLATE "C" PRIMARY KEY,
	username   TEXT COLLATE "C" NOT NULL REFERENCES agents(username) ON DELETE CASCADE,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL
);
CREATE INDEX trusted_devices_username ON trusted_devices (username);
CREATE INDEX trusted_devices_expires ON trusted_devices (expires_at);

-- The cap on automatic mails counts a mailbox, not a spelling: to_key is
-- core.NormalizeAddress(to_addr) (lower case, no +tag). Older rows get the
-- lower-case address, which is what the cap needs within its hour.
ALTER TABLE outbox ADD COLUMN to_key TEXT COLLATE "C" NOT NULL DEFAULT '';
UPDATE outbox SET to_key = lower(to_addr) WHERE automatic;
DROP INDEX outbox_automatic;
CREATE INDEX outbox_automatic ON outbox (to_key, created_at) WHERE automatic;
