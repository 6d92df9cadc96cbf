package webui

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"trivialtickets/core"
)

// login starts an agent's session: POST /login. A failed login shows the
// login page with the reason beside the fields.
func (h *handler) login(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	username := strings.TrimSpace(r.PostFormValue("username"))
	password := r.PostFormValue("password")
	keys := []string{accountKey(username), clientKey(r.RemoteAddr)}
	wait, err := h.svc.LoginWait(r.Context(), keys...)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if wait > 0 {
		h.log.Warn("login throttled", "username", username, "client", keys[1])
		h.renderLogin(w, r, http.StatusTooManyRequests, username, tooManyLogins(wait))
		return
	}
	token, a, err := h.svc.Login(r.Context(), username, password, sessionToken(r))
	if errors.Is(err, core.ErrBadCredentials) {
		if err := h.svc.LoginFailed(r.Context(), keys...); err != nil {
			h.fail(w, r, err)
			return
		}
		h.log.Info("login failed", "username", username, "client", keys[1])
		h.renderLogin(w, r, http.StatusUnauthorized, username, "Wrong username or password.")
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.svc.LoginSucceeded(r.Context(), keys[0]); err != nil {
		// The login itself worked; old failures only linger.
		h.log.Warn("could not clear failed logins", "username", a.Username, "err", err)
	}
	h.setSessionCookie(w, token)
	h.log.Info("login", "username", a.Username)
	http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
}

// tooManyLogins is the message for a throttled login.
func tooManyLogins(wait time.Duration) string {
	n := int(math.Ceil(wait.Minutes()))
	unit := "minutes"
	if n == 1 {
		unit = "minute"
	}
	return fmt.Sprintf("Too many failed logins; try again in %d %s.", n, unit)
}
