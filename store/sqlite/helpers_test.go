package sqlite

import (
	"os"
	"testing"
)

// TestMain removes the benchmark database, which is shared by every
// benchmark of the process.
func TestMain(m *testing.M) {
	code := m.Run()
	if bench.st != nil {
		bench.st.Close()
		os.RemoveAll(bench.dir)
	}
	os.Exit(code)
}

// sqliteTx lets tests reach the store's own Tx type.
type sqliteTx = tx

func mkdir(dir string) error { return os.MkdirAll(dir, 0o755) }

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func mkdtemp() (string, error) { return os.MkdirTemp("", "ticketd-bench-") }
