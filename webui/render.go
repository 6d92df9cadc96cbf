package webui

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/a-h/templ"

	"trivialtickets/core"
)

// Page templates, one file each in templates/pages. The ticket page is a
// templ component (ticket.templ), and so is the layout around every page
// (layout.templ).
const (
	pageStart     = "start"
	pageDashboard = "dashboard"
	pageTickets   = "tickets"
	pageNotFound  = "notfound"
	pageMessage   = "message"
	pageLogin     = "login"
)

var pageNames = []string{pageStart, pageDashboard, pageTickets, pageNotFound, pageMessage, pageLogin}

// templates maps a page name to its template (partials and page).
type templates map[string]*template.Template

var funcs = template.FuncMap{
	"ticketURL": ticketURL,
	"hasPrefix": strings.HasPrefix,
	"size":      humanSize,
}

// parseTemplates parses the partials once and every page on top of them;
// a missing or broken file is an error.
func parseTemplates(fsys fs.FS) (templates, error) {
	base, err := template.New("partials").Funcs(funcs).ParseFS(fsys, "templates/partials/*.html")
	if err != nil {
		return nil, fmt.Errorf("webui: parse partials: %w", err)
	}
	tpl := make(templates, len(pageNames))
	for _, name := range pageNames {
		t, err := base.Clone()
		if err != nil {
			return nil, fmt.Errorf("webui: clone partials for %s: %w", name, err)
		}
		if t, err = t.ParseFS(fsys, "templates/pages/"+name+".html"); err != nil {
			return nil, fmt.Errorf("webui: parse page %s: %w", name, err)
		}
		for _, part := range []string{"title", "content"} {
			if t.Lookup(part) == nil {
				return nil, fmt.Errorf("webui: page %s: template %q is not defined", name, part)
			}
		}
		tpl[name] = t
	}
	return tpl, nil
}

// page is what the layout needs, around the page's own Data.
type page struct {
	Agent *core.Agent
	Nav   string // the navigation entry to highlight
	// Search refills the header's search box.
	Search string
	// Narrow pages (forms) use a narrower column.
	Narrow bool
	// HideLoginMask leaves the header's login form out, on the login page
	// itself.
	HideLoginMask bool
	// Path is the request's path, for pages that say what was not found.
	Path  string
	Flash *flash
	Alert string // a message about the form that was sent, shown as an error
	// LoginName refills the login form after a failed login.
	LoginName string
	Data      any
}

// render writes the html/template page name with status in the layout.
func (h *handler) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	t, ok := h.tpl[name]
	if !ok {
		h.internalError(w, r, fmt.Errorf("webui: no page template %q", name))
		return
	}
	h.prepare(w, r, &p)
	var title, content strings.Builder
	if err := t.ExecuteTemplate(&title, "title", p); err != nil {
		h.internalError(w, r, fmt.Errorf("webui: render %s: %w", name, err))
		return
	}
	if err := t.ExecuteTemplate(&content, "content", p); err != nil {
		h.internalError(w, r, fmt.Errorf("webui: render %s: %w", name, err))
		return
	}
	// html/template escaped both by context already.
	if err := writePage(w, r.Context(), status, p, templ.Raw(title.String()), templ.Raw(content.String())); err != nil {
		h.internalError(w, r, fmt.Errorf("webui: render %s: %w", name, err))
	}
}

// renderComponents writes a page made of templ components with status.
func (h *handler) renderComponents(w http.ResponseWriter, r *http.Request, status int, p page, title, content templ.Component) {
	h.prepare(w, r, &p)
	if err := writePage(w, r.Context(), status, p, title, content); err != nil {
		h.internalError(w, r, fmt.Errorf("webui: render %s: %w", r.URL.Path, err))
	}
}

// prepare fills in what the layout takes from the request.
func (h *handler) prepare(w http.ResponseWriter, r *http.Request, p *page) {
	p.Agent = currentAgent(r)
	p.Path = r.URL.Path
	if p.Flash == nil {
		p.Flash = h.takeFlash(w, r)
	}
}

// pageBuffers keep the buffers pages are rendered into between requests.
var pageBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// writePage renders the layout with title and content into a buffer, so
// that a failure leaves w untouched for a clean 500, and then writes it
// with status.
func writePage(w http.ResponseWriter, ctx context.Context, status int, p page, title, content templ.Component) error {
	return renderPage(ctx, p, title, content, func(body []byte) { writeBody(w, status, body) })
}

// renderPage renders the layout with title and content into a pooled
// buffer and hands the bytes to use, which must not keep them.
func renderPage(ctx context.Context, p page, title, content templ.Component, use func(body []byte)) error {
	buf := pageBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 1<<20 {
			pageBuffers.Put(buf)
		}
	}()
	if err := layout(p, title, content).Render(ctx, buf); err != nil {
		return err
	}
	use(buf.Bytes())
	return nil
}

// writeBody writes a rendered page with status and the headers every page
// has.
func writeBody(w http.ResponseWriter, status int, body []byte) {
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	// The length is known: pages above net/http's 4 KiB buffer (the
	// agent's) go out whole instead of in chunks.
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

// entryAuthor names who wrote an entry: the display name, else the bare
// address or username (never "<address>").
func entryAuthor(e core.Entry) string {
	switch {
	case e.AuthorKind == core.AuthorSystem:
		return "System"
	case e.AuthorName != "":
		return e.AuthorName
	case e.Author != "":
		return e.Author
	}
	return "Unknown sender"
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// localPath returns back when it is a path on this site, else def. It
// keeps redirects after a form post from leaving the site.
func localPath(back, def string) string {
	if back == "" || !strings.HasPrefix(back, "/") || strings.HasPrefix(back, "//") || strings.ContainsAny(back, "\\\r\n") {
		return def
	}
	u, err := url.Parse(back)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return def
	}
	out := u.EscapedPath()
	if q := u.Query().Encode(); q != "" {
		out += "?" + q
	}
	return out
}

// speaker is the label that says in words who wrote an entry, for the
// viewer: customers read "You" and "Support", agents "Customer", "Agent"
// or "Internal note".
func speaker(e core.Entry, agent bool) string {
	switch {
	case e.AuthorKind == core.AuthorSystem:
		return "System"
	case e.AuthorKind == core.AuthorCustomer && agent:
		return "Customer"
	case e.AuthorKind == core.AuthorCustomer:
		return "You"
	case !agent:
		return "Support"
	case e.Internal:
		return "Internal note"
	}
	return "Reply to customer"
}
