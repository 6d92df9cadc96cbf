package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"trivialtickets/core"
	"trivialtickets/webui/mailapi/client"
)

// TestSMTPSenderOfSeveralAddresses is issue 11's case end to end: a mail
// over SMTP with MAIL FROM:<a@evil.test,b@evil.test> (or junk like
// x"y,z@evil.test>@evil.test) and no From: header makes an unanswerable
// ticket; when an agent answers it on the web, fetchMails lists nothing,
// and every "to" it ever lists is one valid address.
func TestSMTPSenderOfSeveralAddresses(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	var errb bytes.Buffer
	if code := run(context.Background(), []string{"user", "add", "bob", "--data", data}, nil,
		strings.NewReader("bob-password-1\n"), io.Discard, &errb); code != 0 {
		t.Fatalf("user add: %s", errb.String())
	}
	smtpAddr := freeAddr(t)
	base, _ := startDaemon(t, "--data", data, "--http", "127.0.0.1:0", "--no-tls", "--smtp", smtpAddr,
		"--support-address", "help@help.example")

	for i, from := range []string{"a@evil.test,b@evil.test", `x"y,z@evil.test>@evil.test`} {
		sc, err := smtp.Dial(smtpAddr)
		if err != nil {
			t.Fatal(err)
		}
		err = sc.SendMail(from, []string{"help@help.example"}, strings.NewReader(
			"To: help@help.example\r\nSubject: Call me "+string(rune('A'+i))+"\r\n\r\nPlease answer.\r\n"))
		sc.Close()
		if err != nil {
			t.Logf("MAIL FROM:<%s> refused by the gateway: %v", from, err)
		}
	}

	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(path string, form url.Values) *http.Response {
		resp, err := hc.PostForm(base+path, form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if r := post("/login", url.Values{"username": {"bob"}, "password": {"bob-password-1"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", r.StatusCode)
	}
	resp, err := hc.Get(base + "/tickets")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	ids := map[string]bool{}
	for _, m := range regexp.MustCompile(`ticket\?id=([a-z2-7]{20})`).FindAllStringSubmatch(string(page), -1) {
		ids[m[1]] = true
	}
	if len(ids) == 0 {
		t.Fatalf("no tickets listed:\n%s", page)
	}
	for id := range ids {
		post("/ticket/assign", url.Values{"id": {id}, "agent": {"bob"}})
		if r := post("/ticket/save", url.Values{"id": {id}, "status": {"in_progress"}, "reply": {"external"}, "comment": {"Here is our answer."}}); r.StatusCode != http.StatusSeeOther {
			t.Errorf("answer ticket %s: %d", id, r.StatusCode)
		}
	}

	token, _ := os.ReadFile(filepath.Join(data, tokenFile))
	mails, err := client.New(base, strings.TrimSpace(string(token)), &http.Client{Timeout: 10 * time.Second}).FetchMails(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mails {
		if !core.SingleAddress(m.To) {
			t.Errorf("fetchMails lists a mail to %q", m.To)
		}
	}
	if len(mails) != 0 {
		t.Errorf("fetchMails: %+v, want nothing for unanswerable tickets", mails)
	}
}
