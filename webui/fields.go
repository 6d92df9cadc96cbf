package webui

import (
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"trivialtickets/core"
)

// fieldLimit is the longest value a form or query field may have.
type fieldLimit struct {
	label string // as the form labels it, for the message
	max   int
	bytes bool // max counts bytes, not characters
}

// fieldLimits are the limits of the fields the pages send; other fields
// get defaultFieldLimit.
var fieldLimits = map[string]fieldLimit{
	"username": {"User name", core.MaxUsernameLength, false},
	"password": {"Password", core.MaxPasswordLength, true},
	"email":    {"E-mail", core.MaxAddressLength, false},
	"subject":  {"Subject", core.MaxSubjectLength, false},
	"message":  {"Message", core.MaxTextLength, true},
	"comment":  {"Comment", core.MaxCommentLength, true},
	"q":        {"Search", 200, false},
	"back":     {"Back link", 2048, false},
}

// defaultFieldLimit bounds every other field (ids, names, choices).
const defaultFieldLimit = 256

// The check here is a ceiling against hostile sizes: a value refused here
// is far beyond its field's limit (ceilingFactor times, at least
// minCeiling). A value a person typed a little too long reaches the form,
// which says so beside the field with the others' mistakes (GOV.UK).
const (
	ceilingFactor = 4
	minCeiling    = 1024
)

// checkFields refuses a request with a field far longer than its limit
// with 400 and a message naming the field and its limit, before a handler,
// the store or the log sees the value.
func (h *handler) checkFields(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			h.badForm(w, r, err)
			return
		}
		for name, vals := range r.Form {
			if err := checkField(name, vals); err != nil {
				h.fail(w, r, err)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// checkField checks the values of one field against its limit.
func checkField(name string, vals []string) error {
	lim, ok := fieldLimits[name]
	if !ok {
		if len(name) > 40 {
			name = strings.ToValidUTF8(name[:40], "") + "…"
		}
		lim = fieldLimit{label: "The field " + name, max: defaultFieldLimit}
	}
	ceiling := max(lim.max*ceilingFactor, minCeiling)
	for _, v := range vals {
		n := len(v)
		if !lim.bytes && n > ceiling {
			n = utf8.RuneCountInString(v)
		}
		if n <= ceiling {
			continue
		}
		unit := "characters"
		if lim.bytes {
			unit = "bytes"
		}
		return core.Invalid(fmt.Sprintf("%s: at most %d %s", lim.label, lim.max, unit))
	}
	return nil
}
