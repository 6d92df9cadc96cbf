package parse

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func spoolMessage(bodyBytes int) string {
	return "From: a@example.org\r\nSubject: Big\r\n\r\n" + strings.Repeat("x", bodyBytes) + "\r\n"
}

func TestSpool(t *testing.T) {
	tests := []struct {
		name    string
		size    int
		maxSize int64
		wantErr error
	}{
		{"small, in memory", 100, 0, nil},
		{"large, through a file", 10000, 0, nil},
		{"over the limit while in memory", 500, 200, ErrTooLarge},
		{"over the limit while spooling", 10000, 5000, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			sp := NewSpool(SpoolConfig{Dir: dir, Threshold: 1000, MaxLarge: 1})
			m, release, err := sp.Parse(context.Background(), strings.NewReader(spoolMessage(tt.size)), Limits{MaxSize: tt.maxSize})
			release()
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			if err == nil && (m.From != "a@example.org" || len(strings.TrimSpace(m.Text)) != tt.size) {
				t.Errorf("parsed %q with %d bytes of text", m.From, len(m.Text))
			}
			if files, _ := os.ReadDir(dir); len(files) != 0 {
				t.Errorf("files left in the spool: %v", files)
			}
		})
	}
}

// TestSpoolTurns: while one large message holds the only turn, another
// waits and gets ErrBusy after MaxWait; a small one goes through.
func TestSpoolTurns(t *testing.T) {
	sp := NewSpool(SpoolConfig{Dir: t.TempDir(), Threshold: 1000, MaxLarge: 1, MaxWait: 50 * time.Millisecond})
	_, release, err := sp.Parse(context.Background(), strings.NewReader(spoolMessage(5000)), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, rel, err := sp.Parse(ctx, strings.NewReader(spoolMessage(5000)), Limits{}); !errors.Is(err, ErrBusy) {
		rel()
		t.Errorf("second large message while the turn is held: %v, want ErrBusy", err)
	}
	if _, rel, err := sp.Parse(ctx, strings.NewReader(spoolMessage(10)), Limits{}); err != nil {
		t.Errorf("small message while the turn is held: %v", err)
	} else {
		rel()
	}
	release()
	_, rel, err := sp.Parse(context.Background(), strings.NewReader(spoolMessage(5000)), Limits{})
	if err != nil {
		t.Errorf("large message after the turn was given back: %v", err)
	}
	rel()
}

type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, errors.New("connection reset")
	}
	k := min(len(p), r.n)
	for i := range k {
		p[i] = 'x'
	}
	r.n -= k
	return k, nil
}

func TestSpoolReadErrorAndClean(t *testing.T) {
	dir := t.TempDir()
	sp := NewSpool(SpoolConfig{Dir: dir, Threshold: 1000})
	_, release, err := sp.Parse(context.Background(), &failingReader{n: 5000}, Limits{})
	release()
	if !errors.Is(err, ErrRead) {
		t.Errorf("a sender that goes away: %v, want ErrRead", err)
	}
	left := filepath.Join(dir, "message-123.eml")
	other := filepath.Join(dir, "ticketd.db")
	os.WriteFile(left, []byte("x"), 0o600)
	os.WriteFile(other, []byte("x"), 0o600)
	if err := Clean(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(left); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a left-over spool file survived Clean")
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("Clean removed another file: %v", err)
	}
}
