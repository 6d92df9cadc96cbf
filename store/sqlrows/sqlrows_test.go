package sqlrows

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"trivialtickets/core"
)

// row is a Scan over fixed values, as a driver would copy them.
func row(values ...any) Scan {
	return func(dest ...any) error {
		if len(dest) != len(values) {
			return errors.New("column count differs")
		}
		for i, v := range values {
			d := reflect.ValueOf(dest[i]).Elem()
			if v == nil {
				d.SetZero()
				continue
			}
			d.Set(reflect.ValueOf(v).Convert(d.Type()))
		}
		return nil
	}
}

func TestTimes(t *testing.T) {
	at := time.Date(2026, 11, 30, 22, 0, 0, 123, time.FixedZone("x", 3600))
	for _, tt := range []struct {
		in   time.Time
		want int64
	}{{time.Time{}, 0}, {at, at.UnixNano()}} {
		n := Nanos(tt.in)
		if n != tt.want {
			t.Errorf("Nanos(%v) = %d, want %d", tt.in, n, tt.want)
		}
		if back := FromNanos(n); !back.Equal(tt.in) || (n != 0 && back.Location() != time.UTC) {
			t.Errorf("FromNanos(%d) = %v, want %v in UTC", n, back, tt.in)
		}
	}
}

func TestScanTicketAssignee(t *testing.T) {
	assigned := "alice"
	for _, tt := range []struct {
		name     string
		assignee any
		want     string
	}{{"NULL is unassigned", nil, ""}, {"a name", &assigned, "alice"}} {
		t.Run(tt.name, func(t *testing.T) {
			tk, err := ScanTicket(row("T1", "Printer", "c@example.org", "C", "open", tt.assignee, "",
				"<r@x>", "<l@x>", int64(1e18), int64(2e18), int64(3e18), int64(0), int64(0), int64(0), "support"))
			if err != nil {
				t.Fatal(err)
			}
			if tk.Assignee != tt.want || tk.Status != core.StatusOpen || !tk.CustomerAt.IsZero() ||
				!tk.ActivityAt.Equal(FromNanos(3e18)) || tk.Mailbox != "support" {
				t.Errorf("ticket = %+v", tk)
			}
		})
	}
}

func TestAttach(t *testing.T) {
	es := []core.Entry{{ID: 1}, {ID: 2}}
	Attach(es, []EntryAttachment{
		{EntryID: 2, Attachment: core.Attachment{ID: 10, Filename: "a.txt"}},
		{EntryID: 9, Attachment: core.Attachment{ID: 11, Filename: "lost.txt"}},
		{EntryID: 2, Attachment: core.Attachment{ID: 12, Filename: "b.txt"}},
	})
	if len(es[0].Attachments) != 0 {
		t.Errorf("entry 1 got %v", es[0].Attachments)
	}
	if got := es[1].Attachments; len(got) != 2 || got[0].ID != 10 || got[1].ID != 12 {
		t.Errorf("entry 2 got %v, want attachments 10 and 12 in order", got)
	}
}
