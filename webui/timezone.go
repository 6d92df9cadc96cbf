package webui

import (
	"net/http"
	"strings"
)

// timeZone sets the zone the agent reads times in: POST /timezone with
// zone, an IANA name such as Europe/Berlin, or empty for the default. An
// unknown zone shows the dashboard again with the error beside the field.
func (h *handler) timeZone(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	me := currentAgent(r)
	zone := strings.TrimSpace(r.PostFormValue("zone"))
	if err := h.svc.SetTimeZone(r.Context(), me.Username, zone); err != nil {
		if status, text, ok := userError(err); ok && correctable(err) {
			var errs formErrors
			errs.add("zone", text)
			h.renderDashboard(w, r, status, zone, errs)
			return
		}
		h.fail(w, r, err)
		return
	}
	text := "Times are now shown in " + zone + "."
	if zone == "" {
		text = "Times are now shown in the default time zone, " + h.svc.Config().DefaultTimeZone + "."
	}
	h.redirectFlash(w, r, "/dashboard", flash{Text: text})
}
