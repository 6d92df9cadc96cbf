-- 0001: the initial schema.
--
-- Times are INTEGER unix nanoseconds UTC (0 = unset), so that ordering and
-- keyset paging compare exact values. Booleans are INTEGER 0/1.
-- Migrations are append-only: never edit this file once released; add
-- 0002_….sql instead.

CREATE TABLE agents (
	username      TEXT PRIMARY KEY,
	name          TEXT NOT NULL DEFAULT '',
	password_hash BLOB NOT NULL,
	vacation      INTEGER NOT NULL DEFAULT 0,
	created_at    INTEGER NOT NULL
);

CREATE TABLE tickets (
	id              TEXT PRIMARY KEY,
	subject         TEXT NOT NULL,
	customer        TEXT NOT NULL,
	customer_name   TEXT NOT NULL DEFAULT '',
	status          TEXT NOT NULL,
	-- NULL while unassigned. Merged tickets keep their assignee but are never
	-- listed, so core cannot release them when it removes an agent: SET NULL.
	assignee        TEXT REFERENCES agents(username) ON DELETE SET NULL,
	merged_into     TEXT NOT NULL DEFAULT '',
	root_message_id TEXT NOT NULL DEFAULT '',
	last_message_id TEXT NOT NULL DEFAULT '',
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL
);

-- Ticket lists: newest first (created_at DESC, id DESC), merged tickets never.
-- The partial indexes only hold listable tickets; queries must repeat the
-- literal condition merged_into = '' for SQLite to use them.
CREATE INDEX tickets_list ON tickets (created_at, id) WHERE merged_into = '';
CREATE INDEX tickets_status ON tickets (status, created_at, id) WHERE merged_into = '';
-- Full (not partial) indexes: they also serve the foreign key from
-- assignee (ON DELETE SET NULL) and the customer's merge candidates.
CREATE INDEX tickets_assignee ON tickets (assignee, created_at, id);
CREATE INDEX tickets_customer ON tickets (customer, created_at, id);

CREATE TABLE entries (
	id          INTEGER PRIMARY KEY,
	ticket_id   TEXT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
	created_at  INTEGER NOT NULL,
	author_kind TEXT NOT NULL,
	author      TEXT NOT NULL DEFAULT '',
	author_name TEXT NOT NULL DEFAULT '',
	internal    INTEGER NOT NULL DEFAULT 0,
	text        TEXT NOT NULL DEFAULT '',
	automatic   INTEGER NOT NULL DEFAULT 0,
	message_id  TEXT NOT NULL DEFAULT '',
	from_ticket TEXT NOT NULL DEFAULT ''
);
CREATE INDEX entries_ticket ON entries (ticket_id, created_at, id);

-- data is the last column so that listing metadata never reads the BLOB's
-- overflow pages.
CREATE TABLE attachments (
	id           INTEGER PRIMARY KEY,
	entry_id     INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
	filename     TEXT NOT NULL DEFAULT '',
	content_type TEXT NOT NULL DEFAULT '',
	size         INTEGER NOT NULL DEFAULT 0,
	content_id   TEXT NOT NULL DEFAULT '',
	data         BLOB NOT NULL
);
CREATE INDEX attachments_entry ON attachments (entry_id);

CREATE TABLE message_ids (
	message_id TEXT PRIMARY KEY,
	ticket_id  TEXT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
	inbound    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX message_ids_ticket ON message_ids (ticket_id);

CREATE TABLE outbox (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	ticket_id   TEXT NOT NULL DEFAULT '',
	from_addr   TEXT NOT NULL,
	to_addr     TEXT NOT NULL,
	reply_to    TEXT NOT NULL DEFAULT '',
	subject     TEXT NOT NULL DEFAULT '',
	body        TEXT NOT NULL DEFAULT '',
	message_id  TEXT NOT NULL DEFAULT '',
	in_reply_to TEXT NOT NULL DEFAULT '',
	refs        TEXT NOT NULL DEFAULT '', -- newline-separated Message-IDs
	automatic   INTEGER NOT NULL DEFAULT 0,
	state       TEXT NOT NULL,
	created_at  INTEGER NOT NULL,
	sent_at     INTEGER NOT NULL DEFAULT 0,
	attempts    INTEGER NOT NULL DEFAULT 0,
	next_try    INTEGER NOT NULL DEFAULT 0,
	last_error  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX outbox_state ON outbox (state, id);
CREATE INDEX outbox_automatic ON outbox (to_addr, created_at) WHERE automatic = 1;

CREATE TABLE sessions (
	token_hash TEXT PRIMARY KEY,
	username   TEXT NOT NULL REFERENCES agents(username) ON DELETE CASCADE,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_username ON sessions (username);
CREATE INDEX sessions_expires ON sessions (expires_at);
