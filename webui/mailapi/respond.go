package mailapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"trivialtickets/core"
	"trivialtickets/webui/mailapi/wire"
)

// writeJSON answers with status and v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only the package's own types are written; they always marshal.
		status = http.StatusInternalServerError
		b = []byte(`{"status":500,"message":"internal error"}`)
	}
	setJSONHeaders(w)
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func setJSONHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", wire.ContentTypeJSON)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
}

// writeError answers with the JSON error {"status":status,"message":msg}.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, wire.ErrorResponse{Status: status, Message: msg})
}

// retryAfter is the Retry-After header (seconds) of a 503.
const retryAfter = "10"

// fail is the one place that maps errors from core to answers: invalid
// input is the client's to fix and gets 400 with core's message; a store
// that cannot do the work now gets 503 with Retry-After (nothing was
// stored); a client that went away gets nothing; anything else is ours,
// gets a bare 500 and is logged with its cause.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var inv *core.InvalidError
	switch {
	case errors.As(err, &inv):
		writeError(w, http.StatusBadRequest, inv.Msg)
	case errors.Is(err, core.ErrInvalid):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, core.ErrUnavailable) && !(r.Context().Err() != nil && errors.Is(err, context.Canceled)):
		// Nothing was stored or changed: the client may send it again.
		h.log.WarnContext(r.Context(), "mail api request not served: store unavailable",
			"method", r.Method, "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", retryAfter)
		writeError(w, http.StatusServiceUnavailable,
			"the database is unavailable or overloaded just now; the request was not stored: send it again later")
	case r.Context().Err() != nil && errors.Is(err, context.Canceled):
		// The client closed the connection before the answer, and the
		// step that failed was not applied (a message not stored, a
		// mail not confirmed): not our fault, and nobody is left to tell.
		h.log.InfoContext(r.Context(), "mail api client went away before the answer",
			"method", r.Method, "path", r.URL.Path, "err", err)
	default:
		h.log.ErrorContext(r.Context(), "mail api request failed",
			"method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
	}
}

// requestError is a problem with the request itself, detected in this
// package, with the status to answer.
type requestError struct {
	status int
	msg    string
}

func (e *requestError) Error() string { return e.msg }

func badRequest(msg string) error { return &requestError{status: http.StatusBadRequest, msg: msg} }
