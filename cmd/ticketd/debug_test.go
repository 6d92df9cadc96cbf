package main

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDebugListen: with debug-listen the profiles are served on their own
// address, and never on the public listener.
func TestDebugListen(t *testing.T) {
	debug := freeAddr(t)
	url, _ := startDaemon(t, "--data", filepath.Join(t.TempDir(), "data"), "--http", "127.0.0.1:0", "--no-tls",
		"--smtp", "", "--debug-listen", debug, "--log-level", "error")

	var body string
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + debug + "/debug/pprof/")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("debug server: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(body, "goroutine") || !strings.Contains(body, "heap") {
		t.Errorf("debug index lists no profiles:\n%.300s", body)
	}
	resp, err := http.Get(url + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("public listener: /debug/pprof/ = %d, want 404", resp.StatusCode)
	}
}
