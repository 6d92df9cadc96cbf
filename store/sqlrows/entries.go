package sqlrows

import "trivialtickets/core"

// EntryColumns are the columns of entries e that EntryRow scans.
const EntryColumns = `e.id, e.ticket_id, e.created_at, e.author_kind, e.author, e.author_name,
	e.internal, e.text, e.automatic, e.message_id, e.from_ticket`

// EntryRow holds the scan targets of EntryColumns.
type EntryRow struct {
	e         core.Entry
	createdAt int64
	kind      string
}

// Dest returns the scan targets, in the order of EntryColumns.
func (s *EntryRow) Dest() []any {
	return []any{&s.e.ID, &s.e.TicketID, &s.createdAt, &s.kind, &s.e.Author, &s.e.AuthorName,
		&s.e.Internal, &s.e.Text, &s.e.Automatic, &s.e.MessageID, &s.e.FromTicket}
}

// Entry returns the entry scanned (without its attachments).
func (s *EntryRow) Entry() core.Entry {
	e := s.e
	e.CreatedAt = FromNanos(s.createdAt)
	e.AuthorKind = core.AuthorKind(s.kind)
	return e
}

// ScanEntry scans a row of EntryColumns.
func ScanEntry(scan Scan) (core.Entry, error) {
	var s EntryRow
	return scanInto(scan, s.Dest(), s.Entry)
}

// AttachmentColumns are the metadata columns of attachments a (all but the
// data), which ScanAttachment scans.
const AttachmentColumns = `a.id, a.filename, a.content_type, a.size, a.content_id`

// ScanAttachment scans a row of AttachmentColumns.
func ScanAttachment(scan Scan) (core.Attachment, error) {
	var a core.Attachment
	err := scan(&a.ID, &a.Filename, &a.ContentType, &a.Size, &a.ContentID)
	return a, err
}

// EntryAttachmentColumns are a.entry_id and AttachmentColumns: the
// attachments of several entries read in one query, for Attach.
const EntryAttachmentColumns = `a.entry_id, ` + AttachmentColumns

// EntryAttachment is an attachment's metadata and the id of its entry.
type EntryAttachment struct {
	EntryID    int64
	Attachment core.Attachment
}

// ScanEntryAttachment scans a row of EntryAttachmentColumns.
func ScanEntryAttachment(scan Scan) (EntryAttachment, error) {
	var ea EntryAttachment
	a := &ea.Attachment
	err := scan(&ea.EntryID, &a.ID, &a.Filename, &a.ContentType, &a.Size, &a.ContentID)
	return ea, err
}

// Attach appends each attachment of as to its entry among es, in the
// order of as; one whose entry is not among es is passed over.
func Attach(es []core.Entry, as []EntryAttachment) {
	index := make(map[int64]int, len(es))
	for i, e := range es {
		index[e.ID] = i
	}
	for _, ea := range as {
		if i, ok := index[ea.EntryID]; ok {
			es[i].Attachments = append(es[i].Attachments, ea.Attachment)
		}
	}
}

// AttachmentDataColumns are AttachmentColumns, a.data and the EntryColumns
// of the attachment's entry e, which AttachmentRow scans.
const AttachmentDataColumns = AttachmentColumns + `, a.data, ` + EntryColumns

// AttachmentRow holds the scan targets of AttachmentDataColumns.
type AttachmentRow struct {
	a core.Attachment
	e EntryRow
}

// Dest returns the scan targets, in the order of AttachmentDataColumns.
func (s *AttachmentRow) Dest() []any {
	return append([]any{&s.a.ID, &s.a.Filename, &s.a.ContentType, &s.a.Size, &s.a.ContentID, &s.a.Data}, s.e.Dest()...)
}

// Attachment returns the attachment scanned, with its data, and its entry.
func (s *AttachmentRow) Attachment() (core.Attachment, core.Entry) {
	return s.a, s.e.Entry()
}
