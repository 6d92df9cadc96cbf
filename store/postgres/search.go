package postgres

import (
	"maps"
	"slices"
	"unicode/utf8"

	"trivialtickets/core"
)

// The search index's words of a new ticket and of an added entry are
// computed here, in the daemon, and written once per ticket with the
// COMMIT (migration 0012), instead of by the commit's rebuild in SQL, which
// read every entry of the ticket again and ran tt_search_words' regular
// expressions over them. Whatever takes words away is still rebuilt in SQL
// by the deferred triggers.
//
// core.SearchWords and tt_search_words (migration 0007) split and fold text
// alike for the characters of wordSafe, which TestSearchWordsMatchSQL checks
// one by one against the server; for any other character (an emoji, a
// combining mark, a letter whose lower case depends on its neighbours) the
// daemon gives no words and SQL computes them, so that the words of the
// index never depend on which side made them.

// wordSafe reports whether core.SearchWords treats r as tt_search_words
// does, alone and between any other characters of the set.
func wordSafe(r rune) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r' || r >= 0x20 && r <= 0x7e: // ASCII
		return true
	case r >= 0xa0 && r <= 0xff: // Latin-1 letters, spaces and signs
		return r != 0xaa && r != 0xb5 && r != 0xba // ª µ º: letters in Go, signs in SQL
	case r >= 0x100 && r <= 0x17f: // Latin Extended-A
		return r != 0x130 // İ: lower case "i̇" in ICU, "i" in Go
	case r >= 0x400 && r <= 0x4ff: // Cyrillic
		return r != 0x482 && r != 0x488 && r != 0x489 // signs in Go, letters in SQL
	case r >= 0x2010 && r <= 0x2027, r >= 0x2030 && r <= 0x205e: // dashes, quotes, bullets
		return true
	case r >= 0x3040 && r <= 0x30ff, // Hiragana, Katakana
		r >= 0x31f0 && r <= 0x31ff, // Katakana extensions
		r >= 0x3400 && r <= 0x4dbf, // CJK extension A
		r >= 0x4e00 && r <= 0x9fff, // CJK unified ideographs
		r >= 0xf900 && r <= 0xfaff, // CJK compatibility ideographs
		r >= 0xac00 && r <= 0xd7af: // Hangul syllables
		return true
	case r >= 0x3000 && r <= 0x3004, r >= 0x3008 && r <= 0x3011: // CJK spaces, commas, brackets
		return true
	case r >= 0xff01 && r <= 0xff5e: // full-width ASCII
		return true
	}
	return false
}

// searchWords returns the words that the index holds of s, sorted and
// without repeats, or nil when s has a character that wordSafe does not
// vouch for or a word longer than maxLexeme (then SQL computes them).
func searchWords(s string) []string {
	if !textSafe(s) {
		return nil
	}
	words := core.SearchWords(s)
	for _, w := range words {
		if len(w) > maxLexeme {
			return nil
		}
	}
	slices.Sort(words)
	return append([]string{}, slices.Compact(words)...)
}

// wordsGiven reports whether the daemon gives the words of s (searchWords
// does not leave them to SQL), without computing them when s is too short
// to hold a word longer than maxLexeme. The words it computes for a longer
// s are kept for the addWords that follows (wordsOf).
func (t *tx) wordsGiven(s string) bool {
	if len(s) > maxLexeme {
		w := searchWords(s)
		t.checked = checkedWords{text: s, words: w}
		return w != nil
	}
	return textSafe(s)
}

// checkedWords are the words searchWords gave for text; text is "" when
// none are kept (wordsGiven keeps only texts longer than maxLexeme).
type checkedWords struct {
	text  string
	words []string
}

// wordsOf returns searchWords(s), taking the words that wordsGiven
// computed for s instead of splitting it again.
func (t *tx) wordsOf(s string) []string {
	if c := t.checked; c.text != "" && c.text == s {
		t.checked = checkedWords{}
		return c.words
	}
	return searchWords(s)
}

// textSafe reports whether every character of s is one wordSafe vouches
// for (and s is valid UTF-8).
func textSafe(s string) bool {
	for _, r := range s {
		if !wordSafe(r) || r == utf8.RuneError {
			return false
		}
	}
	return true
}

// maxLexeme is the longest word, in bytes, that a tsvector holds as it is:
// array_to_tsvector keeps only the length modulo 2048 of a longer one,
// and such words are left to SQL's rebuild, which stores them as it always
// did.
const maxLexeme = 2047

// ticketWords are the words that one transaction gave to a ticket's index
// row.
type ticketWords struct {
	created bool     // the ticket was created in this transaction
	sqlOnly bool     // some text was left to SQL: nothing is written here
	words   []string // the new words (with duplicates)
	entries []int64  // the ids of the entries whose words these are
}

// addWords records the words of a created ticket (entry 0) or of an entry.
func (t *tx) addWords(ticketID string, entry int64, text string) {
	if !t.giveWords {
		return
	}
	if t.words == nil {
		t.words = map[string]*ticketWords{}
	}
	tw := t.words[ticketID]
	if tw == nil {
		tw = &ticketWords{}
		t.words[ticketID] = tw
	}
	if entry == 0 {
		tw.created = true
	} else {
		tw.entries = append(tw.entries, entry)
	}
	if tw.sqlOnly {
		return
	}
	w := t.wordsOf(text)
	if w == nil {
		tw.sqlOnly, tw.words = true, nil
		return
	}
	tw.words = append(tw.words, w...)
}

// The words of a ticket created in the transaction, with its new index row
// (or merged into the row that SET CONSTRAINTS ALL IMMEDIATE had the
// triggers build already), and the words of new entries merged into an
// existing ticket's row, which is never made here: both mark the row exact
// in this transaction for the entries named, so that the deferred triggers
// skip their rebuild (migration 0012).
//
// The rows of the tickets created go in one insert (conn.laterRows of
// insertWordsHead, insertWordsRow and insertWordsTail): a group of new
// tickets (UpdateGrouped) writes its index rows in one statement.
const (
	insertWordsHead = `INSERT INTO ticket_search AS s (ticket_id, words, exact_in, merged) VALUES `
	insertWordsRow  = `($1, array_to_tsvector($2::text[]), txid_current(), $3::bigint[])`
	insertWordsTail = `
		ON CONFLICT (ticket_id) DO UPDATE SET words = s.words || excluded.words,
		merged = CASE WHEN s.exact_in = txid_current() THEN coalesce(s.merged, '{}') || excluded.merged ELSE excluded.merged END,
		exact_in = excluded.exact_in`
	mergeWordsSQL = `UPDATE ticket_search AS s SET words = s.words || array_to_tsvector($2::text[]),
		merged = CASE WHEN s.exact_in = txid_current() THEN coalesce(s.merged, '{}') || $3::bigint[] ELSE $3::bigint[] END,
		exact_in = txid_current()
		WHERE s.ticket_id = $1`
)

// queueWords queues the writes of the words the transaction gave, to go
// with the COMMIT: an update of each existing ticket's row, in the order
// of their ids, then the rows of the tickets created, in one insert.
func (t *tx) queueWords() {
	for _, id := range slices.Sorted(maps.Keys(t.words)) {
		tw := t.words[id]
		if tw.sqlOnly {
			continue
		}
		words := append([]string{}, tw.words...) // never NULL: words || NULL is NULL
		slices.Sort(words)
		words = slices.Compact(words)
		entries := tw.entries
		if entries == nil {
			entries = []int64{}
		}
		if !tw.created {
			t.tx.later("search words of ticket "+id, mergeWordsSQL, []any{id, words, entries}, touchesAny)
			continue
		}
		t.tx.laterRows("search words of ticket "+id, insertWordsHead, insertWordsRow, insertWordsTail,
			[]any{id, words, entries}, touchesAny)
	}
}
