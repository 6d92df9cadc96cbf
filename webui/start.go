package webui

import "net/http"

// createForm is the "Create ticket" form of the start page.
type createForm struct {
	Email   string
	Subject string
	Message string
	Errors  formErrors
}

// startPage renders the start page with status, the create form filled
// with f and alert, if any, above it.
func (h *handler) startPage(w http.ResponseWriter, r *http.Request, status int, f createForm, alert, loginName string) {
	h.render(w, r, status, pageStart, page{Nav: "create", Alert: alert, LoginName: loginName, Narrow: true, Data: f})
}

// start shows the start page: GET /.
func (h *handler) start(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		h.notFound(w, r)
		return
	}
	h.startPage(w, r, http.StatusOK, createForm{}, "", "")
}

// parseForm reads the form of a post and answers it itself when the body
// cannot be read.
func (h *handler) parseForm(w http.ResponseWriter, r *http.Request) bool {
	if err := r.ParseForm(); err != nil {
		h.badForm(w, r, err)
		return false
	}
	return true
}
