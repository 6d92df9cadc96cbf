package sqlite

import "context"

// The search index is brought up to date once per transaction, just before
// its commit (migration 0009): the triggers note in ticket_search_pending which
// tickets' documents changed, and flushSearch rewrites their rows of
// ticket_search. FTS5 then keeps the new rows in memory until the commit
// and writes them as one segment, instead of one or two segments for every
// new entry.

// flushSearch (on the committer's transactions only) deletes the rows of ticket_search that the tickets in
// ticket_search_pending had, inserts their current documents in order of rowid
// (search_seq, always above the deleted ones) and empties ticket_search_pending.
func (t *tx) flushSearch(ctx context.Context) error {
	if !t.deferSearch {
		return nil
	}
	const what = "update the search index"
	var pending bool
	if err := t.queryRow(ctx, what, []any{&pending}, `SELECT EXISTS (SELECT 1 FROM ticket_search_pending)`); err != nil || !pending {
		return err
	}
	for _, q := range []string{
		`DELETE FROM ticket_search WHERE rowid IN (SELECT old_seq FROM ticket_search_pending WHERE old_seq IS NOT NULL)`,
		`INSERT INTO ticket_search (rowid, words) SELECT d.search_seq, d.words FROM ticket_search_docs d
			WHERE d.id IN (SELECT ticket_id FROM ticket_search_pending) ORDER BY d.search_seq`,
		`DELETE FROM ticket_search_pending`,
	} {
		if _, err := t.run(ctx, what, q); err != nil {
			return err
		}
	}
	return nil
}
