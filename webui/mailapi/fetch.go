package mailapi

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strconv"

	"trivialtickets/core"
	"trivialtickets/webui/mailapi/wire"
)

// fetchMails serves GET /api/fetchMails: one JSON object holding every
// pending outgoing mail keyed by its id, in id order. The object is written
// page by page as the pages come from the store, so memory stays bounded
// however long the queue is. Fetching changes nothing.
func (h *handler) fetchMails(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	// The first page is loaded before anything is written, so that a store
	// that does not answer still gets a proper JSON error.
	page, err := h.svc.PendingMails(ctx, 0, fetchPageSize)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	setJSONHeaders(w)
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	bw := bufio.NewWriterSize(w, 32<<10)
	enc := json.NewEncoder(bw) // straight into the buffer, no copy per mail
	bw.WriteByte('{')
	var last int64
	n := 0
	for {
		progress := false
		for _, m := range page {
			// Ids only grow; the check keeps every id once and in order
			// even if a store returned an overlapping page.
			if m.ID <= last {
				continue
			}
			last, progress = m.ID, true
			if n > 0 {
				bw.WriteByte(',')
			}
			n++
			bw.WriteString("\n\"")
			bw.WriteString(strconv.FormatInt(m.ID, 10))
			bw.WriteString("\": ")
			if err := enc.Encode(mailFromOut(m)); err != nil {
				h.abort(r, "encode mail", err)
			}
		}
		if err := bw.Flush(); err != nil {
			return // the client went away
		}
		if len(page) < fetchPageSize || !progress {
			break
		}
		page, err = h.svc.PendingMails(ctx, last, fetchPageSize)
		if err != nil {
			h.abort(r, "load pending mails", err)
		}
	}
	if n > 0 {
		bw.WriteByte('\n')
	}
	bw.WriteString("}\n")
	bw.Flush()
}

// abort logs err and breaks off a response whose status line was already
// sent: the client sees a truncated body instead of a valid but incomplete
// list (which it might take for the whole queue).
func (h *handler) abort(r *http.Request, what string, err error) {
	h.log.ErrorContext(r.Context(), "mail api: fetchMails broken off", "step", what, "err", err)
	panic(http.ErrAbortHandler)
}

// mailFromOut is the API view of an outbox mail.
func mailFromOut(m core.OutMail) wire.Mail {
	return wire.Mail{
		ID:         strconv.FormatInt(m.ID, 10),
		From:       m.From,
		To:         m.To,
		Subject:    m.Subject,
		Message:    m.Body,
		TicketID:   m.TicketID,
		ReplyTo:    m.ReplyTo,
		MessageID:  m.MessageID,
		InReplyTo:  m.InReplyTo,
		References: m.References,
		CreatedAt:  m.CreatedAt,
	}
}
