package core

import "testing"

func TestSplitQuoted(t *testing.T) {
	tests := []struct {
		name, text, new, quoted string
	}{
		{"no quote", "Thanks, it works.\n", "Thanks, it works.\n", ""},
		{"gmail", "Thanks, it works.\n\nOn Mon, 2 Mar 2026 at 10:00, Support <support@help.example> wrote:\n> Please restart it.\n> \n> Bob\n",
			"Thanks, it works.", "On Mon, 2 Mar 2026 at 10:00, Support <support@help.example> wrote:\n> Please restart it.\n> \n> Bob\n"},
		{"wrapped attribution", "Yes.\n\nOn Mon, 2 Mar 2026 at 10:00, Support Team\n<support@help.example> wrote:\n\n> Really?\n",
			"Yes.", "On Mon, 2 Mar 2026 at 10:00, Support Team\n<support@help.example> wrote:\n\n> Really?\n"},
		{"german", "Danke!\n\nAm 02.03.2026 um 10:00 schrieb Support:\n> Bitte neu starten.\n", "Danke!", "Am 02.03.2026 um 10:00 schrieb Support:\n> Bitte neu starten.\n"},
		{"bare quote", "Done.\n> old text\n", "Done.", "> old text\n"},
		{"outlook", "Fixed now.\r\n\r\n-----Original Message-----\r\nFrom: Support\r\nSent: Monday\r\n\r\nPlease restart it.\r\n",
			"Fixed now.", "-----Original Message-----\r\nFrom: Support\r\nSent: Monday\r\n\r\nPlease restart it.\r\n"},
		{"interleaved", "> Is it on?\nYes.\n> Is it plugged in?\nNo.\n", "> Is it on?\nYes.\n> Is it plugged in?\nNo.\n", ""},
		{"all quote", "> only a quote\n", "> only a quote\n", ""},
		{"separator without header", "Result:\n________________________________\nTotal 3\n", "Result:\n________________________________\nTotal 3\n", ""},
		{"empty", "", "", ""},
	}
	for _, tt := range tests {
		got := SplitQuoted(tt.text)
		if got.New != tt.new || got.Quoted != tt.quoted {
			t.Errorf("%s: SplitQuoted = %q | %q, want %q | %q", tt.name, got.New, got.Quoted, tt.new, tt.quoted)
		}
	}
}
