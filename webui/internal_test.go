package webui

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestParseTemplatesFailsFast(t *testing.T) {
	if _, err := parseTemplates(assets); err != nil {
		t.Fatalf("embedded templates: %v", err)
	}
	good := fstest.MapFS{
		"templates/partials/a.html":  {Data: []byte(`{{define "a"}}{{end}}`)},
		"templates/pages/start.html": {Data: []byte(`{{define "title"}}t{{end}}{{define "content"}}c{{end}}`)},
	}
	if _, err := parseTemplates(good); err == nil || !strings.Contains(err.Error(), "dashboard") {
		t.Errorf("missing page templates: err = %v, want one naming the missing page", err)
	}
	broken := fstest.MapFS{"templates/partials/a.html": {Data: []byte(`{{define "a"}}{{if}}{{end}}`)}}
	if _, err := parseTemplates(broken); err == nil {
		t.Error("broken partial parsed")
	}
}

func TestLocalPath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/tickets?status=open&after=1.abc", "/tickets?after=1.abc&status=open"},
		{"/dashboard", "/dashboard"},
		{"", "/def"},
		{"https://evil.example/", "/def"},
		{"//evil.example/x", "/def"},
		{"/\\evil.example", "/def"},
		{"tickets", "/def"},
		{"/x\r\nSet-Cookie: a=b", "/def"},
	}
	for _, tt := range tests {
		if got := localPath(tt.in, "/def"); got != tt.want {
			t.Errorf("localPath(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestContentDisposition(t *testing.T) {
	tests := []struct{ in, want string }{
		{"report.pdf", `attachment; filename="report.pdf"; filename*=UTF-8''report.pdf`},
		{"../../etc/passwd", `attachment; filename="passwd"; filename*=UTF-8''passwd`},
		{"a\"b\r\n.txt", `attachment; filename="a_b.txt"; filename*=UTF-8''a%22b.txt`},
		{"Grüße 100%.txt", `attachment; filename="Gr__e 100_.txt"; filename*=UTF-8''Gr%C3%BC%C3%9Fe%20100%25.txt`},
		{"", `attachment; filename="attachment"; filename*=UTF-8''attachment`},
	}
	for _, tt := range tests {
		if got := contentDisposition(tt.in); got != tt.want {
			t.Errorf("contentDisposition(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	types := map[string]string{
		"image/png":                  "image/png",
		"IMAGE/PNG":                  "image/png",
		"text/plain; charset=latin1": "text/plain; charset=utf-8",
		"text/html":                  "application/octet-stream",
		"image/svg+xml":              "application/octet-stream",
		"garbage;;":                  "application/octet-stream",
	}
	for in, want := range types {
		if got := safeContentType(in); got != want {
			t.Errorf("safeContentType(%q) = %q, want %q", in, got, want)
		}
	}
}
