package core

import (
	"context"
	"fmt"
)

// PendingMails returns at most limit pending outbox mails with an ID greater
// than afterID, in ID order.
func (s *Service) PendingMails(ctx context.Context, afterID int64, limit int) ([]OutMail, error) {
	var ms []OutMail
	err := s.store.View(ctx, func(tx Tx) error {
		var err error
		ms, err = tx.PendingMails(ctx, afterID, limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pending mails: %w", err)
	}
	return ms, nil
}

// VerifyMail marks a pending mail as sent; it reports false when no pending
// mail has that id.
func (s *Service) VerifyMail(ctx context.Context, id int64) (bool, error) {
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
