package webui

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/a-h/templ"

	"trivialtickets/core"
)

// This file is the one place where errors become responses.

// retryAfter is the Retry-After header (seconds) of a 503 answered because
// the store is unavailable.
const retryAfter = "10"

// message is the text of the message page.
type message struct {
	Title string
	Text  string
}

// userError says how err is answered: its status and a text that is safe
// to show. ok is false for errors that are not the user's (500).
func userError(err error) (status int, text string, ok bool) {
	var inv *core.InvalidError
	switch {
	case errors.As(err, &inv):
		return http.StatusBadRequest, sentence(inv.Msg), true
	case errors.Is(err, core.ErrInvalid):
		return http.StatusBadRequest, "The input is not valid.", true
	case errors.Is(err, core.ErrOnVacation):
		return http.StatusBadRequest, "An agent in vacation mode cannot take new tickets.", true
	case errors.Is(err, core.ErrConflict):
		return http.StatusConflict, "The ticket was changed meanwhile; please try again.", true
	case errors.Is(err, core.ErrNotFound):
		return http.StatusNotFound, "No such ticket.", true
	case errors.Is(err, core.ErrNotAssignee):
		return http.StatusForbidden, "This ticket is assigned to another agent: you cannot change it.", true
	case errors.Is(err, core.ErrForbidden):
		return http.StatusForbidden, "You are not allowed to do this. Agents log in first.", true
	case errors.Is(err, core.ErrBadCredentials):
		return http.StatusUnauthorized, "Wrong username or password.", true
	case errors.Is(err, core.ErrUnavailable):
		return http.StatusServiceUnavailable, "The database is unavailable or overloaded just now: nothing was stored or changed. Please send it again in a minute.", true
	}
	return http.StatusInternalServerError, "", false
}

// correctable reports whether err is about the input, so that the user can
// correct it on the page they came from.
func correctable(err error) bool {
	return errors.Is(err, core.ErrInvalid) || errors.Is(err, core.ErrOnVacation) || errors.Is(err, core.ErrConflict)
}

// fail answers a request that went wrong with the matching page: 404, 403,
// 400, 401, 503 with Retry-After when the store is unavailable (nothing was
// stored), or 500 with the cause logged and never shown.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil && errors.Is(err, context.Canceled) {
		// The browser closed the connection before the answer, and the
		// step that failed was not applied: not our fault, nobody to tell.
		h.log.Info("client went away before the answer", "method", r.Method, "path", r.URL.Path, "err", err)
		return
	}
	status, text, ok := userError(err)
	if !ok {
		h.internalError(w, r, err)
		return
	}
	if status == http.StatusServiceUnavailable {
		// Logged as a warning: the operator should know, the client may
		// simply try again.
		h.log.Warn("request not served: store unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", retryAfter)
	} else {
		h.log.Debug("request refused", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	}
	if status == http.StatusNotFound {
		h.render(w, r, status, pageNotFound, page{})
		return
	}
	h.render(w, r, status, pageMessage, page{Data: message{Title: http.StatusText(status), Text: text}})
}

// failBack answers a form post: errors the user can correct go back to the
// page at back with the message as a flash; others as fail does.
func (h *handler) failBack(w http.ResponseWriter, r *http.Request, err error, back string) {
	if !correctable(err) {
		h.fail(w, r, err)
		return
	}
	_, text, _ := userError(err)
	h.redirectFlash(w, r, back, flash{Error: true, Text: text})
}

// internalError logs err and shows a page that reveals nothing of it.
func (h *handler) internalError(w http.ResponseWriter, r *http.Request, err error) {
	h.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	p := page{Agent: currentAgent(r), Data: message{Title: "Something went wrong", Text: "Something went wrong on our side. Please try again later."}}
	t := h.tpl[pageMessage]
	var title, content strings.Builder
	if t == nil || t.ExecuteTemplate(&title, "title", p) != nil || t.ExecuteTemplate(&content, "content", p) != nil ||
		writePage(w, r.Context(), http.StatusInternalServerError, p, templ.Raw(title.String()), templ.Raw(content.String())) != nil {
		http.Error(w, "Something went wrong", http.StatusInternalServerError)
	}
}

// notFound answers unknown URLs.
func (h *handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusNotFound, pageNotFound, page{})
}

func (h *handler) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusMethodNotAllowed, pageMessage, page{Data: message{
		Title: "Method not allowed", Text: "This address does not take this kind of request."}})
}

// crossOrigin answers a form posted from another site.
func (h *handler) crossOrigin(w http.ResponseWriter, r *http.Request) {
	h.log.Warn("cross-origin request refused", "method", r.Method, "path", r.URL.Path,
		slog.String("origin", r.Header.Get("Origin")), slog.String("sec_fetch_site", r.Header.Get("Sec-Fetch-Site")))
	h.render(w, r, http.StatusForbidden, pageMessage, page{Data: message{
		Title: "Forbidden", Text: "Cross-origin request refused: forms of this site must be sent from this site."}})
}

// badForm answers a form body that could not be read.
func (h *handler) badForm(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusBadRequest
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		status = http.StatusRequestEntityTooLarge
	}
	h.render(w, r, status, pageMessage, page{Data: message{Title: http.StatusText(status), Text: "The form could not be read."}})
}

// sentence makes a core message a sentence: capital first letter, final
// full stop.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	s = string(unicode.ToUpper(r)) + s[n:]
	if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "?") && !strings.HasSuffix(s, "!") {
		s += "."
	}
	return s
}
