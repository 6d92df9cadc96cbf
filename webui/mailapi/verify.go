package mailapi

import (
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"trivialtickets/webui/mailapi/wire"
)

// verifyMail serves POST /api/verifyMail: the mail service confirms that it
// sent a pending mail, which then leaves the fetchMails list. An id that
// names no pending mail (unknown, not a number, or verified already) is
// answered with 200 and "verified": false.
func (h *handler) verifyMail(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); strings.TrimSpace(ct) != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != wire.ContentTypeJSON {
			writeError(w, http.StatusUnsupportedMediaType, fmt.Sprintf("unsupported Content-Type %q: use %s", ct, wire.ContentTypeJSON))
			return
		}
	}
	body, err := readBody(w, r, maxVerifyBytes)
	if err != nil {
		h.requestFailed(w, r, err)
		return
	}
	v, err := decodeStrict(body, "id")
	if err != nil {
		h.requestFailed(w, r, err)
		return
	}
	id := v["id"]
	if strings.TrimSpace(id) == "" {
		writeError(w, http.StatusBadRequest, `property "id" must not be empty`)
		return
	}
	notPending := wire.VerifyResponse{Status: http.StatusOK, Message: fmt.Sprintf("no pending mail with id %q", id)}
	n, ok := parseMailID(id)
	if !ok {
		writeJSON(w, http.StatusOK, notPending)
		return
	}
	verified, err := h.svc.VerifyMail(r.Context(), n)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !verified {
		writeJSON(w, http.StatusOK, notPending)
		return
	}
	writeJSON(w, http.StatusOK, wire.VerifyResponse{Status: http.StatusOK, Message: "mail " + strconv.FormatInt(n, 10) + " marked as sent", Verified: true})
}

// parseMailID accepts the decimal form of a positive outbox id, digits
// only, as fetchMails writes it.
func parseMailID(s string) (int64, bool) {
	if s == "" || len(s) > 19 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}
