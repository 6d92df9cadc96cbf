-- tickets_customer (customer, created_at, id) serves no query that
-- tickets_customer_activity (0007: customer, activity_at, id, of the
-- tickets not merged) does not: every list narrowed to a customer reads
-- tickets not merged (the literal merged_into = '' of ticketWhere), and a
-- customer's export and erase compare lower(customer), which no index
-- serves. Every new ticket wrote an entry of it with a random key; SQLite
-- drops it in its migration of the same name, which also spares a new
-- ticket's first entry its version update there (PostgreSQL's triggers
-- leave it alone since 0016).
DROP INDEX tickets_customer;
