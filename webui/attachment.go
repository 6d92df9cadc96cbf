package webui

import (
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// safeTypes are the content types an attachment is served with; anything
// else is application/octet-stream. None of them can run script.
var safeTypes = map[string]string{
	"image/png":       "image/png",
	"image/jpeg":      "image/jpeg",
	"image/gif":       "image/gif",
	"image/webp":      "image/webp",
	"application/pdf": "application/pdf",
	"text/plain":      "text/plain; charset=utf-8",
	"text/csv":        "text/csv; charset=utf-8",
}

// attachment sends an attachment as a download: GET
// /ticket/attachment?id=<ticket>&att=<n>. Customers get those of external
// entries only.
func (h *handler) attachment(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	attID, err := strconv.ParseInt(q.Get("att"), 10, 64)
	if err != nil || attID <= 0 {
		h.notFound(w, r)
		return
	}
	a, err := h.svc.Attachment(r.Context(), currentAgent(r), q.Get("id"), attID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", safeContentType(a.ContentType))
	hd.Set("Content-Disposition", contentDisposition(a.Filename))
	hd.Set("Content-Length", strconv.Itoa(len(a.Data)))
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Security-Policy", "sandbox")
	hd.Set("Cache-Control", "private, no-store")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(a.Data)
	}
}

// safeContentType returns the stored type when it is on the allow-list,
// else application/octet-stream.
func safeContentType(stored string) string {
	mt, _, err := mime.ParseMediaType(stored)
	if err != nil {
		return "application/octet-stream"
	}
	if t, ok := safeTypes[mt]; ok {
		return t
	}
	return "application/octet-stream"
}

// contentDisposition makes an attachment header with the file name as an
// RFC 5987 ext-value (RFC 6266 §4.3) and a plain ASCII fallback. Paths,
// quotes and control characters never get through.
func contentDisposition(name string) string {
	name = cleanFilename(name)
	var ascii strings.Builder
	for _, r := range name {
		if r < 0x80 && r != '"' && r != '\\' && r != '%' {
			ascii.WriteRune(r)
		} else {
			ascii.WriteByte('_')
		}
	}
	return `attachment; filename="` + ascii.String() + `"; filename*=UTF-8''` + rfc5987Escape(name)
}

// cleanFilename keeps the last path element of name without control
// characters; "attachment" when nothing is left.
func cleanFilename(name string) string {
	name = strings.ToValidUTF8(name, "")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return -1
		}
		return r
	}, name)
	name = strings.Trim(strings.TrimSpace(name), ".")
	for len(name) > 200 {
		_, n := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-n]
	}
	if name == "" {
		return "attachment"
	}
	return name
}

// rfc5987Escape percent-encodes everything but attr-char (RFC 5987 §3.2.1).
func rfc5987Escape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
