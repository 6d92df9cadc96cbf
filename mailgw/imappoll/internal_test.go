package imappoll

import (
	"slices"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

func TestUIDBatches(t *testing.T) {
	// Unsorted, overlapping ranges from a server come out once each, in
	// ascending order, n at a time.
	set := imap.UIDSet{{Start: 250, Stop: 252}, {Start: 1, Stop: 3}, {Start: 2, Stop: 5}, {Start: 9, Stop: 7}, {Start: 0, Stop: 0}}
	var got [][]imap.UID
	for b := range uidBatches(set, 4) {
		got = append(got, slices.Clone(b))
	}
	want := [][]imap.UID{{1, 2, 3, 4}, {5, 7, 8, 9}, {250, 251, 252}}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("batches = %v, want %v", got, want)
	}
	// A large set streams: stopping early never expands the rest.
	n := 0
	for b := range uidBatches(imap.UIDSet{{Start: 1, Stop: 4_000_000_000}}, 100) {
		if n++; n == 3 || len(b) != 100 {
			break
		}
	}
	if n != 3 {
		t.Errorf("stopped after %d batches", n)
	}
	for range uidBatches(nil, 100) {
		t.Error("a batch from an empty set")
	}
	// The largest UID does not wrap around.
	var last []imap.UID
	for b := range uidBatches(imap.UIDSet{{Start: 4294967294, Stop: 4294967295}}, 100) {
		last = b
	}
	if !slices.Equal(last, []imap.UID{4294967294, 4294967295}) {
		t.Errorf("batch at the top = %v", last)
	}
}

func TestKeywordsAllowed(t *testing.T) {
	for _, tc := range []struct {
		perm []imap.Flag
		want bool
	}{
		{nil, true}, // no PERMANENTFLAGS: everything is permanent
		{[]imap.Flag{imap.FlagSeen, imap.FlagWildcard}, true},
		{[]imap.Flag{imap.FlagSeen, "$ticketdfailed"}, true},
		{[]imap.Flag{imap.FlagSeen, imap.FlagFlagged}, false},
	} {
		if got := keywordsAllowed(tc.perm); got != tc.want {
			t.Errorf("keywordsAllowed(%v) = %v", tc.perm, got)
		}
	}
}

func TestCriteria(t *testing.T) {
	p := &Poller{}
	s := &session{p: p, keywords: true}
	c := s.criteria()
	if !slices.Equal(c.NotFlag, []imap.Flag{imap.FlagDeleted, imap.FlagSeen, FailedKeyword}) {
		t.Errorf("unseen mode: %+v", c)
	}
	p.acct.Processed = "Done"
	if c := s.criteria(); !slices.Equal(c.NotFlag, []imap.Flag{imap.FlagDeleted, FailedKeyword}) || len(c.Not) != 0 {
		t.Errorf("processed mode: %+v", c)
	}
	s.keywords = false
	if c := s.criteria(); !slices.Equal(c.NotFlag, []imap.Flag{imap.FlagDeleted}) || len(c.Not) != 1 ||
		!slices.Equal(c.Not[0].Flag, []imap.Flag{imap.FlagSeen, imap.FlagFlagged}) {
		t.Errorf("processed mode without keywords: %+v", c)
	}
}

func TestBackoff(t *testing.T) {
	p := &Poller{backoffMin: time.Second, backoffMax: time.Minute}
	for n, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 32 * time.Second, time.Minute, time.Minute} {
		for range 20 {
			if d := p.backoff(n); d < want/2 || d > want {
				t.Errorf("backoff(%d) = %v, want within [%v, %v]", n, d, want/2, want)
			}
		}
	}
	if d := p.backoff(1000); d < 30*time.Second || d > time.Minute {
		t.Errorf("backoff(1000) = %v", d)
	}
}
