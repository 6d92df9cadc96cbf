package core

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// PendingMails returns at most limit pending outbox mails with an ID greater
// than afterID, in ID order. With RelayOutbound it returns none: the
// dispatcher owns them.
func (s *Service) PendingMails(ctx context.Context, afterID int64, limit int) ([]OutMail, error) {
	if s.cfg.RelayOutbound {
		return nil, nil
	}
	var ms []OutMail
	err := s.store.View(ctx, func(tx Tx) error {
		var err error
		ms, err = tx.PendingMails(ctx, afterID, limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pending mails: %w", err)
	}
	return s.dropUnaddressable(ctx, ms)
}

// dropUnaddressable is the last check before mails are handed out: a mail
// whose To is not one valid address (queued by an older version, or
// written into the database by hand) is marked failed instead of listed.
func (s *Service) dropUnaddressable(ctx context.Context, ms []OutMail) ([]OutMail, error) {
	good := ms[:0]
	for i := range ms {
		if SingleAddress(ms[i].To) {
			good = append(good, ms[i])
			continue
		}
		// Only the id goes into the closure: a mail would escape to the
		// heap, copied for every mail of the page.
		id := ms[i].ID
		err := s.store.Update(ctx, func(tx Tx) error {
			_, err := tx.MarkMailFailed(ctx, id, MailFailed, "the recipient is not one valid e-mail address", s.now())
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("pending mails: set aside mail %d: %w", id, err)
		}
	}
	return good, nil
}

// VerifyMail marks a pending mail as sent; it reports false when no pending
// mail has that id. With RelayOutbound no mail is pending for the Mail API.
func (s *Service) VerifyMail(ctx context.Context, id int64) (bool, error) {
	if s.cfg.RelayOutbound {
		return false, nil
	}
	var ok bool
	err := s.store.Update(ctx, func(tx Tx) error {
		var err error
		ok, err = tx.MarkMailSent(ctx, id, s.now())
		return err
	})
	if err != nil {
		return false, fmt.Errorf("verify mail %d: %w", id, err)
	}
	return ok, nil
}

// ClaimMails leases at most limit due mails to the dispatcher owner for
// lease; see Tx.ClaimMails.
func (s *Service) ClaimMails(ctx context.Context, owner string, lease time.Duration, limit int) ([]OutMail, error) {
	now := s.now()
	var ms []OutMail
	err := s.store.Update(ctx, func(tx Tx) error {
		var err error
		ms, err = tx.ClaimMails(ctx, owner, now, now.Add(lease), limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim mails: %w", err)
	}
	return ms, nil
}

// MailDelivered records that the relay accepted mail id.
func (s *Service) MailDelivered(ctx context.Context, id int64) error {
	err := s.store.Update(ctx, func(tx Tx) error {
		_, err := tx.MarkMailSent(ctx, id, s.now())
		return err
	})
	if err != nil {
		return fmt.Errorf("mark mail %d sent: %w", id, err)
	}
	return nil
}

// MailDeferred records a temporary delivery failure of mail id; the
// dispatcher tries again at next.
func (s *Service) MailDeferred(ctx context.Context, id int64, reason string, next time.Time) error {
	err := s.store.Update(ctx, func(tx Tx) error {
		return tx.RetryMail(ctx, id, next, reason)
	})
	if err != nil {
		return fmt.Errorf("defer mail %d: %w", id, err)
	}
	return nil
}

// ReleaseMails gives up owner's leases of the mails ids, unsent and without
// counting an attempt, for any dispatcher to claim again at once.
func (s *Service) ReleaseMails(ctx context.Context, owner string, ids []int64) error {
	err := s.store.Update(ctx, func(tx Tx) error {
		for _, id := range ids {
			if err := tx.ReleaseMail(ctx, id, owner); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("release mails: %w", err)
	}
	return nil
}

// MailFailed records that mail m cannot be delivered (a permanent refusal,
// or temporary ones for too long) and tells the agents on its ticket with an
// internal entry.
func (s *Service) MailFailed(ctx context.Context, m OutMail, reason string) error {
	now := s.now()
	err := s.store.Update(ctx, func(tx Tx) error {
		ok, err := tx.MarkMailFailed(ctx, m.ID, MailFailed, reason, now)
		if err != nil || !ok {
			return err
		}
		return noteUndelivered(ctx, tx, m, now, fmt.Sprintf("The mail %q to %s could not be delivered: %s", m.Subject, m.To, reason))
	})
	if err != nil {
		return fmt.Errorf("mark mail %d failed: %w", m.ID, err)
	}
	return nil
}

// noteUndelivered adds an internal entry about an undelivered mail to its
// ticket, or to the ticket that one was merged into.
func noteUndelivered(ctx context.Context, tx Tx, m OutMail, now time.Time, text string) error {
	if m.TicketID == "" {
		return nil
	}
	t, err := tx.Ticket(ctx, m.TicketID)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if t.Merged() {
		t.ID = t.MergedInto
	}
	return tx.AddEntry(ctx, &Entry{TicketID: t.ID, CreatedAt: now, AuthorKind: AuthorSystem, Internal: true, Text: text})
}

// OutboxCounts are the numbers of outbox mails by state, for metrics.
type OutboxCounts struct {
	Pending, Failed, Bounced int
}

// OutboxCounts counts the pending, failed and bounced mails.
func (s *Service) OutboxCounts(ctx context.Context) (OutboxCounts, error) {
	var c OutboxCounts
	err := s.store.View(ctx, func(tx Tx) error {
		var err error
		if c.Pending, err = tx.CountMails(ctx, MailPending); err != nil {
			return err
		}
		if c.Failed, err = tx.CountMails(ctx, MailFailed); err != nil {
			return err
		}
		c.Bounced, err = tx.CountMails(ctx, MailBounced)
		return err
	})
	if err != nil {
		return OutboxCounts{}, fmt.Errorf("count outbox: %w", err)
	}
	return c, nil
}

// AcquireLease takes or renews the named lease for owner for d; it reports
// false while another owner holds it.
func (s *Service) AcquireLease(ctx context.Context, name, owner string, d time.Duration) (bool, error) {
	now := s.now()
	var ok bool
	err := s.store.Update(ctx, func(tx Tx) error {
		var err error
		ok, err = tx.AcquireLease(ctx, name, owner, now, now.Add(d))
		return err
	})
	if err != nil {
		return false, fmt.Errorf("acquire lease %s: %w", name, err)
	}
	return ok, nil
}

// ReleaseLease gives up the named lease if owner holds it.
func (s *Service) ReleaseLease(ctx context.Context, name, owner string) error {
	err := s.store.Update(ctx, func(tx Tx) error { return tx.ReleaseLease(ctx, name, owner) })
	if err != nil {
		return fmt.Errorf("release lease %s: %w", name, err)
	}
	return nil
}

// Check reports whether the store answers; for health checks.
func (s *Service) Check(ctx context.Context) error {
	err := s.store.View(ctx, func(tx Tx) error {
		_, err := tx.PendingMails(ctx, 0, 1)
		return err
	})
	if err != nil {
		return fmt.Errorf("store check: %w", err)
	}
	return nil
}

// addToOutbox adds m to the outbox in tx, with the Listing that
// Config.ListMail makes of it.
func (s *Service) addToOutbox(ctx context.Context, tx Tx, m *OutMail) error {
	if s.cfg.ListMail != nil {
		m.Listing = s.cfg.ListMail(m)
	}
	return tx.QueueMail(ctx, m)
}
