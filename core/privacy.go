package core

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Deleted counts the rows a retention pass or an erasure deleted.
type Deleted struct {
	Tickets, Entries, Attachments, MessageIDs, Mails, LoginKeys int
	// Queued counts messages from the customer still in the inbound queue.
	Queued int
}

// Add adds the counts of o to d.
func (d *Deleted) Add(o Deleted) {
	d.Tickets += o.Tickets
	d.Entries += o.Entries
	d.Attachments += o.Attachments
	d.MessageIDs += o.MessageIDs
	d.Mails += o.Mails
	d.LoginKeys += o.LoginKeys
	d.Queued += o.Queued
}

// String says what was deleted, for the operator.
func (d Deleted) String() string {
	return fmt.Sprintf("%d tickets, %d entries, %d attachments, %d Message-ID records, %d outbox mails, %d login/rate-limit records, %d queued inbound messages",
		d.Tickets, d.Entries, d.Attachments, d.MessageIDs, d.Mails, d.LoginKeys, d.Queued)
}

// RetentionBatch is how many tickets one retention transaction deletes at
// most: small enough that the mail waiting for the store behind it is not
// held up noticeably.
const RetentionBatch = 100

// DeleteExpired deletes the tickets closed (and unchanged) for longer than
// retention, with everything that belongs to them, in transactions of at
// most RetentionBatch tickets, until none is left or ctx ends. It returns
// what it deleted, also when it stops with an error.
func (s *Service) DeleteExpired(ctx context.Context, retention time.Duration) (Deleted, error) {
	if retention <= 0 {
		return Deleted{}, Invalid("the retention time must be positive")
	}
	cutoff := s.now().Add(-retention)
	var total Deleted
	for {
		var batch Deleted
		err := s.store.Update(ctx, func(tx Tx) error {
			ids, err := tx.ExpiredTickets(ctx, cutoff, RetentionBatch)
			if err != nil {
				return err
			}
			batch, err = tx.DeleteTickets(ctx, ids)
			return err
		})
		if err != nil {
			return total, fmt.Errorf("delete tickets closed before %s: %w", cutoff.Format(time.RFC3339), err)
		}
		total.Add(batch)
		if batch.Tickets == 0 {
			return total, nil
		}
	}
}

// CustomerData is everything stored about one customer address.
type CustomerData struct {
	Address string
	// Tickets are the customer's own tickets (merged ones too), each with
	// every entry an agent sees, internal ones included.
	Tickets []CustomerTicket
	// OtherEntries are the entries the customer wrote on other customers'
	// tickets (as a sender in copy, say), without those tickets' other
	// entries.
	OtherEntries []Entry
	// Mails are the outbox mails to the address.
	Mails []OutMail
	// Queued are the customer's messages that a mail door accepted and
	// the inbound queue still holds (they become tickets or entries
	// moments later, or are retried after a failure).
	Queued []QueuedMessage
}

// QueuedMessage is one message of the inbound queue with its parsed form.
type QueuedMessage struct {
	Row     QueuedInbound // without Message
	Message InboundMessage
}

// CustomerTicket is one ticket of a customer with its entries.
type CustomerTicket struct {
	Ticket  Ticket
	Entries []Entry
}

// CustomerData collects everything stored about addr, attachments with
// their data, in one consistent read.
func (s *Service) CustomerData(ctx context.Context, addr string) (CustomerData, error) {
	addr, err := ParseAddress(addr)
	if err != nil {
		return CustomerData{}, err
	}
	var d CustomerData
	err = s.store.View(ctx, func(tx Tx) error {
		d = CustomerData{Address: addr}
		ts, err := tx.CustomerTickets(ctx, addr)
		if err != nil {
			return err
		}
		own := map[string]bool{}
		for _, t := range ts {
			own[t.ID] = true
			es, err := tx.Entries(ctx, t.ID, true)
			if err != nil {
				return err
			}
			if err := attachmentData(ctx, tx, es); err != nil {
				return err
			}
			d.Tickets = append(d.Tickets, CustomerTicket{Ticket: t, Entries: es})
		}
		es, err := tx.AuthorEntries(ctx, addr)
		if err != nil {
			return err
		}
		es = slices.DeleteFunc(es, func(e Entry) bool { return own[e.TicketID] })
		if err := attachmentData(ctx, tx, es); err != nil {
			return err
		}
		d.OtherEntries = es
		if d.Mails, err = tx.MailsTo(ctx, addr); err != nil {
			return err
		}
		d.Queued, err = queuedFrom(ctx, tx, addr)
		return err
	})
	if err != nil {
		return CustomerData{}, fmt.Errorf("collect the data of %s: %w", addr, err)
	}
	return d, nil
}

// queuedFrom reads and decodes the inbound queue's messages from addr.
func queuedFrom(ctx context.Context, tx Tx, addr string) ([]QueuedMessage, error) {
	rows, err := tx.InboundFrom(ctx, strings.ToLower(addr))
	if err != nil {
		return nil, err
	}
	var qs []QueuedMessage
	for _, r := range rows {
		b, err := tx.InboundMessage(ctx, r.ID)
		if err != nil {
			return nil, err
		}
		m, err := DecodeInbound(b)
		if err != nil {
			return nil, fmt.Errorf("queued message %d: %w", r.ID, err)
		}
		qs = append(qs, QueuedMessage{Row: r, Message: m})
	}
	return qs, nil
}

// attachmentData fills in the Data of the entries' attachments.
func attachmentData(ctx context.Context, tx Tx, es []Entry) error {
	for i := range es {
		for j := range es[i].Attachments {
			a, _, err := tx.Attachment(ctx, es[i].Attachments[j].ID)
			if err != nil {
				return err
			}
			es[i].Attachments[j].Data = a.Data
		}
	}
	return nil
}

// EraseCustomer deletes everything stored about addr in one transaction:
// the customer's tickets with all their entries, attachments, Message-ID
// records and outbox mails; the entries they wrote on other tickets with
// their attachments and Message-ID records; every outbox mail to the
// address; the login and rate-limit records whose key names it; and the
// customer's messages still waiting in the inbound queue. Other
// customers' tickets keep everything else.
func (s *Service) EraseCustomer(ctx context.Context, addr string) (Deleted, error) {
	addr, err := ParseAddress(addr)
	if err != nil {
		return Deleted{}, err
	}
	var d Deleted
	err = s.store.Update(ctx, func(tx Tx) error {
		d = Deleted{}
		ts, err := tx.CustomerTickets(ctx, addr)
		if err != nil {
			return err
		}
		ids := make([]string, len(ts))
		for i, t := range ts {
			ids[i] = t.ID
		}
		n, err := tx.DeleteTickets(ctx, ids)
		if err != nil {
			return err
		}
		d.Add(n)
		es, err := tx.AuthorEntries(ctx, addr)
		if err != nil {
			return err
		}
		entryIDs := make([]int64, len(es))
		for i, e := range es {
			entryIDs[i] = e.ID
		}
		if n, err = tx.DeleteEntries(ctx, entryIDs); err != nil {
			return err
		}
		d.Add(n)
		mails, err := tx.DeleteMailsTo(ctx, addr)
		if err != nil {
			return err
		}
		d.Mails += mails
		if d.LoginKeys, err = tx.DeleteLoginThrottlesNaming(ctx, addr); err != nil {
			return err
		}
		d.Queued, err = tx.DeleteInboundFrom(ctx, strings.ToLower(addr))
		return err
	})
	if err != nil {
		return Deleted{}, fmt.Errorf("erase the data of %s: %w", addr, err)
	}
	return d, nil
}
