-- outbox.listing, the mail as GET /api/fetchMails lists it (all but
-- its id), made once when the mail is queued: everything in it is fixed
-- then, so listing tens of thousands of pending mails reads one column of
-- each instead of encoding them again every time. Mails queued before
-- have none (NULL) and are encoded when they are listed, as before. A
-- change of the listing's form must come with a migration that sets it
-- to NULL for the pending mails.
ALTER TABLE outbox ADD COLUMN listing TEXT;
