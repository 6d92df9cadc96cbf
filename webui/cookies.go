package webui

import (
	"encoding/base64"
	"net/http"
	"strings"

	"trivialtickets/core"
)

// Cookie names.
const (
	sessionCookie = "tt_session"
	flashCookie   = "tt_flash"
	deviceCookie  = "tt_device"
)

// sessionToken is the token of the request's session cookie, if any.
func sessionToken(r *http.Request) string {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return ""
	}
	return c.Value
}

func (h *handler) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   h.secure,
		SameSite: http.SameSiteLaxMode,
	}
}

func (h *handler) setSessionCookie(w http.ResponseWriter, token string) {
	http.SetCookie(w, h.cookie(sessionCookie, token, int(core.SessionLifetime.Seconds())))
}

func (h *handler) clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, h.cookie(sessionCookie, "", -1))
}

// deviceToken is the browser's trust cookie (see core.LoginThrottled), if
// any.
func deviceToken(r *http.Request) string {
	c, err := r.Cookie(deviceCookie)
	if err != nil {
		return ""
	}
	return c.Value
}

// setDeviceCookie trusts the browser for core.TrustedDeviceLifetime. Only
// the login form needs it: it goes to /login alone, and never along with a
// request from another site.
func (h *handler) setDeviceCookie(w http.ResponseWriter, token string) {
	c := h.cookie(deviceCookie, token, int(core.TrustedDeviceLifetime.Seconds()))
	c.Path = "/login"
	c.SameSite = http.SameSiteStrictMode
	http.SetCookie(w, c)
}

// flash is a one-time message shown on the page after a redirect.
type flash struct {
	Error bool
	Text  string
}

// setFlash stores a message for the next page the browser loads.
func (h *handler) setFlash(w http.ResponseWriter, f flash) {
	kind := "ok"
	if f.Error {
		kind = "error"
	}
	v := base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + f.Text))
	http.SetCookie(w, h.cookie(flashCookie, v, 60))
}

// takeFlash returns the pending message and clears it.
func (h *handler) takeFlash(w http.ResponseWriter, r *http.Request) *flash {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return nil
	}
	http.SetCookie(w, h.cookie(flashCookie, "", -1))
	b, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		return nil
	}
	kind, text, ok := strings.Cut(string(b), ":")
	if !ok || text == "" {
		return nil
	}
	return &flash{Error: kind != "ok", Text: text}
}

// redirectFlash answers a form post: a message for the next page and a
// redirect there (post/redirect/get).
func (h *handler) redirectFlash(w http.ResponseWriter, r *http.Request, to string, f flash) {
	h.setFlash(w, f)
	http.Redirect(w, r, to, http.StatusSeeOther)
}
