-- Mail for deployments (issue 12), as store/sqlite's 0004; renumber to the
-- next free number at merge.
-- personal: an outbox mail written by an agent (an answer), which goes out
-- without Auto-Submitted (RFC 3834 §5 keeps that for automatic mail).
ALTER TABLE outbox ADD COLUMN personal BOOLEAN NOT NULL DEFAULT FALSE;

-- Agents by mail: an agent's address and which notifications they want
-- (comma-separated: new, assigned, reply). Addresses are stored in lower
-- case and belong to one agent each.
CREATE TABLE agent_mail (
	username TEXT COLLATE "C" PRIMARY KEY REFERENCES agents(username) ON DELETE CASCADE,
	email    TEXT NOT NULL,
	notify   TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX agent_mail_email ON agent_mail (email);

-- Keys every daemon on the database shares, such as the one that signs
-- agents' reply addresses.
CREATE TABLE secrets (
	name  TEXT COLLATE "C" PRIMARY KEY,
	value BYTEA NOT NULL
);

-- The support address a ticket came in on, when it is one of the configured
-- [[mailbox]] addresses: its mail leaves from there. '' = the default.
ALTER TABLE tickets ADD COLUMN mailbox TEXT NOT NULL DEFAULT '';
