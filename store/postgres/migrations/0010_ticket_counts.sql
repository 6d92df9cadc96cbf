-- 0010: the number of listable (not merged) tickets per assignee ('' for
-- none) and status, kept by triggers as SQLite's ticket_counts (0007), so
-- that the counts of the views and of their statuses are a sum of a few
-- rows instead of reading up to MaxListCount index entries (2–14 ms each,
-- nine of them on All Tickets over 100,000 tickets).
--
-- Without a hot spot: every (assignee, status) has up to 64 rows (shards),
-- and a writer changes only the shard of its own connection (its backend's
-- process id modulo 64). Every new ticket changes ('', 'open'); with one
-- row, each transaction would hold that row's lock until its commit, and
-- the commits of all daemons would wait for each other. With a shard per
-- connection, concurrent writers touch different rows unless two backend
-- ids meet modulo 64. A shard's n may fall below zero (a ticket counted in
-- one shard leaves through another): only the sum means something.
--
-- Insert and delete count per statement (transition tables), so that the
-- COPY of ticketd migrate-store and a retention run of many tickets write
-- each counter once; an update counts per row, only when status, assignee
-- (also set to NULL by an agent's deletion) or merged_into changed.

CREATE TABLE ticket_counts (
	assignee TEXT COLLATE "C" NOT NULL,
	status   TEXT NOT NULL,
	shard    SMALLINT NOT NULL,
	n        BIGINT NOT NULL,
	PRIMARY KEY (assignee, status, shard)
);

INSERT INTO ticket_counts (assignee, status, shard, n)
	SELECT coalesce(assignee, ''), status, 0, count(*) FROM tickets WHERE merged_into = '' GROUP BY 1, 2;

CREATE FUNCTION tt_ticket_counts_added() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
	INSERT INTO ticket_counts (assignee, status, shard, n)
		SELECT coalesce(assignee, ''), status, pg_backend_pid() % 64, count(*)
		FROM added WHERE merged_into = '' GROUP BY 1, 2 ORDER BY 1, 2
	ON CONFLICT (assignee, status, shard) DO UPDATE SET n = ticket_counts.n + excluded.n;
	RETURN NULL;
END
$fn$;
CREATE TRIGGER tickets_count_insert AFTER INSERT ON tickets REFERENCING NEW TABLE AS added
	FOR EACH STATEMENT EXECUTE FUNCTION tt_ticket_counts_added();

CREATE FUNCTION tt_ticket_counts_deleted() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
	INSERT INTO ticket_counts (assignee, status, shard, n)
		SELECT coalesce(assignee, ''), status, pg_backend_pid() % 64, -count(*)
		FROM deleted WHERE merged_into = '' GROUP BY 1, 2 ORDER BY 1, 2
	ON CONFLICT (assignee, status, shard) DO UPDATE SET n = ticket_counts.n + excluded.n;
	RETURN NULL;
END
$fn$;
CREATE TRIGGER tickets_count_delete AFTER DELETE ON tickets REFERENCING OLD TABLE AS deleted
	FOR EACH STATEMENT EXECUTE FUNCTION tt_ticket_counts_deleted();

CREATE FUNCTION tt_ticket_counts_moved() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
	INSERT INTO ticket_counts (assignee, status, shard, n)
		SELECT v.assignee, v.status, pg_backend_pid() % 64, sum(v.d)
		FROM (VALUES (coalesce(OLD.assignee, ''), OLD.status, -1, OLD.merged_into = ''),
			(coalesce(NEW.assignee, ''), NEW.status, 1, NEW.merged_into = '')) AS v(assignee, status, d, listed)
		WHERE v.listed GROUP BY 1, 2 ORDER BY 1, 2
	ON CONFLICT (assignee, status, shard) DO UPDATE SET n = ticket_counts.n + excluded.n;
	RETURN NULL;
END
$fn$;
CREATE TRIGGER tickets_count_update AFTER UPDATE OF status, assignee, merged_into ON tickets
	FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.assignee IS DISTINCT FROM NEW.assignee
		OR OLD.merged_into IS DISTINCT FROM NEW.merged_into)
	EXECUTE FUNCTION tt_ticket_counts_moved();
