package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestBuildsWithoutServer shows that ticketcli speaks the Mail API through
// the leaf package mailapi/wire alone: its build pulls in none of the
// daemon's domain, password hashing, router or stores.
func TestBuildsWithoutServer(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		msg := "the go command is not on PATH (Debian package golang-go): cannot list ticketcli's dependencies"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	forbidden := []struct{ prefix, what string }{
		{"trivialtickets/core", "the domain"},
		{"trivialtickets/store", "the stores"},
		{"trivialtickets/mailgw", "the mail gateways"},
		{"trivialtickets/webui/mailapi", "the Mail API server"}, // wire and client are allowed below
		{"golang.org/x/crypto/bcrypt", "password hashing"},
		{"github.com/go-chi/chi", "the web router"},
		{"modernc.org/sqlite", "SQLite"},
		{"github.com/jackc/pgx", "PostgreSQL"},
	}
	allowed := map[string]bool{
		"trivialtickets/webui/mailapi/wire":   true,
		"trivialtickets/webui/mailapi/client": true,
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps printed %d packages; expected the standard library at least:\n%s", len(deps), out)
	}
	for _, dep := range deps {
		if allowed[dep] {
			continue
		}
		for _, f := range forbidden {
			if dep == f.prefix || strings.HasPrefix(dep, f.prefix+"/") {
				t.Errorf("ticketcli depends on %s (%s)", dep, f.what)
			}
		}
	}
}
