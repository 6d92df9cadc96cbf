-- The durable inbound queue (issue 14): a mail door answers 250 once the
-- message is a row here, and a worker turns each row into a ticket or an
-- entry, deleting it in the same transaction. Times are unix nanoseconds.
-- lease_owner and lease_until let one daemon at a time work on a row;
-- inbound_queue_sender keeps one sender's rows in id order. The message
-- comes last, so that reading the other columns of a row never walks the
-- pages of a large message.
CREATE TABLE inbound_queue (
	id          INTEGER PRIMARY KEY,
	sender      TEXT NOT NULL,
	door        TEXT NOT NULL,
	queued_at   INTEGER NOT NULL,
	attempts    INTEGER NOT NULL DEFAULT 0,
	next_try    INTEGER NOT NULL DEFAULT 0,
	last_error  TEXT NOT NULL DEFAULT '',
	lease_owner TEXT NOT NULL DEFAULT '',
	lease_until INTEGER NOT NULL DEFAULT 0,
	message     BLOB NOT NULL
);
CREATE INDEX inbound_queue_sender ON inbound_queue (sender, id);
-- The rows that failed at least once, counted for the metrics.
CREATE INDEX inbound_queue_failing ON inbound_queue (id) WHERE attempts > 0;
