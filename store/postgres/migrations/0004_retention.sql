-- Retention deletes tickets closed and unchanged for longer than a set time
-- (ticketd's retention setting): find them without reading every ticket.
CREATE INDEX tickets_closed ON tickets (updated_at) WHERE status = 'closed';
