package store

import (
	"testing"
	"testing/fstest"
)

func TestLoadMigrationsRejectsGaps(t *testing.T) {
	for name, files := range map[string][]string{
		"gap":       {"0001_a.sql", "0003_c.sql"},
		"repeat":    {"0001_a.sql", "0001_b.sql"},
		"no number": {"init.sql"},
		"short":     {"1_a.sql"},
	} {
		fsys := fstest.MapFS{}
		for _, f := range files {
			fsys["m/"+f] = &fstest.MapFile{Data: []byte("SELECT 1;")}
		}
		if _, err := LoadMigrations(fsys, "m"); err == nil {
			t.Errorf("%s: loaded %v", name, files)
		}
	}
}

func TestLoadMigrationsInOrder(t *testing.T) {
	fsys := fstest.MapFS{
		"m/0002_b.sql": &fstest.MapFile{Data: []byte("SELECT 2;")},
		"m/0001_a.sql": &fstest.MapFile{Data: []byte("SELECT 1;")},
	}
	ms, err := LoadMigrations(fsys, "m")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Version != 1 || ms[1].Name != "0002_b.sql" || ms[1].SQL != "SELECT 2;" {
		t.Errorf("loaded %+v", ms)
	}
}
