-- The planner's statistics of the search words keep ten times as many
-- words (10,000 instead of PostgreSQL's default 1,000), read from ten times
-- as many tickets (300,000). With the default, ANALYZE's sample of a
-- ticket_search whose tickets share a few words everywhere sometimes kept
-- only those: every other word was then estimated at half a percent of the
-- tickets, and with ticket ids that grow in the order tickets are made
-- (core.NewTicketID) that was enough for the planner to walk All Tickets in
-- order looking each ticket's words up, instead of taking a rare word's
-- few tickets from the words' index: 100 ms instead of 2 for a search over
-- 100,000 tickets (bench/run.sh, section 6).
ALTER TABLE ticket_search ALTER COLUMN words SET STATISTICS 1000;
-- A database with tickets gets the new statistics at once (a sample of at
-- most 300,000 rows). An empty one is left unanalyzed: statistics that
-- say "empty" would make the plans that the triggers cache during an
-- import (ticketd migrate-store, one transaction) read ticket_search whole
-- for every ticket.
DO $$
BEGIN
	IF EXISTS (SELECT FROM ticket_search) THEN
		ANALYZE ticket_search;
	END IF;
END
$$;
