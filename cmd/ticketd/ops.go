package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"trivialtickets/core"
	"trivialtickets/store/sqlite"
)

// The operations commands: backup, restore, customer export and erase.
// Each reads the data directory and database like serve and works while a
// daemon runs on them.

// pgBackupHelp says how to back up and restore PostgreSQL, which ticketd
// leaves to PostgreSQL's own tools.
const pgBackupHelp = `the database is PostgreSQL: back it up with PostgreSQL's own tools, e.g.
    pg_dump --format=custom --file=ticketd.dump 'postgres://user@host/dbname'
and restore into a new, empty database with
    pg_restore --no-owner --dbname='postgres://user@host/newdb' ticketd.dump
then start ticketd with --database set to the new database`

// backupCommand runs "ticketd backup FILE".
func backupCommand(ctx context.Context, c Config, args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return usageError("usage: ticketd backup FILE")
	}
	if c.Database != "" {
		return errors.New("backup: " + pgBackupHelp)
	}
	src := filepath.Join(c.Data, dbFile)
	start := time.Now()
	info, err := sqlite.Backup(ctx, src, args[0])
	if err != nil {
		return fmt.Errorf("backup of %s: %w", src, err)
	}
	fmt.Fprintf(stdout, "backed up %s to %s: %d tickets, %s, integrity ok, in %s\n",
		src, args[0], info.Tickets, byteSize(info.Size), time.Since(start).Round(time.Millisecond))
	fmt.Fprintf(stdout, "keep %s and your TLS certificate and key with it: they are not in the database\n",
		filepath.Join(c.Data, tokenFile))
	return nil
}

// byteSize formats n bytes for people.
func byteSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// restoreKeeps are the files of a data directory that may be there before a
// restore: what README tells the operator to keep beside the backup.
var restoreKeeps = []string{tokenFile, certFile, keyFile}

// restoreCommand runs "ticketd restore FILE": into an empty data
// directory, which may hold the kept token and certificate already.
func restoreCommand(ctx context.Context, c Config, args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return usageError("usage: ticketd restore FILE")
	}
	if c.Database != "" {
		return errors.New("restore: " + pgBackupHelp)
	}
	if err := os.MkdirAll(c.Data, 0o700); err != nil {
		return fmt.Errorf("restore: create data directory: %w", err)
	}
	entries, err := os.ReadDir(c.Data)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	for _, e := range entries {
		if !slices.Contains(restoreKeeps, e.Name()) {
			return fmt.Errorf("restore: the data directory %s is not empty (it holds %s): restore only into a new, empty directory, e.g. --data %s",
				c.Data, e.Name(), filepath.Clean(c.Data)+"-restored")
		}
	}
	dst := filepath.Join(c.Data, dbFile)
	info, err := sqlite.RestoreFile(ctx, args[0], dst)
	if err != nil {
		return fmt.Errorf("restore %s: %w", args[0], err)
	}
	// Open migrates an older schema, as every start does.
	st, err := sqlite.Open(ctx, dst)
	if err != nil {
		return fmt.Errorf("restore: open the restored database: %w", err)
	}
	if err := st.Close(); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	fmt.Fprintf(stdout, "restored %s into %s: %d tickets, %s (schema version %d)\n",
		args[0], c.Data, info.Tickets, byteSize(info.Size), info.SchemaVersion)
	if _, err := os.Stat(filepath.Join(c.Data, tokenFile)); err != nil {
		fmt.Fprintf(stdout, "no %s in %s: copy the kept one there before you start the daemon, or it makes a new one that your mail service does not know\n",
			tokenFile, c.Data)
	}
	return nil
}

// customerCommand runs "ticketd customer export|erase ADDRESS".
func customerCommand(ctx context.Context, c Config, args []string, stdout io.Writer) error {
	if len(args) != 2 || (args[0] != "export" && args[0] != "erase") {
		return usageError("usage: ticketd customer export ADDRESS, or ticketd customer erase ADDRESS")
	}
	addr, err := core.ParseAddress(args[1])
	if err != nil {
		return usageError(fmt.Sprintf("customer %s: %v", args[0], err))
	}
	if c.Database == "" {
		// Never make an empty database where the operator mistyped --data.
		if _, err := os.Stat(filepath.Join(c.Data, dbFile)); err != nil {
			return fmt.Errorf("customer %s: no database in %s: set --data (or TICKETD_DATA) to the daemon's data directory: %w", args[0], c.Data, err)
		}
	}
	st, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer st.Close()
	svc := newService(st, c, c.PublicURL, nil)
	if args[0] == "export" {
		d, err := svc.CustomerData(ctx, addr)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(exportDocument(d, time.Now())); err != nil {
			return fmt.Errorf("customer export: write: %w", err)
		}
		return nil
	}
	d, err := svc.EraseCustomer(ctx, addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "erased %s: deleted %s\n", addr, d)
	if cp, ok := st.(interface{ Checkpoint(context.Context) error }); ok {
		if err := cp.Checkpoint(ctx); err != nil {
			return fmt.Errorf("customer erase: the data is deleted, but the log still holds it: %w", err)
		}
		fmt.Fprintln(stdout, "the database file and its log hold no copy of it any more; backups made before still do")
	} else {
		fmt.Fprintln(stdout, "PostgreSQL keeps deleted rows on disk until they are overwritten: run VACUUM FULL on tickets, entries, attachments, message_ids and outbox in a quiet hour; backups made before still hold the data")
	}
	return nil
}

// exportDoc is the JSON document of "ticketd customer export".
type exportDoc struct {
	Address    string         `json:"address"`
	ExportedAt time.Time      `json:"exported_at"`
	Tickets    []exportTicket `json:"tickets"`
	// OtherEntries are what the customer wrote on other customers'
	// tickets.
	OtherEntries []exportEntry `json:"entries_on_other_tickets"`
	Mails        []exportMail  `json:"mails"`
	// Queued are messages accepted by a mail door that the inbound
	// queue still holds.
	Queued []exportQueued `json:"queued_messages"`
}

type exportQueued struct {
	QueuedAt    time.Time          `json:"queued_at"`
	Door        string             `json:"door"`
	From        string             `json:"from"`
	FromName    string             `json:"from_name,omitempty"`
	Recipients  []string           `json:"recipients"`
	Subject     string             `json:"subject"`
	Text        string             `json:"text"`
	HTML        string             `json:"html,omitempty"`
	MessageID   string             `json:"message_id,omitempty"`
	Attempts    int                `json:"attempts,omitempty"`
	LastError   string             `json:"last_error,omitempty"`
	Attachments []exportAttachment `json:"attachments,omitempty"`
}

type exportTicket struct {
	ID           string        `json:"id"`
	Subject      string        `json:"subject"`
	Customer     string        `json:"customer"`
	CustomerName string        `json:"customer_name,omitempty"`
	Status       string        `json:"status"`
	Assignee     string        `json:"assignee,omitempty"`
	MergedInto   string        `json:"merged_into,omitempty"`
	CreatedAt    time.Time     `json:"created_at"`
	UpdatedAt    time.Time     `json:"updated_at"`
	Entries      []exportEntry `json:"entries"`
}

type exportEntry struct {
	ID         int64     `json:"id"`
	TicketID   string    `json:"ticket_id"`
	CreatedAt  time.Time `json:"created_at"`
	AuthorKind string    `json:"author_kind"`
	Author     string    `json:"author,omitempty"`
	AuthorName string    `json:"author_name,omitempty"`
	// Internal entries are the agents' notes, never shown to the customer.
	Internal    bool               `json:"internal"`
	Automatic   bool               `json:"automatic,omitempty"`
	Text        string             `json:"text"`
	MessageID   string             `json:"message_id,omitempty"`
	Attachments []exportAttachment `json:"attachments,omitempty"`
}

type exportAttachment struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	Data        []byte `json:"data_base64"` // encoding/json writes []byte as base64
}

type exportMail struct {
	ID        int64     `json:"id"`
	TicketID  string    `json:"ticket_id,omitempty"`
	From      string    `json:"from"`
	To        string    `json:"to"`
	Subject   string    `json:"subject"`
	Body      string    `json:"body"`
	MessageID string    `json:"message_id"`
	State     string    `json:"state"`
	CreatedAt time.Time `json:"created_at"`
	SentAt    time.Time `json:"sent_at,omitzero"`
}

func exportDocument(d core.CustomerData, now time.Time) exportDoc {
	doc := exportDoc{Address: d.Address, ExportedAt: now.UTC(),
		Tickets: []exportTicket{}, OtherEntries: exportEntries(d.OtherEntries), Mails: []exportMail{}}
	for _, ct := range d.Tickets {
		t := ct.Ticket
		doc.Tickets = append(doc.Tickets, exportTicket{ID: t.ID, Subject: t.Subject, Customer: t.Customer,
			CustomerName: t.CustomerName, Status: string(t.Status), Assignee: t.Assignee, MergedInto: t.MergedInto,
			CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt, Entries: exportEntries(ct.Entries)})
	}
	for _, m := range d.Mails {
		doc.Mails = append(doc.Mails, exportMail{ID: m.ID, TicketID: m.TicketID, From: m.From, To: m.To,
			Subject: m.Subject, Body: m.Body, MessageID: m.MessageID, State: string(m.State),
			CreatedAt: m.CreatedAt, SentAt: m.SentAt})
	}
	doc.Queued = []exportQueued{}
	for _, q := range d.Queued {
		m := q.Message
		x := exportQueued{QueuedAt: q.Row.QueuedAt.UTC(), Door: q.Row.Door, From: m.From, FromName: m.FromName,
			Recipients: m.Recipients, Subject: m.Subject, Text: m.Text, HTML: m.HTML, MessageID: m.MessageID,
			Attempts: q.Row.Attempts, LastError: q.Row.LastError, Attachments: exportAttachments(m.Attachments)}
		doc.Queued = append(doc.Queued, x)
	}
	return doc
}

func exportAttachments(as []core.Attachment) []exportAttachment {
	var out []exportAttachment
	for _, a := range as {
		out = append(out, exportAttachment{Filename: a.Filename, ContentType: a.ContentType, Size: a.Size, Data: a.Data})
	}
	return out
}

func exportEntries(es []core.Entry) []exportEntry {
	out := []exportEntry{}
	for _, e := range es {
		x := exportEntry{ID: e.ID, TicketID: e.TicketID, CreatedAt: e.CreatedAt, AuthorKind: string(e.AuthorKind),
			Author: e.Author, AuthorName: e.AuthorName, Internal: e.Internal, Automatic: e.Automatic,
			Text: e.Text, MessageID: e.MessageID}
		x.Attachments = exportAttachments(e.Attachments)
		out = append(out, x)
	}
	return out
}
