-- Mail for deployments (issue 12; renumber to the next free number at merge).
-- personal: an outbox mail written by an agent (an answer), which goes out
-- without Auto-Submitted (RFC 3834 §5 keeps that for automatic mail).
ALTER TABLE outbox ADD COLUMN personal INTEGER NOT NULL DEFAULT 0;
