package webui

import "net/http"

// loginForm is the login page's form.
type loginForm struct {
	Username string
	Errors   formErrors
}

// loginPage shows the login page: GET /login. A logged-in agent goes to
// the dashboard.
func (h *handler) loginPage(w http.ResponseWriter, r *http.Request) {
	if currentAgent(r) != nil {
		http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
		return
	}
	h.renderLogin(w, r, http.StatusOK, r.URL.Query().Get("username"), "")
}

// renderLogin renders the login page with status; msg, when set, is the
// reason the login failed, shown in the summary and beside the fields.
func (h *handler) renderLogin(w http.ResponseWriter, r *http.Request, status int, username, msg string) {
	f := loginForm{Username: username}
	if msg != "" {
		f.Errors.add("username", msg)
		f.Errors.add("password", "Enter the password again.")
	}
	h.render(w, r, status, pageLogin, page{Narrow: true, HideLoginMask: true, LoginName: username, Data: f})
}
