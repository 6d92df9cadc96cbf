-- Failed logins per account and per client address, shared by every daemon
-- on the database (core's login throttle).
CREATE TABLE login_throttles (
	key          TEXT COLLATE "C" PRIMARY KEY,
	failures     INTEGER NOT NULL,
	window_start BIGINT NOT NULL,
	lockouts     INTEGER NOT NULL,
	locked_until BIGINT NOT NULL,
	last         BIGINT NOT NULL
);
CREATE INDEX login_throttles_last ON login_throttles (last);
