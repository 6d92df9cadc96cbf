package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"trivialtickets/core"
	"trivialtickets/store/sqlrows"
)

var _ core.ReceiveReader = (*tx)(nil)

// ReceiveFacts reads the Message-ID's ticket, the count of automatic mails
// and the agents' addresses in one statement, so one round trip instead of
// three: a row of the facts, then a row per agent's address.
//
// In a group of receives (UpdateGrouped) the writes of the receives before
// wait while it reads, when none of them adds a row it asks for (see
// conn.independent): then the group's outbox mails and Message-IDs go to
// the server as one insert each, with the COMMIT.
func (t *tx) ReceiveFacts(ctx context.Context, msgID, to string, since time.Time) (core.ReceiveFacts, error) {
	const what = "read before receiving"
	send := t.tx.Query
	if t.ahead && t.tx.independent(messageIDKey(msgID), automaticToKey(to)) {
		send = t.tx.queryBeside
	}
	rs, err := queryWith(ctx, t, what, func(row pgx.CollectableRow) (sqlrows.ReceiveFactsRow, error) {
		var r sqlrows.ReceiveFactsRow
		err := row.Scan(r.Dest()...)
		return r, err
	}, send, `SELECT (SELECT ticket_id FROM message_ids WHERE message_id = $1),
			(SELECT COUNT(*) FROM outbox WHERE automatic AND to_key = $2 AND created_at >= $3), NULL, NULL, NULL
		UNION ALL SELECT NULL, 0, username, email, notify FROM agent_mail`,
		msgID, core.NormalizeAddress(to), nanos(since))
	f := core.ReceiveFacts{To: to}
	if err != nil {
		return f, err
	}
	for i := range rs {
		if err := rs[i].AddTo(&f); err != nil {
			return f, fmt.Errorf("%s: %w", what, err)
		}
	}
	sqlrows.SortAgentMails(&f)
	return f, nil
}

var _ core.TicketOpener = (*tx)(nil)

// OpenTicket inserts the ticket with the workspace times that its first
// entry gives it (activity, the customer's last word, the last reply),
// then the entry. The insert names the ticket in the transaction's
// setting tt.opened, and the entry's trigger (migration 0016) leaves the
// row of the ticket so named alone when its times cover the entry already:
// the row was made in this transaction, so its version was never seen
// without the entry and needs no bump. That spares the update of the row
// (and of its version) that each entry otherwise makes.
//
// The settings of migration 0018 spare the triggers' calls too: tt.first
// names the ticket from its insert to the first entry's, whose update
// trigger is then not called at all, and tt.words, set by the ticket's
// insert when this transaction gives the words of the ticket and of that
// entry (search.go), skips both deferred search checks.
func (t *tx) OpenTicket(ctx context.Context, tk core.Ticket, e *core.Entry) error {
	activityAt, customerAt, repliedAt, err := sqlrows.OpenedTimes(tk, e)
	if err != nil {
		return err
	}
	id := "$1"
	if t.giveWords && t.wordsGiven(core.TicketSearchHead(tk)) && (!core.Searchable(e.AuthorKind) || t.wordsGiven(e.Text)) {
		id = `set_config('tt.words', $1, true)`
	}
	if err := t.insertTicket(ctx, tk, activityAt, customerAt, repliedAt, id,
		` RETURNING set_config('tt.opened', id, true), set_config('tt.first', id, true)`); err != nil {
		return err
	}
	return t.addEntry(ctx, e, `set_config('tt.first', '', true)`)
}

// messageIDKey and automaticToKey name, for conn.independent, the rows
// that ReceiveFacts reads: a Message-ID's, and the automatic mails to an
// address.
func messageIDKey(msgID string) string { return "message_id " + msgID }
func automaticToKey(to string) string  { return "automatic to " + core.NormalizeAddress(to) }
