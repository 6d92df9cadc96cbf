-- Failed logins per account and per client address, shared by every daemon
-- on the database (core's login throttle).
CREATE TABLE login_throttles (
	key          TEXT PRIMARY KEY,
	failures     INTEGER NOT NULL,
	window_start INTEGER NOT NULL,
	lockouts     INTEGER NOT NULL,
	locked_until INTEGER NOT NULL,
	last         INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX login_throttles_last ON login_throttles (last);
