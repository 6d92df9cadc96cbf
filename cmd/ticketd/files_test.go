package main

import (
	"context"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"trivialtickets/core"
)

func mode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// TestDataDirPrivate: a data directory that exists with 0755 is tightened
// to 0700, the daemon's own files (token, database) to 0600, the SQLite
// files are 0600 from the start (-wal and -shm too), and a file that others
// can read is named for the warning.
func TestDataDirPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	for name, m := range map[string]fs.FileMode{tokenFile: 0o644, "notes.txt": 0o644, keyFile: 0o640} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x0123456789abcdef0123\n"), m); err != nil {
			t.Fatal(err)
		}
		os.Chmod(filepath.Join(dir, name), m)
	}
	st, err := openStore(t.Context(), Config{Data: dir})
	if err != nil {
		t.Fatal(err)
	}
	svc := core.NewService(st, core.Config{})
	if _, err := svc.Receive(context.Background(), core.InboundMessage{Door: core.DoorAPI, From: "a@example.com", Subject: "s", Text: "t"}); err != nil {
		t.Fatal(err)
	}
	if m := mode(t, dir); m != 0o700 {
		t.Errorf("data directory: %v, want 0700", m)
	}
	for _, name := range []string{tokenFile, keyFile, dbFile, dbFile + "-wal", dbFile + "-shm"} {
		if m := mode(t, filepath.Join(dir, name)); m != 0o600 {
			t.Errorf("%s: %v, want 0600", name, m)
		}
	}
	st.Close()
	if got := readableByOthers(dir); !slices.Equal(got, []string{filepath.Join(dir, "notes.txt")}) {
		t.Errorf("readable by others: %q, want notes.txt", got)
	}
	var logged strings.Builder
	warnExposedFiles(slog.New(slog.NewTextHandler(&logged, nil)), []string{dir, filepath.Join(dir, tokenFile), filepath.Join(dir, "notes.txt")}, readableByOthers(dir))
	for _, want := range []string{
		`level=WARN msg="other users could read this file in the data directory; it is private now" file=` + filepath.Join(dir, tokenFile),
		`level=WARN msg="other users can read this file in the data directory; make it private with chmod go-rwx" file=` + filepath.Join(dir, "notes.txt"),
	} {
		if !strings.Contains(logged.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logged.String())
		}
	}

	// A database made 0644 by an older version is tightened too.
	os.Chmod(filepath.Join(dir, dbFile), 0o644)
	st, err = openStore(t.Context(), Config{Data: dir})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if m := mode(t, filepath.Join(dir, dbFile)); m != 0o600 {
		t.Errorf("old database: %v, want 0600", m)
	}
}

// TestMetricsPlaces: by default /metrics is on the web port behind a token
// made in the data directory (0600); with metrics-listen it is not on the
// web port, and its own listener serves /metrics and nothing else.
func TestMetricsPlaces(t *testing.T) {
	dir := t.TempDir()
	met := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ticketd_up 1\n")) })
	log := slog.New(slog.DiscardHandler)
	h, token, err := metricsOnWebPort(Config{Data: dir}, met, log)
	if err != nil || h == nil || len(token) < 16 {
		t.Fatalf("default: handler %v, token %q, %v", h, token, err)
	}
	if m := mode(t, filepath.Join(dir, metricsTokenFile)); m != 0o600 {
		t.Errorf("metrics token file: %v, want 0600", m)
	}
	_, again, _ := metricsOnWebPort(Config{Data: dir}, met, log)
	if again != token {
		t.Errorf("second start: token %q, want the stored %q", again, token)
	}
	own := filepath.Join(dir, "prom-token")
	os.WriteFile(own, []byte("  my-own-metrics-token-1234 \n"), 0o600)
	if _, tok, err := metricsOnWebPort(Config{Data: dir, MetricsTokenFile: own}, met, log); err != nil || tok != "my-own-metrics-token-1234" {
		t.Errorf("metrics-token-file: %q, %v", tok, err)
	}
	os.WriteFile(own, []byte("short\n"), 0o600)
	if _, _, err := metricsOnWebPort(Config{Data: dir, MetricsTokenFile: own}, met, log); err == nil || !strings.Contains(err.Error(), "metrics-token-file") {
		t.Errorf("short token: %v, want an error naming the setting", err)
	}
	if h, _, err := metricsOnWebPort(Config{Data: dir, MetricsListen: "127.0.0.1:0"}, met, log); h != nil || err != nil {
		t.Errorf("with metrics-listen: handler %v, %v; want none on the web port", h, err)
	}
	srv := httptest.NewServer(metricsOnly(met))
	defer srv.Close()
	for path, want := range map[string]int{"/metrics": 200, "/": 404, "/dashboard": 404} {
		resp, err := http.Get(srv.URL + path)
		if err != nil || resp.StatusCode != want {
			t.Errorf("metrics listener %s: %v %v, want %d", path, resp, err, want)
		}
		resp.Body.Close()
	}
}

// TestLogsShortenTicketIDs: a ticket id, the customer's key, never appears
// whole in the log; its first 4 characters tell tickets apart.
func TestLogsShortenTicketIDs(t *testing.T) {
	id := core.NewTicketID()
	for _, format := range []string{"text", "json"} {
		var out strings.Builder
		log := newLogger(Config{LogLevel: "debug", LogFormat: format}, &out)
		log.Info("message received", "door", "smtp", "ticket", id)
		log.With("ticket", id).Warn("delivery failed")
		log.Info("not an id", "ticket", "(none)")
		if strings.Contains(out.String(), id) || strings.Count(out.String(), id[:4]+"…") != 2 || !strings.Contains(out.String(), "(none)") {
			t.Errorf("%s log:\n%s\nwant %s… twice and never %s", format, out.String(), id[:4], id)
		}
	}
}
