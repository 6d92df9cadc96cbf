package mailapi

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"trivialtickets/core"
	"trivialtickets/webui/mailapi/wire"
)

// fetchWriteSize is how much of the answer fetchMails collects before it
// hands it to the ResponseWriter: large writes keep the per-write cost of
// HTTP/2 framing and TLS records small.
const fetchWriteSize = 64 << 10

// fetchMails serves GET /api/fetchMails: one JSON object holding every
// pending outgoing mail keyed by its id, in id order. The object is written
// page by page as the pages come from the store, so memory stays bounded
// however long the queue is: while one page is written, the next one is
// loaded (at most three pages and one write buffer are held). Fetching
// changes nothing.
func (h *handler) fetchMails(w http.ResponseWriter, r *http.Request) {
	// The first page is loaded before anything is written, so that a store
	// that does not answer still gets a proper JSON error.
	first, err := h.svc.PendingMails(r.Context(), 0, fetchPageSize)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	setJSONHeaders(w)
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel() // stops the loader when the client goes away
	pages := make(chan pendingPage, 1)
	go h.loadPages(ctx, first, pages)

	buf := make([]byte, 0, fetchWriteSize+8<<10)
	buf = append(buf, '{')
	var last int64
	n := 0
	for p := range pages {
		if p.err != nil {
			h.abort(r, "load pending mails", p.err)
		}
		for i := range p.mails {
			m := &p.mails[i]
			// Ids only grow; the check keeps every id once and in order
			// even if a store returned an overlapping page.
			if m.ID <= last {
				continue
			}
			last = m.ID
			if n > 0 {
				buf = append(buf, ',')
			}
			n++
			buf = append(buf, "\n\""...)
			buf = strconv.AppendInt(buf, m.ID, 10)
			buf = append(buf, "\": "...)
			buf = appendMail(buf, m)
			buf = append(buf, '\n')
			if len(buf) >= fetchWriteSize {
				if _, err := w.Write(buf); err != nil {
					return // the client went away
				}
				buf = buf[:0]
			}
		}
	}
	if n > 0 {
		buf = append(buf, '\n')
	}
	buf = append(buf, "}\n"...)
	w.Write(buf)
}

// pendingPage is one page of pending mails, or the error that ended the
// loading.
type pendingPage struct {
	mails []core.OutMail
	err   error
}

// loadPages sends first and then each following page of pending mails to
// out, until a page is empty, the ids stop growing, loading fails (the
// error is sent as the last page) or ctx ends; it closes out when done.
// Pages are loaded until an empty one: core may leave out mails of a page
// that it cannot hand out, so a short page does not mean the end.
func (h *handler) loadPages(ctx context.Context, first []core.OutMail, out chan<- pendingPage) {
	defer close(out)
	page, last := first, int64(0)
	for len(page) > 0 {
		select {
		case out <- pendingPage{mails: page}:
		case <-ctx.Done():
			return
		}
		if next := page[len(page)-1].ID; next > last {
			last = next
		} else {
			return
		}
		var err error
		page, err = h.svc.PendingMails(ctx, last, fetchPageSize)
		if err != nil {
			select {
			case out <- pendingPage{err: err}:
			case <-ctx.Done():
			}
			return
		}
	}
}

// abort logs err and breaks off a response whose status line was already
// sent: the client sees a truncated body instead of a valid but incomplete
// list (which it might take for the whole queue).
func (h *handler) abort(r *http.Request, what string, err error) {
	h.log.ErrorContext(r.Context(), "mail api: fetchMails broken off", "step", what, "err", err)
	panic(http.ErrAbortHandler)
}

// appendMail appends m as fetchMails lists it: its listing behind its id
// when it was queued with one, else encoded now. Both give the same bytes
// (see ListMail).
func appendMail(b []byte, m *core.OutMail) []byte {
	if m.Listing == "" {
		wm := mailFromOut(m)
		return wm.AppendJSON(b)
	}
	b = append(b, `{"id":"`...)
	b = strconv.AppendInt(b, m.ID, 10)
	b = append(b, '"')
	return append(b, m.Listing...)
}

// ListMail makes the listing of a mail being queued (core.Config.ListMail):
// everything fetchMails writes of it after its id, which is not known yet.
// Its time is taken as the stores give it back (nanoseconds since 1970,
// 0 for none, read in UTC), so that the listing equals what encoding the
// mail read from the store writes.
func ListMail(m *core.OutMail) string {
	wm := mailFromOut(m)
	if n := wm.CreatedAt.UnixNano(); wm.CreatedAt.IsZero() || n == 0 {
		wm.CreatedAt = time.Time{}
	} else {
		wm.CreatedAt = time.Unix(0, n).UTC()
	}
	return string(wm.AppendAfterID(make([]byte, 0, 256+len(m.Subject)+len(m.Body))))
}

// mailFromOut is the API view of an outbox mail.
func mailFromOut(m *core.OutMail) wire.Mail {
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
