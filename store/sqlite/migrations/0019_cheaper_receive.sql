-- Less to write for every new ticket (POST /api/receive, issue 14).
--
-- tickets_customer (customer, created_at, id) of every ticket served no
-- query that tickets_customer_activity (customer, activity_at, id, of the
-- tickets not merged) does not serve as well: every list of a customer's
-- tickets (the ticket page's "other conversations" and merge candidates)
-- reads tickets not merged, counts and searches narrowed to a customer
-- find them by either, and a customer's export and erase compare
-- lower(customer), which no index serves. Its key is random, so every new
-- ticket wrote a page of it of its own: 1.4 of the 8.5 log frames a new
-- ticket cost in a group commit of 64. A list of one customer's tickets
-- in order of creation, which nothing asks for now, sorts that customer's
-- tickets. PostgreSQL drops it in its migration of the same name.
DROP INDEX tickets_customer;

-- An entry added to a ticket that the same transaction inserted (its
-- search document still pending with no old row) leaves the version
-- alone: no one has seen the ticket yet, so the version cannot have been
-- read, and the update rewrote the ticket's row for every new ticket. Its
-- next change after the commit raises the version as before.
DROP TRIGGER entries_version_insert;
CREATE TRIGGER entries_version_insert AFTER INSERT ON entries
WHEN NOT EXISTS (SELECT 1 FROM ticket_search_pending p WHERE p.ticket_id = new.ticket_id AND p.old_seq IS NULL)
BEGIN
	UPDATE tickets SET version = version + 1 WHERE id = new.ticket_id;
END;
