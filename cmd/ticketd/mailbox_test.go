package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMailboxTables(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "c.toml")
	os.WriteFile(file, []byte("[[mailbox]]\naddress = \"Sales@Example.COM\"\nname = \" Sales \"\n\n[[mailbox]]\naddress = \"billing@example.com\"\nname = \"Billing\"\n"), 0o600)
	c, _, err := loadConfig([]string{"--config", file}, nil, io.Discard, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []MailboxConfig{{"Sales@example.com", "Sales"}, {"billing@example.com", "Billing"}}
	if len(c.Mailboxes) != 2 || c.Mailboxes[0] != want[0] || c.Mailboxes[1] != want[1] {
		t.Errorf("mailboxes = %+v, want %+v", c.Mailboxes, want)
	}
	svc := newService(nil, c, "https://help.example.com", nil)
	if !svc.IsSupportRecipient("billing+abc@example.com") || svc.MailboxName("BILLING@example.com") != "Billing" {
		t.Error("a mailbox address is no support address of the service")
	}

	for i, tt := range []struct{ file, want string }{
		{"[[mailbox]]\nname = \"Sales\"\n", "[[mailbox]] #1: address"},
		{"[[mailbox]]\naddress = \"sales+x@example.com\"\nname = \"Sales\"\n", "must not contain '+'"},
		{"[[mailbox]]\naddress = \"sales@example.com\"\n", "name must be one line"},
		{"[[mailbox]]\naddress = \"sales@example.com\"\nname = \"S\"\n[[mailbox]]\naddress = \"SALES@example.com\"\nname = \"T\"\n", "#2 repeats the address"},
		{"[[mailbox]]\naddress = \"sales@example.com\"\nname = \"S\"\nfolder = \"x\"\n", `unknown key "folder"`},
		{"[mailbox]\naddress = \"sales@example.com\"\n", "mailbox must be an array of tables"},
	} {
		os.WriteFile(file, []byte(tt.file), 0o600)
		if _, _, err := loadConfig([]string{"--config", file}, nil, io.Discard, nil); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("#%d: error %v, want it to mention %q", i, err, tt.want)
		}
	}
}
