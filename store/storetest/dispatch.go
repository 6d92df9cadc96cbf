package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"trivialtickets/core"
)

// queueMails queues n pending mails on a new ticket and returns them.
func queueMails(t *testing.T, st core.Store, n int) []core.OutMail {
	t.Helper()
	ctx := t.Context()
	tk := newTicket(at(0), "alice@example.com")
	var ms []core.OutMail
	update(t, st, func(tx core.Tx) error {
		ms = nil // a store may run fn again
		if err := tx.CreateTicket(ctx, tk); err != nil {
			return err
		}
		for i := range n {
			m := core.OutMail{TicketID: tk.ID, From: "support@help.example", To: "alice@example.com",
				Subject: fmt.Sprintf("mail %d", i), Body: "body", MessageID: fmt.Sprintf("%s-%d.tt@help.example", tk.ID, i),
				CreatedAt: at(i)}
			if err := tx.QueueMail(ctx, &m); err != nil {
				return err
			}
			ms = append(ms, m)
		}
		return nil
	})
	return ms
}

// mailIDs returns the ids of ms, in order.
func mailIDs(ms []core.OutMail) []int64 {
	return mapped(ms, func(m core.OutMail) int64 { return m.ID })
}

func claim(t *testing.T, st core.Store, owner string, now time.Time, limit int) []core.OutMail {
	t.Helper()
	var ms []core.OutMail
	update(t, st, func(tx core.Tx) error {
		var err error
		ms, err = tx.ClaimMails(t.Context(), owner, now, now.Add(time.Minute), limit)
		return err
	})
	return ms
}

func testDispatch(t *testing.T, st core.Store) {
	ctx := t.Context()
	queued := queueMails(t, st, 6)
	now := at(10_000)

	// Claims come in id order, respect the limit, and a leased mail is not
	// claimed again while the lease lasts, by anyone.
	first := claim(t, st, "a", now, 4)
	if want := mailIDs(queued[:4]); !slices.Equal(mailIDs(first), want) {
		t.Fatalf("ClaimMails(limit 4) = %v, want %v", mailIDs(first), want)
	}
	if first[0].Subject != "mail 0" || first[0].MessageID != queued[0].MessageID || first[0].State != core.MailPending {
		t.Errorf("claimed mail = %+v", first[0])
	}
	if got := claim(t, st, "b", now.Add(30*time.Second), 10); !slices.Equal(mailIDs(got), mailIDs(queued[4:])) {
		t.Errorf("second claim during the lease = %v, want %v", mailIDs(got), mailIDs(queued[4:]))
	}
	// The owner itself (a restart under the same name) gets its mails back
	// at once; they stay its own.
	if got := claim(t, st, "a", now.Add(30*time.Second), 10); !slices.Equal(mailIDs(got), mailIDs(queued[:4])) {
		t.Errorf("claim by the owner during its lease = %v, want %v", mailIDs(got), mailIDs(queued[:4]))
	}
	// Leased mails are still pending for the Mail API.
	view(t, st, func(tx core.Tx) error {
		ms, err := tx.PendingMails(ctx, 0, 100)
		if len(ms) != 6 {
			t.Errorf("PendingMails while leased = %d, want 6", len(ms))
		}
		return err
	})

	// Released by its owner (only): claimable again at once, no attempt.
	update(t, st, func(tx core.Tx) error {
		if err := tx.ReleaseMail(ctx, queued[5].ID, "a"); err != nil { // not a's
			return err
		}
		return tx.ReleaseMail(ctx, queued[4].ID, "b")
	})
	if got := claim(t, st, "c", now.Add(31*time.Second), 10); len(got) != 1 || got[0].ID != queued[4].ID || got[0].Attempts != 0 {
		t.Errorf("claim after release = %+v, want mail %d with no attempt", got, queued[4].ID)
	}

	// Sent, retried, failed.
	update(t, st, func(tx core.Tx) error {
		if ok, err := tx.MarkMailSent(ctx, queued[0].ID, now); !ok || err != nil {
			t.Errorf("MarkMailSent = %v, %v", ok, err)
		}
		if err := tx.RetryMail(ctx, queued[1].ID, now.Add(time.Hour), "451 4.3.0 try later"); err != nil {
			t.Errorf("RetryMail: %v", err)
		}
		if ok, err := tx.MarkMailFailed(ctx, queued[2].ID, core.MailFailed, "550 5.1.1 no such user", now); !ok || err != nil {
			t.Errorf("MarkMailFailed = %v, %v", ok, err)
		}
		err := tx.RetryMail(ctx, queued[0].ID, now, "x")
		wantErr(t, "RetryMail of a sent mail", err, core.ErrNotFound)
		return nil
	})

	// After the lease: mail 3 (leased, never finished: its dispatcher died)
	// and mails 4, 5 come back; mail 1 waits for its next try.
	later := now.Add(2 * time.Minute)
	if got, want := mailIDs(claim(t, st, "c", later, 10)), []int64{queued[3].ID, queued[4].ID, queued[5].ID}; !slices.Equal(got, want) {
		t.Errorf("claim after the lease = %v, want %v", got, want)
	}
	update(t, st, func(tx core.Tx) error {
		for _, m := range queued[3:] {
			if _, err := tx.MarkMailSent(ctx, m.ID, later); err != nil {
				return err
			}
		}
		return nil
	})
	retried := claim(t, st, "c", now.Add(time.Hour), 10)
	if len(retried) != 1 || retried[0].ID != queued[1].ID || retried[0].Attempts != 1 ||
		retried[0].LastError != "451 4.3.0 try later" || !retried[0].NextTry.Equal(now.Add(time.Hour)) {
		t.Errorf("claim at the next try = %+v, want mail %d with 1 attempt", retried, queued[1].ID)
	}

	view(t, st, func(tx core.Tx) error {
		m, err := tx.MailByMessageID(ctx, queued[2].MessageID)
		if err != nil || m.ID != queued[2].ID || m.State != core.MailFailed || m.LastError != "550 5.1.1 no such user" || !m.SentAt.Equal(now) {
			t.Errorf("MailByMessageID(failed) = %+v, %v", m, err)
		}
		_, err = tx.MailByMessageID(ctx, "unknown@help.example")
		wantErr(t, "MailByMessageID(unknown)", err, core.ErrNotFound)
		for state, want := range map[core.MailState]int{core.MailPending: 1, core.MailSent: 4, core.MailFailed: 1, core.MailBounced: 0} {
			if n, err := tx.CountMails(ctx, state); n != want || err != nil {
				t.Errorf("CountMails(%s) = %d, %v; want %d", state, n, err, want)
			}
		}
		return nil
	})

	// A sent mail can bounce later; a failed one cannot change again.
	update(t, st, func(tx core.Tx) error {
		if ok, err := tx.MarkMailFailed(ctx, queued[0].ID, core.MailBounced, "5.1.1 unknown user", later); !ok || err != nil {
			t.Errorf("MarkMailFailed(sent → bounced) = %v, %v", ok, err)
		}
		if ok, err := tx.MarkMailFailed(ctx, queued[2].ID, core.MailBounced, "again", later); ok || err != nil {
			t.Errorf("MarkMailFailed(failed → bounced) = %v, %v; want false", ok, err)
		}
		return nil
	})
	view(t, st, func(tx core.Tx) error {
		m, err := tx.MailByMessageID(ctx, queued[0].MessageID)
		if err != nil || m.State != core.MailBounced || m.LastError != "5.1.1 unknown user" {
			t.Errorf("bounced mail = %+v, %v", m, err)
		}
		return nil
	})
}

// testConcurrentClaims has several dispatchers claim at once: every mail is
// claimed exactly once.
func testConcurrentClaims(t *testing.T, st core.Store) {
	queued := queueMails(t, st, 120)
	now := at(10_000)
	const workers = 6
	var (
		mu   sync.Mutex
		seen = map[int64]string{}
		wg   sync.WaitGroup
		errs = make([]error, workers)
	)
	for w := range workers {
		wg.Go(func() {
			owner := fmt.Sprintf("d%d", w)
			for {
				var ms []core.OutMail
				err := st.Update(t.Context(), func(tx core.Tx) error {
					var err error
					ms, err = tx.ClaimMails(t.Context(), owner, now, now.Add(time.Minute), 7)
					return err
				})
				if err != nil {
					errs[w] = err
					return
				}
				if len(ms) == 0 {
					return
				}
				mu.Lock()
				for _, m := range ms {
					if prev, dup := seen[m.ID]; dup {
						errs[w] = fmt.Errorf("mail %d claimed by %s and %s", m.ID, prev, owner)
					}
					seen[m.ID] = owner
				}
				mu.Unlock()
				if errs[w] != nil {
					return
				}
				// Sent, as a dispatcher does before its next claim.
				err = st.Update(t.Context(), func(tx core.Tx) error {
					for _, m := range ms {
						if _, err := tx.MarkMailSent(t.Context(), m.ID, now); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if len(seen) != len(queued) {
		t.Errorf("%d mails claimed, want %d", len(seen), len(queued))
	}
}

func testLeases(t *testing.T, st core.Store) {
	ctx := t.Context()
	acquire := func(name, owner string, now time.Time) bool {
		var ok bool
		update(t, st, func(tx core.Tx) error {
			var err error
			ok, err = tx.AcquireLease(ctx, name, owner, now, now.Add(10*time.Second))
			return err
		})
		return ok
	}
	steps := []struct {
		name, owner string
		now         int // seconds after t0
		want        bool
	}{
		{"imap:a", "d1", 0, true},
		{"imap:a", "d2", 1, false}, // held by d1
		{"imap:b", "d2", 1, true},  // another lease
		{"imap:a", "d1", 5, true},  // renewal, now until 15
		{"imap:a", "d2", 12, false},
		{"imap:a", "d2", 15, true}, // expired: taken over
		{"imap:a", "d1", 16, false},
	}
	for i, s := range steps {
		if got := acquire(s.name, s.owner, at(s.now*1000)); got != s.want {
			t.Errorf("step %d: AcquireLease(%s, %s, +%ds) = %v, want %v", i, s.name, s.owner, s.now, got, s.want)
		}
	}
	update(t, st, func(tx core.Tx) error {
		if err := tx.ReleaseLease(ctx, "imap:a", "d1"); err != nil { // not d1's: nothing happens
			return err
		}
		return nil
	})
	if acquire("imap:a", "d1", at(17_000)) {
		t.Errorf("release by a non-owner freed the lease")
	}
	update(t, st, func(tx core.Tx) error { return tx.ReleaseLease(ctx, "imap:a", "d2") })
	if !acquire("imap:a", "d1", at(17_000)) {
		t.Errorf("lease not free after its owner released it")
	}
}
