package webui_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"trivialtickets/core"
	"trivialtickets/webui"
)

func TestObserveMetricsAndStatus(t *testing.T) {
	type obs struct {
		route, method string
		status        int
	}
	var mu sync.Mutex
	var seen []obs
	e := newEnvConfig(t, func(c *webui.Config) {
		c.ObserveRequest = func(route, method string, status int, d time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, obs{route, method, status})
		}
		c.Metrics = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ticketd_up 1\n")) })
		c.Status = func() []string { return []string{"imap support@example.com: login failed"} }
	})
	b := e.browser()
	if r := b.get("/metrics"); r.Code != 200 || r.Body != "ticketd_up 1\n" {
		t.Errorf("/metrics = %d %q", r.Code, r.Body)
	}
	if r := b.get("/healthz"); r.Code != 200 || r.Body != "ok\nimap support@example.com: login failed\n" {
		t.Errorf("/healthz = %d %q, want ok and the status line", r.Code, r.Body)
	}
	b.get("/ticket?id=aaaaaaaaaaaaaaaa")
	b.get("/no/such/page")
	mu.Lock()
	defer mu.Unlock()
	want := []obs{{"/metrics", "GET", 200}, {"/healthz", "GET", 200}, {"/ticket", "GET", 404}, {"other", "GET", 404}}
	if len(seen) != len(want) {
		t.Fatalf("observed %+v, want %+v", seen, want)
	}
	for i := range want {
		if seen[i] != want[i] {
			t.Errorf("observation %d = %+v, want %+v", i, seen[i], want[i])
		}
	}
}

// A reply threaded by its tag but sent by someone other than the customer
// is kept and marked for agents with the real sender.
func TestOtherSenderMarked(t *testing.T) {
	e := newEnv(t)
	e.agent("bob", "Bob")
	b := e.browser()
	id := b.create("alice@example.com", "Printer", "It is broken.")
	if _, err := e.svc.Receive(t.Context(), core.InboundMessage{Door: core.DoorSMTP, From: "carol@example.org", FromName: "Carol",
		Subject: `Re: [Ticket "` + id + `"] Printer`, Text: "Same here.", MessageID: "carol-1@example.org"}); err != nil {
		t.Fatal(err)
	}
	agent := e.browser()
	agent.login("bob")
	r := agent.get("/ticket?id=" + id)
	expectContains(t, r.Body, `<span class="author">Carol</span> <span class="addr">carol@example.org</span>`, "not the ticket's customer", "Same here.")
	if strings.Count(r.Body, "not the ticket's customer") != 1 {
		t.Errorf("the customer's own entry is marked too")
	}
	expectLacks(t, b.get("/ticket?id="+id).Body, "not the ticket's customer")
}
