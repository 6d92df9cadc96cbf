package webui

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"

	"trivialtickets/core"
)

// login starts an agent's session: POST /login. The throttle is core's
// (Service.LoginThrottled): it reserves the attempt before the password is
// checked. A successful login also trusts the browser (the device cookie),
// which then has a failure budget of its own.
func (h *handler) login(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	username := r.PostFormValue("username")
	password := r.PostFormValue("password")
	client := clientKey(r.RemoteAddr)
	res, err := h.svc.LoginThrottled(r.Context(), core.LoginAttempt{
		Username:    username,
		Password:    password,
		Client:      client,
		DeviceToken: deviceToken(r),
		OldSession:  sessionToken(r),
	})
	var throttled *core.ThrottledError
	switch {
	case errors.As(err, &throttled):
		h.log.Info("login throttled", "username", username, "client", client)
		w.Header().Set("Retry-After", fmt.Sprint(int(math.Ceil(throttled.Wait.Seconds()))))
		h.loginFailed(w, r, http.StatusTooManyRequests, tooManyLogins(throttled.Wait), username)
		return
	case errors.Is(err, core.ErrBadCredentials):
		h.log.Info("login failed", "username", username, "client", client)
		h.loginFailed(w, r, http.StatusUnauthorized, "Wrong username or password.", username)
		return
	case errors.Is(err, core.ErrInvalid):
		// Too long to be a user name or password: neither is logged.
		status, text, _ := userError(err)
		h.loginFailed(w, r, status, text, "")
		return
	case err != nil:
		h.fail(w, r, err)
		return
	}
	h.setSessionCookie(w, res.Session)
	h.setDeviceCookie(w, res.DeviceToken)
	h.log.Info("login", "username", res.Agent.Username)
	http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
}

// loginFailed answers a refused login with status and the message beside
// the fields of the login page, with the user name filled in.
func (h *handler) loginFailed(w http.ResponseWriter, r *http.Request, status int, msg, username string) {
	h.renderLogin(w, r, status, username, msg)
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
