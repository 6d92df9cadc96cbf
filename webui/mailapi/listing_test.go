package mailapi

import (
	"bytes"
	"testing"
	"time"

	"trivialtickets/core"
)

// readBack is m as a store gives it back: the time as nanoseconds since
// 1970 (0 for none), in UTC.
func readBack(m core.OutMail) core.OutMail {
	n := m.CreatedAt.UnixNano()
	if m.CreatedAt.IsZero() || n == 0 {
		m.CreatedAt = time.Time{}
	} else {
		m.CreatedAt = time.Unix(0, n).UTC()
	}
	return m
}

// FuzzListMail checks that a mail listed from the listing made when it was
// queued is byte for byte the mail encoded from the fields the store gives
// back, whatever its text, time zone and id.
func FuzzListMail(f *testing.F) {
	for _, s := range []string{"", "plain", "<script>&</script>", "ctl \x00\x1f\x7f", "Grüße 🎫", "sep\u2028\u2029",
		"bad \xff\xfe \xc3", `quote " \`} {
		f.Add(s, s+"@example.com", int64(1764539901336326220), int64(42), int32(3600))
	}
	f.Add("", "", int64(0), int64(1), int32(0))
	f.Add("x", "y", int64(-1), int64(1<<62), int32(-5*3600-1800))
	f.Fuzz(func(t *testing.T, a, b string, nanos, id int64, offset int32) {
		m := core.OutMail{ID: id, TicketID: b, From: a, To: b, ReplyTo: a + b, Subject: b + a, Body: a,
			MessageID: b, InReplyTo: a, References: []string{a, b}, State: core.MailPending,
			CreatedAt: time.Unix(0, nanos).In(time.FixedZone("z", int(offset%(18*3600))))}
		if nanos%3 == 0 {
			m.References = nil
		}
		listed := core.OutMail{ID: id, To: m.To, Listing: ListMail(&m), State: core.MailPending}
		back := readBack(m)
		got, want := appendMail([]byte("{"), &listed), appendMail([]byte("{"), &back)
		if !bytes.Equal(got, want) {
			t.Fatalf("listed from the listing:\n %s\nencoded from the fields:\n %s", got, want)
		}
	})
}

func TestListMailLocalTime(t *testing.T) {
	// A queued mail carries the time of queueing with a monotonic reading
	// and a zone; the listing must not.
	now := time.Now().In(time.FixedZone("CET", 3600))
	m := core.OutMail{ID: 7, From: "support@help.example", To: "c@example.com", Subject: "s", Body: "b", CreatedAt: now}
	listed := core.OutMail{ID: 7, To: m.To, Listing: ListMail(&m)}
	back := readBack(m)
	if got, want := appendMail(nil, &listed), appendMail(nil, &back); !bytes.Equal(got, want) {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if !bytes.Contains(appendMail(nil, &listed), []byte(now.UTC().Format(time.RFC3339Nano))) {
		t.Fatalf("listing %s lacks the time in UTC", listed.Listing)
	}
}
