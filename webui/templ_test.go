package webui

import (
	"bytes"
	"go/format"
	"os"
	"path/filepath"
	"testing"

	"github.com/a-h/templ"
	"github.com/a-h/templ/generator"
	parser "github.com/a-h/templ/parser/v2"
)

// TestTemplGenerated fails when a *_templ.go file is not what templ makes
// of its .templ file today: someone edited the template and forgot
//
//	go run github.com/a-h/templ/cmd/templ@v0.3.1100 generate -path webui
//
// or edited the generated file by hand.
func TestTemplGenerated(t *testing.T) {
	files, err := filepath.Glob("*.templ")
	if err != nil || len(files) == 0 {
		t.Fatalf("no .templ files here (%v)", err)
	}
	for _, name := range files {
		tf, err := parser.Parse(name)
		if err != nil {
			t.Fatalf("parse %s: %v", name, err)
		}
		var b bytes.Buffer
		if _, err := generator.Generate(tf, &b, generator.WithVersion(templ.Version()), generator.WithFileName(name)); err != nil {
			t.Fatalf("generate %s: %v", name, err)
		}
		want, err := format.Source(b.Bytes())
		if err != nil {
			t.Fatalf("format the code of %s: %v", name, err)
		}
		goName := name[:len(name)-len(".templ")] + "_templ.go"
		got, err := os.ReadFile(goName)
		if err != nil {
			t.Fatalf("%v: run templ generate (see the comment of this test)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale or edited by hand: run go run github.com/a-h/templ/cmd/templ@v0.3.1100 generate -path webui", goName)
		}
	}
}
