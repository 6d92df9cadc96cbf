-- outbox.listing, the mail as GET /api/fetchMails lists it (all but
-- its id), made once when the mail is queued: everything in it is fixed
-- then, so listing tens of thousands of pending mails reads one column of
-- each instead of encoding them again every time. Mails queued before
-- have none (NULL) and are encoded when they are listed, as before. A
-- change of the listing's form must come with a migration that sets it
-- to NULL for the pending mails.
ALTER TABLE outbox ADD COLUMN listing TEXT;

-- The pending mails' ids, recipients and listings, in id order: a fetch
-- reads this index alone instead of every whole mail (the body, the
-- headers and the listing). A mail leaves it when it is sent or fails.
-- It starts with state, as outbox_state does, so that the planner takes
-- it for the pending mails after an id.
CREATE INDEX outbox_pending_listing ON outbox (state, id, to_addr, listing) WHERE state = 'pending';
