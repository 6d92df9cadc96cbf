package webui_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestTicketPageWhole serves the ticket page, larger than net/http's
// 4 KiB response buffer, from a real server: the customer and the agent
// get it with its length and not in chunks, and the length is the page's.
func TestTicketPageWhole(t *testing.T) {
	e := newEnv(t)
	e.agent("alice", "Alice")
	b := e.browser()
	id := b.create("carol@example.com", "Printer <b>jam</b>", strings.Repeat("The printer is jammed again. ", 200))
	b.login("alice")
	srv := httptest.NewServer(e.h)
	defer srv.Close()
	for _, who := range []string{"customer", "agent"} {
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/ticket?id="+id, nil)
		if err != nil {
			t.Fatal(err)
		}
		if who == "agent" {
			req.AddCookie(&http.Cookie{Name: "tt_session", Value: b.cookies["tt_session"]})
		}
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			t.Fatalf("%s: read page: %v", who, err)
		}
		if res.StatusCode != http.StatusOK || len(body) < 4096 {
			t.Fatalf("%s: status %d, %d bytes", who, res.StatusCode, len(body))
		}
		if len(res.TransferEncoding) > 0 || res.ContentLength != int64(len(body)) {
			t.Errorf("%s: transfer encoding %v, Content-Length %d for %d bytes", who, res.TransferEncoding, res.ContentLength, len(body))
		}
		expectContains(t, string(body), "Printer &lt;b&gt;jam&lt;/b&gt;", "</html>")
		if who == "agent" {
			expectContains(t, string(body), "Reply to customer")
		}
	}
}
