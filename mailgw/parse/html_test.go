package parse

import (
	"strings"
	"testing"
)

// newsletterHTML is an HTML mail of about 54 KiB: a layout table,
// styles, links, images and entities.
var newsletterHTML = `<!DOCTYPE html><html><head><title>News</title><style>td{padding:0}</style></head><body>` +
	strings.Repeat(`<table><tr><td><h2>Item &amp; more</h2><p>Text with <b>bold</b>, a <a href="https://shop.example/item?id=1&amp;ref=mail">link</a>`+
		` and an <img src="https://img.example/x.png" alt="picture">.</p><ul><li>one</li><li>two&nbsp;three</li></ul></td></tr></table>`+
		"<!-- spacer -->\n", 200) +
	`<script>track()</script></body></html>`

// BenchmarkHTMLToText measures the conversion of a typical HTML mail.
func BenchmarkHTMLToText(b *testing.B) {
	b.SetBytes(int64(len(newsletterHTML)))
	b.ReportAllocs()
	for b.Loop() {
		htmlToText(newsletterHTML)
	}
}
