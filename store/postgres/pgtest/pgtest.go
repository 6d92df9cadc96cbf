// Package pgtest gives tests a PostgreSQL server and a fresh, empty database
// per test. It is for tests only; no program should import it.
//
// By default it starts a private server ("cluster") once per test binary:
// initdb into a temporary directory, then postgres listening on 127.0.0.1 on
// a free port only, with its unix socket in that directory and without
// fsync (the data is thrown away). When the tests run as root, which initdb
// refuses, both run as the system user "postgres" (Debian's postgresql
// package creates it). The programs are looked up in PATH, then in
// /usr/lib/postgresql/<version>/bin, the newest version first.
//
// With TICKETD_TEST_POSTGRES set to a URL (postgres://user:pw@host/db) the
// tests use that server instead; the role needs CREATEDB, and every
// database made for a test is dropped when the test ends.
//
// A package that uses Start must stop the server when its tests end:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// Should the test binary die without that (a panic, a timeout, a signal),
// the server gets a parent-death signal and shuts down at once, but its
// temporary directory is left behind.
//
// When PostgreSQL is not installed, Start skips the test, or fails it when
// the environment variable CI is "true", so CI always runs the PostgreSQL
// tests.
package pgtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// EnvURL names the environment variable with the URL of an existing server
// to use instead of a private one.
const EnvURL = "TICKETD_TEST_POSTGRES"

// EnvDurable names the environment variable that, when set, keeps fsync
// and synchronous commits on in the private server, so that benchmarks
// compare durable commits with durable commits.
const EnvDurable = "PGTEST_DURABLE"

// notInstalled is the message of a skipped (or, in CI, failed) test.
const notInstalled = "PostgreSQL not installed (Debian package postgresql)"

// errNotInstalled: initdb or postgres was not found.
var errNotInstalled = errors.New(notInstalled)

// Timeouts of the private server.
const (
	startTimeout = 60 * time.Second // initdb, then until it accepts connections
	stopTimeout  = 15 * time.Second // fast shutdown, then SIGKILL
)

// Cluster is a PostgreSQL server for tests: the private one started by
// Start, or the one named by TICKETD_TEST_POSTGRES.
type Cluster struct {
	adminURL string        // a superuser (or CREATEDB) connection to the maintenance database
	admin    *pgxpool.Pool // on adminURL, for CREATE DATABASE
	external bool          // from TICKETD_TEST_POSTGRES: drop the test databases
	seq      atomic.Int64  // numbers the test databases
	prefix   string        // of the test databases' names
	// createOptions end CREATE DATABASE. On the private server (no fsync)
	// copying the template's files is faster than WAL_LOG, the default of
	// PostgreSQL 15+; a shared server is spared FILE_COPY's checkpoints.
	createOptions string

	// The private server only.
	settings     []string      // more "name=value" server settings (StartPrivate)
	port         int           // once started: the next start uses it again
	postgresPath string        // the server program, for Up
	dir          string        // temporary directory: data, socket, log
	cmd          *exec.Cmd     // the postmaster
	exited       chan struct{} // closed when cmd has exited
	waitErr      error         // of cmd.Wait, once exited is closed
}

// shared is the cluster of this test binary.
var shared struct {
	mu      sync.Mutex
	started bool
	c       *Cluster
	err     error
}

// Start returns the cluster shared by the tests of this binary, starting it
// on first use. It skips the test when PostgreSQL is not installed (fails
// it when CI=true) and fails it when the server cannot be started.
func Start(t testing.TB) *Cluster {
	t.Helper()
	shared.mu.Lock()
	if !shared.started {
		shared.started = true
		shared.c, shared.err = start()
	}
	c, err := shared.c, shared.err
	shared.mu.Unlock()
	if errors.Is(err, errNotInstalled) {
		if os.Getenv("CI") == "true" {
			t.Fatal(notInstalled)
		}
		t.Skip(notInstalled)
	}
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return c
}

// Main runs the tests of m and then stops the shared cluster, and exits
// with the tests' status. Call it from TestMain. Interrupted (^C, SIGTERM),
// it stops the cluster before the test binary exits.
func Main(m *testing.M) {
	interrupted := make(chan os.Signal, 1)
	signal.Notify(interrupted, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-interrupted
		fmt.Fprintf(os.Stderr, "pgtest: %v: stopping PostgreSQL\n", sig)
		Stop()
		os.Exit(1)
	}()
	code := m.Run()
	signal.Stop(interrupted)
	if err := Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// Stop stops the shared cluster, if Start started one, and removes its
// directory. Start may start a new one afterwards.
func Stop() error {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	c := shared.c
	shared.started, shared.c, shared.err = false, nil, nil
	if c == nil {
		return nil
	}
	return c.stop()
}

// URL is a connection URL of the server's maintenance database, for tests
// that need to look around as an administrator.
func (c *Cluster) URL() string { return c.adminURL }

// SocketURL returns dbURL (one of NewDatabase's) connecting through the
// private server's Unix socket instead of TCP, or false on an external
// server (TICKETD_TEST_POSTGRES), whose socket, if any, is not known.
func (c *Cluster) SocketURL(dbURL string) (string, bool) {
	if c.external || c.dir == "" {
		return "", false
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		return "", false
	}
	q := u.Query()
	q.Set("host", c.dir)
	q.Set("port", strconv.Itoa(c.port))
	u.Host, u.RawQuery = "", q.Encode()
	return u.String(), true
}

// NewDatabase creates an empty database for t and returns its URL. On an
// external server (TICKETD_TEST_POSTGRES) the database is dropped when t
// ends; the private server's databases go with the server.
func (c *Cluster) NewDatabase(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("%s_%d", c.prefix, c.seq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if _, err := c.admin.Exec(ctx, `CREATE DATABASE `+pgx.Identifier{name}.Sanitize()+c.createOptions); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	if c.external {
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
			defer cancel()
			if _, err := c.admin.Exec(ctx, `DROP DATABASE IF EXISTS `+pgx.Identifier{name}.Sanitize()+` WITH (FORCE)`); err != nil {
				t.Errorf("pgtest: drop database %s: %v", name, err)
			}
		})
	}
	u, err := url.Parse(c.adminURL)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	u.Path = "/" + name
	u.RawPath = ""
	return u.String()
}

// start connects to the external server, or starts the private one.
func start() (*Cluster, error) {
	suffix := make([]byte, 4)
	rand.Read(suffix)
	prefix := fmt.Sprintf("ticketd_test_%d_%x", os.Getpid(), suffix)
	if u := os.Getenv(EnvURL); u != "" {
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "postgres" && pu.Scheme != "postgresql") {
			return nil, fmt.Errorf("%s must be a URL postgres://user:password@host:port/database", EnvURL)
		}
		c := &Cluster{adminURL: u, external: true, prefix: prefix}
		if err := c.connect(); err != nil {
			return nil, fmt.Errorf("%s: %w", EnvURL, err)
		}
		return c, nil
	}
	initdb, postgres, err := findPrograms()
	if err != nil {
		return nil, err
	}
	c := &Cluster{prefix: prefix}
	if err := c.startPrivate(initdb, postgres); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

// connect opens the administration pool and checks that it answers.
func (c *Cluster) connect() error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	pool, err := pgxpool.New(ctx, c.adminURL)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	var version int
	if err := pool.QueryRow(ctx, `SELECT current_setting('server_version_num')::int`).Scan(&version); err != nil {
		pool.Close()
		return fmt.Errorf("connect: %w", err)
	}
	if version >= 150000 && !c.external {
		c.createOptions = ` STRATEGY = FILE_COPY`
	}
	c.admin = pool
	return nil
}

// findPrograms finds initdb and postgres in PATH, or else in Debian's
// /usr/lib/postgresql/<version>/bin.
func findPrograms() (initdb, postgres string, err error) {
	initdb, err1 := exec.LookPath("initdb")
	postgres, err2 := exec.LookPath("postgres")
	if err1 == nil && err2 == nil {
		return initdb, postgres, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		initdb, postgres = filepath.Join(d, "initdb"), filepath.Join(d, "postgres")
		if executable(initdb) && executable(postgres) {
			return initdb, postgres, nil
		}
	}
	return "", "", errNotInstalled
}

// version is the major version in /usr/lib/postgresql/<version>/bin.
func version(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

func executable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// serverUser is who runs initdb and postgres: nil for the current user, the
// system user "postgres" when running as root.
func serverUser() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, which initdb refuses, and no user postgres to run it as: %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("user postgres: uid %q, gid %q", u.Uid, u.Gid)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// tempDir makes the server's directory, owned by the server's user. As
// root it is made in /tmp when the usual temporary directory is not open to
// other users (TMPDIR under /root).
func tempDir(cred *syscall.Credential) (string, error) {
	parent := os.TempDir()
	if cred != nil && !traversable(parent) {
		parent = "/tmp"
	}
	dir, err := os.MkdirTemp(parent, "ticketd-pgtest-")
	if err != nil {
		return "", fmt.Errorf("make the server's directory: %w", err)
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return "", fmt.Errorf("give the server's directory to user postgres: %w", err)
		}
	}
	return dir, nil
}

// traversable reports whether every directory from / to dir lets other
// users through.
func traversable(dir string) bool {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return false
	}
	for {
		fi, err := os.Stat(dir)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return false
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return true
		}
		dir = parent
	}
}

// startPrivate runs initdb and starts postgres on a free port, trying a few
// ports in case another process takes the one picked first.
func (c *Cluster) startPrivate(initdb, postgres string) error {
	cred, err := serverUser()
	if err != nil {
		return err
	}
	if c.dir, err = tempDir(cred); err != nil {
		return err
	}
	data := filepath.Join(c.dir, "data")
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, initdb, "--pgdata", data, "--username", "postgres", "--auth", "trust",
		"--encoding", "UTF8", "--no-locale", "--no-sync")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w\n%s", initdb, err, out)
	}
	for attempt := 1; ; attempt++ {
		err := c.startServer(ctx, postgres, data, cred)
		if err == nil || attempt == 3 || !strings.Contains(err.Error(), "could not bind") {
			return err
		}
	}
}

// startServer starts postgres and waits until it accepts connections.
func (c *Cluster) startServer(ctx context.Context, postgres, data string, cred *syscall.Credential) error {
	port := c.port
	if port == 0 {
		var err error
		if port, err = freePort(); err != nil {
			return err
		}
	}
	logPath := filepath.Join(c.dir, "postgres.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("server log: %w", err)
	}
	defer logFile.Close() // the server has its own descriptor
	args := []string{"-D", data,
		"-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=" + c.dir,
		// Every parallel test has a pool of its own.
		"-c", "max_connections=" + strconv.Itoa(max(300, 20*runtime.GOMAXPROCS(0))),
		"-c", "shared_buffers=64MB"}
	if os.Getenv(EnvDurable) == "" {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	for _, kv := range c.settings {
		args = append(args, "-c", kv) // the later wins
	}
	cmd := exec.Command(postgres, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: cred,
		// Out of the terminal's process group, so that ^C reaches the
		// tests, which stop the server; and killed with them should they
		// die without stopping it (SIGQUIT: immediate shutdown).
		Setpgid:   true,
		Pdeathsig: syscall.SIGQUIT,
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", postgres, err)
	}
	c.cmd, c.exited = cmd, make(chan struct{})
	go func() {
		c.waitErr = cmd.Wait()
		close(c.exited)
	}()
	c.adminURL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	for {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		conn, err := pgx.Connect(cctx, c.adminURL)
		cancel()
		if err == nil {
			conn.Close(ctx)
			c.port = port
			return c.connect()
		}
		select {
		case <-c.exited:
			c.cmd = nil
			return fmt.Errorf("%s exited: %v\n%s", postgres, c.waitErr, tail(logPath))
		case <-ctx.Done():
			return fmt.Errorf("%s does not accept connections: %w\n%s", postgres, err, tail(logPath))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tail returns the end of the server log, for error messages.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(bytes.TrimSpace(b))
}

// stop closes the administration pool and, for the private server, shuts
// it down (fast shutdown, SIGKILL after stopTimeout) and removes its
// directory.
func (c *Cluster) stop() error {
	if c.admin != nil {
		c.admin.Close()
	}
	var errs []error
	if c.cmd != nil {
		// SIGINT: fast shutdown, disconnecting the clients.
		if err := c.cmd.Process.Signal(syscall.SIGINT); err != nil && !errors.Is(err, os.ErrProcessDone) {
			errs = append(errs, fmt.Errorf("stop postgres: %w", err))
		}
		select {
		case <-c.exited:
		case <-time.After(stopTimeout):
			c.cmd.Process.Kill()
			<-c.exited
			errs = append(errs, fmt.Errorf("postgres did not stop within %v: killed", stopTimeout))
		}
		c.cmd = nil
	}
	if c.dir != "" {
		if err := os.RemoveAll(c.dir); err != nil {
			errs = append(errs, fmt.Errorf("remove the server's directory: %w", err))
		}
	}
	return errors.Join(errs...)
}
