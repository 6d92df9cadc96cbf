package main

import (
	"context"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestLMTPSocketAccess starts the daemon with an LMTP unix socket: it is
// created with lmtp-socket-mode (default 0660, so that a local MTA in the
// socket's group may connect) and given lmtp-socket-group, also over a stale
// socket left by a previous run; a group that does not exist stops the
// start with a message naming the setting.
func TestLMTPSocketAccess(t *testing.T) {
	group := strconv.Itoa(os.Getgid())
	if os.Getuid() == 0 {
		if g, err := user.LookupGroup("mail"); err == nil {
			group = g.Name
		}
	}
	wantGid := group
	if g, err := user.LookupGroup(group); err == nil {
		wantGid = g.Gid
	}
	tests := []struct {
		name    string
		args    []string
		mode    os.FileMode
		wantGid string
	}{
		{"default", nil, 0o660, strconv.Itoa(os.Getgid())},
		{"mode and group", []string{"--lmtp-socket-mode", "0620", "--lmtp-socket-group", group}, 0o620, wantGid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			sock := filepath.Join(dir, "lmtp.sock")
			os.WriteFile(sock, nil, 0o600) // stale, from a daemon that did not stop cleanly
			args := append([]string{"--data", filepath.Join(dir, "data"), "--http", "127.0.0.1:0", "--no-tls",
				"--smtp", "", "--lmtp", "unix:" + sock}, tt.args...)
			_, stop := startDaemon(t, args...)
			defer stop()
			fi, err := os.Stat(sock)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != tt.mode {
				t.Errorf("socket mode = %v, want socket %v", fi.Mode(), tt.mode)
			}
			if gid := strconv.Itoa(int(fi.Sys().(*syscall.Stat_t).Gid)); gid != tt.wantGid {
				t.Errorf("socket group = %s, want %s", gid, tt.wantGid)
			}
			conn, err := net.Dial("unix", sock)
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			defer conn.Close()
			greeting := make([]byte, 3)
			if _, err := conn.Read(greeting); err != nil || string(greeting) != "220" {
				t.Errorf("greeting %q, %v", greeting, err)
			}
		})
	}

	dir := t.TempDir()
	var out, errOut syncBuffer
	code := run(context.Background(), []string{"--data", filepath.Join(dir, "data"), "--http", "127.0.0.1:0", "--no-tls",
		"--smtp", "", "--lmtp", "unix:" + filepath.Join(dir, "lmtp.sock"), "--lmtp-socket-group", "no-such-group-x"}, nil, nil, &out, &errOut)
	if code == 0 || !strings.Contains(errOut.String(), "setting lmtp-socket-group") {
		t.Errorf("unknown group: exit %d, %s", code, errOut.String())
	}
	for _, mode := range []string{"rw", "660", "0999", "01777"} {
		if _, _, err := loadConfig([]string{"--lmtp-socket-mode", mode}, nil, &out, nil); err == nil || !strings.Contains(err.Error(), "octal permission") {
			t.Errorf("mode %q: %v", mode, err)
		}
	}
	// A TOML number would arrive as decimal text: refused, not misread.
	file := filepath.Join(dir, "c.toml")
	os.WriteFile(file, []byte("lmtp_socket_mode = 0o660\n"), 0o600)
	if _, _, err := loadConfig([]string{"--config", file}, nil, &out, nil); err == nil || !strings.Contains(err.Error(), "a string") {
		t.Errorf("TOML number as mode: %v", err)
	}
}
