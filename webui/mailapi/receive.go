package mailapi

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"trivialtickets/core"
	"trivialtickets/webui/mailapi/wire"
)

// receive serves POST /api/receive: a customer message as JSON or as a raw
// RFC 5322 message goes through core's one inbound path.
func (h *handler) receive(w http.ResponseWriter, r *http.Request) {
	m, err := h.inbound(w, r)
	if err != nil {
		h.requestFailed(w, r, err)
		return
	}
	m.Door = core.DoorAPI
	res, err := h.svc.Receive(r.Context(), m)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	resp := wire.ReceiveResponse{
		Status:    http.StatusOK,
		Message:   "OK",
		TicketID:  res.TicketID,
		Created:   res.Created,
		Duplicate: res.Duplicate,
	}
	if res.TicketID != "" {
		resp.Link = h.svc.TicketURL(res.TicketID)
	}
	writeJSON(w, http.StatusOK, resp)
}

// requestFailed answers a requestError with its status and message and
// anything else through fail.
func (h *handler) requestFailed(w http.ResponseWriter, r *http.Request, err error) {
	var re *requestError
	if errors.As(err, &re) {
		writeError(w, re.status, re.msg)
		return
	}
	h.fail(w, r, err)
}

// inbound reads the request body into an inbound message according to its
// Content-Type.
func (h *handler) inbound(w http.ResponseWriter, r *http.Request) (core.InboundMessage, error) {
	ct := r.Header.Get("Content-Type")
	if strings.TrimSpace(ct) == "" {
		// Many scripts post JSON without saying so.
		return h.inboundJSON(w, r)
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return core.InboundMessage{}, unsupported(fmt.Sprintf("invalid Content-Type %q: use %s or %s", ct, wire.ContentTypeJSON, wire.ContentTypeRFC822))
	}
	switch mt {
	case wire.ContentTypeJSON:
		// RFC 8259 §8.1: JSON is UTF-8; a charset parameter is tolerated
		// when it says so.
		if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "us-ascii") {
			return core.InboundMessage{}, unsupported(fmt.Sprintf("unsupported charset %q: JSON must be UTF-8", cs))
		}
		return h.inboundJSON(w, r)
	case wire.ContentTypeRFC822:
		return h.inboundRaw(w, r)
	}
	return core.InboundMessage{}, unsupported(fmt.Sprintf("unsupported Content-Type %q: use %s or %s", mt, wire.ContentTypeJSON, wire.ContentTypeRFC822))
}

func unsupported(msg string) error {
	return &requestError{status: http.StatusUnsupportedMediaType, msg: msg}
}

// inboundJSON decodes and checks a ReceiveRequest.
func (h *handler) inboundJSON(w http.ResponseWriter, r *http.Request) (core.InboundMessage, error) {
	body, err := readBody(w, r, h.maxBody)
	if err != nil {
		return core.InboundMessage{}, err
	}
	v, err := decodeStrict(body, "from", "subject", "message")
	if err != nil {
		return core.InboundMessage{}, err
	}
	req := wire.ReceiveRequest{From: v["from"], Subject: v["subject"], Message: v["message"]}
	for _, p := range []struct{ name, value string }{{"from", req.From}, {"subject", req.Subject}, {"message", req.Message}} {
		if strings.TrimSpace(p.value) == "" {
			return core.InboundMessage{}, badRequest(fmt.Sprintf("property %q must not be empty", p.name))
		}
	}
	from, err := core.ParseAddress(req.From)
	if err != nil {
		return core.InboundMessage{}, err // ErrInvalid with the reason: 400
	}
	return core.InboundMessage{From: from, Subject: req.Subject, Text: req.Message}, nil
}

// inboundRaw parses a whole RFC 5322 message with the configured parser,
// the same one the SMTP gateway uses.
func (h *handler) inboundRaw(w http.ResponseWriter, r *http.Request) (core.InboundMessage, error) {
	if h.parseRaw == nil {
		return core.InboundMessage{}, unsupported("this server does not accept " + wire.ContentTypeRFC822 + " bodies: send " + wire.ContentTypeJSON)
	}
	body := &errReader{r: http.MaxBytesReader(w, r.Body, h.maxBody)}
	m, err := h.parseRaw(body)
	// The parser may not pass the reader's error on with %w, so the reader
	// remembers it: a body over the limit is 413 however it surfaced.
	if tooLarge(body.err) {
		return core.InboundMessage{}, tooLargeError(h.maxBody)
	}
	if errors.Is(err, core.ErrUnavailable) {
		return core.InboundMessage{}, err // 503: the message was fine, the daemon busy
	}
	if err != nil {
		return core.InboundMessage{}, badRequest("invalid message: " + err.Error())
	}
	return m, nil
}

// errReader remembers the first error other than io.EOF of the reader it
// wraps.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}
