package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"trivialtickets/core"
)

// TestSearchWordsMatchSQL: for every character that wordSafe vouches for,
// alone, inside a word, between CJK characters and repeated, the daemon's
// words (core.SearchWords) are those of tt_search_words on the server, as a
// set (the index is one); and a few texts with characters it does not vouch
// for are left to SQL.
func TestSearchWordsMatchSQL(t *testing.T) {
	t.Parallel()
	st := openTemp(t).(*Store)
	ctx := t.Context()
	var texts []string
	for r := rune(0); r <= 0xffff; r++ {
		if !wordSafe(r) {
			continue
		}
		c := string(r)
		texts = append(texts, c, "xY"+c+"Zw", "漢"+c+"字", c+c+" "+c+"Ab")
	}
	texts = append(texts,
		"Guten Tag, mein Drucker (HP LaserJet 4000) 印刷できません。",
		"Rückerstattung für Bestellung 4711 – „Überweisung“ nicht angekommen… Grüße, Jürgen Groß",
		"Здравствуйте! Принтер не печатает.", "先月の請求書が届きません。確認していただけますか。",
		"안녕하세요 프린터가 고장났어요", "ＰＲＩＮＴＥＲ　ｉｓ　ｏｎ　ｆｉｒｅ！", "ÆØÅ æøå ŒœŸ ĳ Ĳ ŉ ſ",
		"w1234@example.com load 99 Hello from wrk.", "tab\there\r\nnew line", "")
	const chunk = 20000
	for i := 0; i < len(texts); i += chunk {
		part := texts[i:min(i+chunk, len(texts))]
		sql, err := searchWordsSQL(ctx, st, part)
		if err != nil {
			t.Fatal(err)
		}
		for j, s := range part {
			goWords := searchWords(s)
			if goWords == nil {
				t.Fatalf("searchWords(%q) = nil for a text of safe characters", s)
			}
			want := slices.Compact(slices.Sorted(slices.Values(sql[j])))
			if !slices.Equal(goWords, want) {
				t.Errorf("words of %q (%U): daemon %q, SQL %q", s, []rune(s), goWords, want)
			}
		}
	}
	for _, s := range []string{"Grüße 😀", "Cafe\u0301", "ΟΔΟΣ", "İstanbul", "price 5 €", "ª", "\xff"} {
		if w := searchWords(s); w != nil {
			t.Errorf("searchWords(%q) = %q, want nil (left to SQL)", s, w)
		}
	}
}

// searchWordsSQL returns tt_search_words of each of texts.
func searchWordsSQL(ctx context.Context, st *Store, texts []string) ([][]string, error) {
	rows, err := st.pool.Query(ctx, `SELECT coalesce(tt_search_words(u.s), '{}')
		FROM unnest($1::text[]) WITH ORDINALITY AS u(s, i) ORDER BY u.i`, texts)
	if err != nil {
		return nil, fmt.Errorf("tt_search_words: %w", err)
	}
	out := make([][]string, 0, len(texts))
	for rows.Next() {
		var w []string
		if err := rows.Scan(&w); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// indexRow returns the entries whose words the last transaction that wrote
// ticket id's index row merged into it (nil when the commit's rebuild wrote
// it), and whether its words are those a rebuild makes.
func indexRow(t *testing.T, st *Store, id string) (merged []int64, exact bool) {
	t.Helper()
	if err := st.pool.QueryRow(t.Context(), `SELECT merged, words = tt_ticket_words(ticket_id)
		FROM ticket_search WHERE ticket_id = $1`, id).Scan(&merged, &exact); err != nil {
		t.Fatalf("index row of %s: %v", id, err)
	}
	return merged, exact
}

// TestSearchWordsGivenOrRebuilt: which side makes a ticket's words after
// each kind of write, and that the words are always those of a rebuild:
// the daemon's for safe text, SQL's for text it leaves to SQL, for a delete
// in the same transaction as merged words, and when SET CONSTRAINTS ALL
// IMMEDIATE had the triggers rebuild the row before the daemon's words
// came.
func TestSearchWordsGivenOrRebuilt(t *testing.T) {
	t.Parallel()
	st := openTemp(t).(*Store)
	ctx := t.Context()
	now := time.Now()
	n := 0
	update := func(fn func(c *tx) error) {
		t.Helper()
		if err := st.Update(ctx, func(c core.Tx) error { return fn(c.(*tx)) }); err != nil {
			t.Fatal(err)
		}
	}
	newTicket := func(c *tx, subject string) (string, error) {
		n++
		id := fmt.Sprintf("search%010d", n)
		return id, c.CreateTicket(ctx, core.Ticket{ID: id, Subject: subject, Customer: "alice@example.com",
			Status: core.StatusOpen, CreatedAt: now, UpdatedAt: now})
	}
	entry := func(c *tx, id, text string, kind core.AuthorKind) (int64, error) {
		e := &core.Entry{TicketID: id, CreatedAt: now, AuthorKind: kind, Text: text}
		err := c.AddEntry(ctx, e)
		return e.ID, err
	}
	var a, b, s string
	var e1, e2 int64
	update(func(c *tx) (err error) {
		if a, err = newTicket(c, "Drucker kaputt"); err != nil {
			return err
		}
		e1, err = entry(c, a, "Papier klemmt", core.AuthorCustomer)
		return err
	})
	if merged, exact := indexRow(t, st, a); !slices.Equal(merged, []int64{e1}) || !exact {
		t.Errorf("new ticket: merged %v, exact %v; want [%d], true", merged, exact, e1)
	}
	update(func(c *tx) (err error) {
		if _, err = entry(c, a, "Assigned to bob.", core.AuthorSystem); err != nil {
			return err
		}
		e2, err = entry(c, a, "Walze reinigen", core.AuthorAgent)
		return err
	})
	if merged, exact := indexRow(t, st, a); !slices.Equal(merged, []int64{e2}) || !exact {
		t.Errorf("entries added: merged %v, exact %v; want [%d], true", merged, exact, e2)
	}
	var e3 int64
	update(func(c *tx) (err error) {
		e3, err = entry(c, a, "... !!!", core.AuthorCustomer)
		return err
	})
	if merged, exact := indexRow(t, st, a); !slices.Equal(merged, []int64{e3}) || !exact {
		t.Errorf("punctuation only: merged %v, exact %v; want [%d], true", merged, exact, e3)
	}
	update(func(c *tx) (err error) {
		_, err = entry(c, a, "a long word "+strings.Repeat("x", 3000), core.AuthorCustomer)
		return err
	})
	if merged, exact := indexRow(t, st, a); merged != nil || !exact {
		t.Errorf("a word longer than a tsvector holds: merged %v, exact %v; want the rebuild's nil, true", merged, exact)
	}
	update(func(c *tx) (err error) {
		_, err = entry(c, a, "Smiley 😀 hilft", core.AuthorCustomer)
		return err
	})
	if merged, exact := indexRow(t, st, a); merged != nil || !exact {
		t.Errorf("an entry left to SQL: merged %v, exact %v; want the rebuild's nil, true", merged, exact)
	}
	update(func(c *tx) error {
		if _, err := entry(c, a, "Neues Wort", core.AuthorCustomer); err != nil {
			return err
		}
		_, err := c.DeleteEntries(ctx, []int64{e1})
		return err
	})
	if merged, exact := indexRow(t, st, a); merged != nil || !exact {
		t.Errorf("words merged and an entry deleted: merged %v, exact %v; want the rebuild's nil, true", merged, exact)
	}
	for _, tc := range []struct {
		name, text string
		given      bool
	}{
		{"a long text of short words", strings.Repeat("Toner leer ", 300), true},
		{"a long text with a word longer than a tsvector holds", "Toner " + strings.Repeat("y", 3000), false},
	} {
		var opened core.Entry
		update(func(c *tx) error {
			n++
			opened = core.Entry{TicketID: fmt.Sprintf("search%010d", n), CreatedAt: now, AuthorKind: core.AuthorCustomer, Text: tc.text}
			return c.OpenTicket(ctx, core.Ticket{ID: opened.TicketID, Subject: "Drucker", Customer: "alice@example.com",
				Status: core.StatusOpen, CreatedAt: now, UpdatedAt: now}, &opened)
		})
		merged, exact := indexRow(t, st, opened.TicketID)
		if want := []int64{opened.ID}; tc.given && (!slices.Equal(merged, want) || !exact) {
			t.Errorf("opened with %s: merged %v, exact %v; want %v, true", tc.name, merged, exact, want)
		}
		if !tc.given && (merged != nil || !exact) {
			t.Errorf("opened with %s: merged %v, exact %v; want the rebuild's nil, true", tc.name, merged, exact)
		}
	}
	update(func(c *tx) (err error) {
		if b, err = newTicket(c, "Scanner"); err != nil {
			return err
		}
		if _, err := c.exec(ctx, "fire deferred triggers", `SET CONSTRAINTS ALL IMMEDIATE`); err != nil {
			return err
		}
		_, err = entry(c, b, "Glas zerkratzt", core.AuthorCustomer)
		return err
	})
	if _, exact := indexRow(t, st, b); !exact {
		t.Errorf("SET CONSTRAINTS ALL IMMEDIATE: the words are not a rebuild's")
	}
	update(func(c *tx) (err error) {
		if s, err = newTicket(c, "Ωmega 😀"); err != nil {
			return err
		}
		_, err = entry(c, s, "schon wieder", core.AuthorCustomer)
		return err
	})
	if merged, exact := indexRow(t, st, s); merged != nil || !exact {
		t.Errorf("a subject left to SQL: merged %v, exact %v; want the rebuild's nil, true", merged, exact)
	}
}
