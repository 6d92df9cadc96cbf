package webui

import "net/http"

// logout ends the session on the server and clears the cookie: POST
// /logout.
func (h *handler) logout(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.Logout(r.Context(), sessionToken(r)); err != nil {
		h.fail(w, r, err)
		return
	}
	h.clearSessionCookie(w)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
