package mailapi_test

import (
	"testing"

	"trivialtickets/core"
	"trivialtickets/webui/mailapi/wire"
)

// TestWireTagMatchesCore keeps the client's reading of the reply tag (wire,
// which cannot import core) the same as the server's (core): a subject that
// ticketcli takes for an answer to a ticket is one the daemon threads there.
func TestWireTagMatchesCore(t *testing.T) {
	id := core.NewTicketID()
	if got, want := wire.Tag(id), core.Tag(id); got != want {
		t.Fatalf("wire.Tag %q, core.Tag %q", got, want)
	}
	for _, s := range []string{
		"",
		"Printer on fire",
		core.Tag(id) + " Printer on fire",
		"Re: " + core.Tag(id),
		`[ticket "ABCDEFGHIJKLMNOP"] upper case`,
		`[ Ticket  " abcdefghijklmnop " ] spaced`,
		`[Ticket "abcdefghijklmno"] 15 characters`,
		`[Ticket "abcdefghijklmnop1"] a digit that base32 has not`,
		`[Ticket "abcdefghijklmnop"] [Ticket "qrstuvwxyz234567"] two tags`,
		`[Ticket abcdefghijklmnop] no quotes`,
		"[Ticket \"abcdefgh\nijklmnop\"] a line break",
		`[Ticket "aabcabcdefghijklmnop"] 20 characters`,
		`[Ticket "abcdefghijklmnopqrs"] 19 characters`,
		`[Ticket "abcdefghijklmnopqrstu"] 21 characters`,
	} {
		wid, wok := wire.ParseTag(s)
		cid, cok := core.ParseTag(s)
		if wid != cid || wok != cok {
			t.Errorf("%q: wire.ParseTag (%q, %v), core.ParseTag (%q, %v)", s, wid, wok, cid, cok)
		}
	}
	for _, s := range []string{id, "", "abcdefghijklmnop", "ABCDEFGHIJKLMNOP", "abcdefghijklmno1", "abcdefghijklmnopq", "abcdefghijklmn0p", "aabcabcdefghijklmnop", "abcdefghijklmnopqrs"} {
		if got, want := wire.ValidTicketID(s), core.ValidTicketID(s); got != want {
			t.Errorf("%q: wire.ValidTicketID %v, core.ValidTicketID %v", s, got, want)
		}
	}
}
