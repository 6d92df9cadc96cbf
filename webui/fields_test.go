package webui_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestFieldLengthLimits: every form and query field has a limit; beyond it
// the answer is 400 with a message naming the field and the limit, and
// nothing is stored.
func TestFieldLengthLimits(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.agent("alice", "")
	b := e.browser()
	id := b.create("carol@example.com", "Printer", "It is broken.")
	long := func(n int) string { return strings.Repeat("é", n) }
	tests := []struct {
		name, path string
		form       url.Values
		want       string
	}{
		{"e-mail", "/ticket/new", url.Values{"email": {strings.Repeat("a", 1100) + "@example.com"}, "subject": {"s"}, "message": {"m"}}, "E-mail: at most 254 characters."},
		{"subject", "/ticket/new", url.Values{"email": {"c@example.com"}, "subject": {long(1025)}, "message": {"m"}}, "Subject: at most 250 characters."},
		{"message", "/ticket/new", url.Values{"email": {"c@example.com"}, "subject": {"s"}, "message": {strings.Repeat("m", 1<<20+1)}}, "Shorten the message to 1024 KiB or less"},
		{"comment", "/ticket/comment", url.Values{"id": {id}, "comment": {strings.Repeat("c", 256<<10+1)}}, "Comment: at most 65536 bytes."},
		{"user name", "/login", url.Values{"username": {strings.Repeat("a", 1025)}, "password": {"x"}}, "User name: at most 64 characters."},
		{"password", "/login", url.Values{"username": {"alice"}, "password": {strings.Repeat("p", 1025)}}, "Password: at most 72 bytes."},
		{"id", "/ticket/comment", url.Values{"id": {strings.Repeat("x", 1025)}, "comment": {"c"}}, "The field id: at most 256 characters."},
		// A little too long reaches the form, which says so beside the field.
		{"subject beside its field", "/ticket/new", url.Values{"email": {"c@example.com"}, "subject": {long(251)}, "message": {"m"}}, "Shorten the subject to 250 characters or fewer."},
	}
	for _, tt := range tests {
		r := b.post(tt.path, tt.form)
		if r.Code != http.StatusBadRequest || !strings.Contains(r.Body, tt.want) {
			t.Errorf("%s too long: %d, want 400 with %q:\n%s", tt.name, r.Code, tt.want, excerpt(r.Body))
		}
	}
	// At the limit is fine (characters, not bytes, for the subject).
	b.create("c@example.com", long(250), "m")
	b.login("alice")
	r := b.get("/tickets?q=" + strings.Repeat("x", 201))
	if r.Code != http.StatusBadRequest || !strings.Contains(r.Body, "The search is longer than 200 characters") {
		t.Errorf("long search: %d:\n%s", r.Code, excerpt(r.Body))
	}
	if v := e.view(id); len(v.Entries) != 1 {
		t.Errorf("entries after refused comments: %d, want 1", len(v.Entries))
	}
}
