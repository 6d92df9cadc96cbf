// Package dovecottest starts a private Dovecot IMAP server for tests: on a
// free loopback port, with its configuration, state, logs and maildirs in
// the test's temporary directory (never /etc/dovecot), and one user with a
// plain password.
//
// It needs the dovecot binary (Debian package dovecot-imapd, Dovecot 2.3).
// Without it the test is skipped, unless the environment variable CI is
// "true": then it fails, so that CI never passes by skipping. When the test
// runs as root, Dovecot's login and internal processes run as the Debian
// package's users dovenull and dovecot, and the mail processes as nobody.
package dovecottest

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Binary is where the Debian package installs Dovecot; when it is missing,
// "dovecot" is looked up in PATH.
const Binary = "/usr/sbin/dovecot"

const missing = "dovecot not installed (Debian package dovecot-imapd)"

// Options change the server Start makes.
type Options struct {
	// TLS gives the server a self-signed certificate for 127.0.0.1: it
	// offers STARTTLS on Port and implicit TLS on TLSPort, and CertPool
	// trusts it.
	TLS bool
	// OAuth2IntrospectionURL, when set, lets the user log in with SASL
	// XOAUTH2 and OAUTHBEARER too: Dovecot's oauth2 passdb asks this URL
	// (RFC 7662 token introspection, POST token=…) whether a token is
	// active, and for which username.
	OAuth2IntrospectionURL string
}

// Server is a running private Dovecot.
type Server struct {
	Host     string // always "127.0.0.1"
	Port     int    // IMAP (with STARTTLS when Options.TLS)
	TLSPort  int    // IMAP over implicit TLS; 0 without Options.TLS
	User     string // the one mail user
	Password string // its plain password
	// CertPool holds the server's self-signed certificate (Options.TLS).
	CertPool *x509.CertPool
	Dir      string // configuration, state, log and mail

	t      testing.TB
	bin    string
	conf   string
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has exited
}

// Start starts a plain-text Dovecot (ssl = no) and stops it when the test
// ends.
func Start(t testing.TB) *Server { return StartWith(t, Options{}) }

// StartWith starts a Dovecot configured by o and stops it when the test
// ends.
func StartWith(t testing.TB, o Options) *Server {
	t.Helper()
	bin := Binary
	if _, err := os.Stat(bin); err != nil {
		p, lerr := exec.LookPath("dovecot")
		if lerr != nil {
			if os.Getenv("CI") == "true" {
				t.Fatal(missing)
			}
			t.Skip(missing)
		}
		bin = p
	}
	dir := t.TempDir()
	s := &Server{Host: "127.0.0.1", User: "support@help.example", Password: randomHex(8), Dir: dir, t: t, bin: bin}
	ids, err := accounts()
	if err != nil {
		t.Fatalf("dovecottest: %v", err)
	}
	if os.Geteuid() == 0 {
		// The unprivileged Dovecot processes must reach the files: open
		// the temporary directory (and the one testing made around it).
		for _, d := range []string{filepath.Dir(dir), dir} {
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatalf("dovecottest: %v", err)
			}
		}
	}
	mail := filepath.Join(dir, "mail")
	if err := os.Mkdir(mail, 0o755); err != nil {
		t.Fatalf("dovecottest: %v", err)
	}
	if os.Geteuid() == 0 {
		if err := os.Chown(mail, ids.mailUID, ids.mailGID); err != nil {
			t.Fatalf("dovecottest: %v", err)
		}
	}
	passwd := fmt.Sprintf("%s:{PLAIN}%s:%d:%d::%s\n", s.User, s.Password, ids.mailUID, ids.mailGID, filepath.Join(mail, s.User))
	if err := os.WriteFile(filepath.Join(dir, "passwd"), []byte(passwd), 0o644); err != nil {
		t.Fatalf("dovecottest: %v", err)
	}
	if o.OAuth2IntrospectionURL != "" {
		conf := "introspection_mode = post\nintrospection_url = " + o.OAuth2IntrospectionURL +
			"\nusername_attribute = username\nactive_attribute = active\nactive_value = true\n"
		if err := os.WriteFile(filepath.Join(dir, "oauth2.conf"), []byte(conf), 0o644); err != nil {
			t.Fatalf("dovecottest: %v", err)
		}
	}
	if o.TLS {
		pool, err := writeCert(dir)
		if err != nil {
			t.Fatalf("dovecottest: certificate: %v", err)
		}
		s.CertPool = pool
	}
	t.Cleanup(s.stop)

	// A free port can be taken by someone else before Dovecot binds it;
	// then Dovecot exits at once and another port is tried.
	var lastErr error
	for range 5 {
		ports, err := freePorts(1 + btoi(o.TLS))
		if err != nil {
			t.Fatalf("dovecottest: %v", err)
		}
		s.Port = ports[0]
		if o.TLS {
			s.TLSPort = ports[1]
		}
		s.conf = filepath.Join(dir, "dovecot.conf")
		if err := os.WriteFile(s.conf, []byte(config(s, ids, o)), 0o644); err != nil {
			t.Fatalf("dovecottest: %v", err)
		}
		if lastErr = s.launch(); lastErr == nil {
			return s
		}
		s.stop()
		if !strings.Contains(s.Log(), "Address already in use") {
			break
		}
	}
	t.Fatalf("dovecottest: %v\n--- dovecot log ---\n%s", lastErr, s.Log())
	return nil
}

// Addr is host:port of the IMAP listener.
func (s *Server) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// Log returns Dovecot's log so far, and what the master process wrote to
// its standard output and error.
func (s *Server) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "dovecot.log"))
	o, _ := os.ReadFile(filepath.Join(s.Dir, "master.out"))
	return string(b) + string(o)
}

// Stop stops Dovecot and every process it started (SIGTERM, which ends
// every client connection) and waits until they have exited.
func (s *Server) Stop() {
	s.t.Helper()
	s.stop()
}

// Restart stops Dovecot and starts it again on the same ports with the same
// mail.
func (s *Server) Restart() {
	s.t.Helper()
	s.stop()
	var err error
	for range 50 { // the port may still be held for a moment
		if err = s.launch(); err == nil {
			return
		}
		s.stop()
		if !strings.Contains(s.Log(), "Address already in use") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("dovecottest: restart: %v\n--- dovecot log ---\n%s", err, s.Log())
}

// launch starts the master process in the foreground and waits until the
// IMAP listener greets.
func (s *Server) launch() error {
	cmd := exec.Command(s.bin, "-F", "-c", s.conf)
	cmd.Dir = s.Dir
	cmd.SysProcAttr = procAttr()
	out, err := os.OpenFile(filepath.Join(s.Dir, "master.out"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	s.cmd, s.exited = cmd, exited

	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			b, _ := os.ReadFile(filepath.Join(s.Dir, "master.out"))
			return fmt.Errorf("dovecot exited at start (%v): %s", cmd.ProcessState, strings.TrimSpace(string(b)))
		default:
		}
		if greets(s.Addr()) {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return errors.New("dovecot did not answer on " + s.Addr() + " within 15s")
}

// greets reports whether an IMAP server answers on addr.
func greets(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "* OK")
}

func (s *Server) stop() {
	if s.cmd == nil {
		return
	}
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	// SIGTERM to the whole process group: the master alone would leave the
	// imap processes serving their clients. The master usually exits
	// within milliseconds, but sometimes waits a second for its children;
	// a test need not wait for that.
	signalAll(cmd.Process, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(300 * time.Millisecond):
		signalAll(cmd.Process, syscall.SIGKILL)
		<-exited
	}
	for i := 0; groupAlive(cmd.Process); i++ {
		if i == 15 {
			signalAll(cmd.Process, syscall.SIGKILL)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The master is gone; wait until nothing listens any more.
	for range 100 {
		c, err := net.DialTimeout("tcp", s.Addr(), 200*time.Millisecond)
		if err != nil {
			return
		}
		c.Close()
		time.Sleep(20 * time.Millisecond)
	}
}

// ids are the users Dovecot's processes run as.
type ids struct {
	loginUser, internalUser, internalGroup string
	mailUID, mailGID                       int
}

func accounts() (ids, error) {
	if os.Geteuid() != 0 {
		// Without root every process runs as the current user.
		u, err := user.Current()
		if err != nil {
			return ids{}, err
		}
		g, err := user.LookupGroupId(strconv.Itoa(os.Getgid()))
		if err != nil {
			return ids{}, err
		}
		return ids{loginUser: u.Username, internalUser: u.Username, internalGroup: g.Name, mailUID: os.Getuid(), mailGID: os.Getgid()}, nil
	}
	for _, name := range []string{"dovenull", "dovecot"} {
		if _, err := user.Lookup(name); err != nil {
			return ids{}, fmt.Errorf("user %s (made by the Debian package dovecot-core) is missing: %w", name, err)
		}
	}
	mailUser := "nobody"
	u, err := user.Lookup(mailUser)
	if err != nil {
		return ids{}, fmt.Errorf("user %s for the mail processes is missing: %w", mailUser, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return ids{loginUser: "dovenull", internalUser: "dovecot", internalGroup: "dovecot", mailUID: uid, mailGID: gid}, nil
}

// config is a complete Dovecot 2.3 configuration.
func config(s *Server, id ids, o Options) string {
	d := s.Dir
	var oauthMechs, oauthPassdb string
	if o.OAuth2IntrospectionURL != "" {
		oauthMechs = " xoauth2 oauthbearer"
		oauthPassdb = fmt.Sprintf("passdb {\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = %s/oauth2.conf\n}\n", d)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `# Written by trivialtickets/mailgw/dovecottest for one test.
instance_name = dovecottest-%d
base_dir = %s/run
state_dir = %s/state
log_path = %s/dovecot.log
protocols = imap
listen = 127.0.0.1
default_login_user = %s
default_internal_user = %s
default_internal_group = %s
first_valid_uid = 1
first_valid_gid = 1
disable_plaintext_auth = no
auth_mechanisms = plain login%s
mail_location = maildir:%s/mail/%%u
%spassdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%%u %s/passwd
}
userdb {
  driver = passwd-file
  args = username_format=%%u %s/passwd
}
protocol imap {
  mail_max_userip_connections = 100
}
`, s.Port, d, d, d, id.loginUser, id.internalUser, id.internalGroup, oauthMechs, d, oauthPassdb, d, d)
	if o.TLS {
		fmt.Fprintf(&b, "ssl = yes\nssl_cert = <%s/cert.pem\nssl_key = <%s/key.pem\n", d, d)
	} else {
		b.WriteString("ssl = no\n")
	}
	// chroot needs root; the login processes run without it.
	fmt.Fprintf(&b, `service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = %d
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = %d
  }
}
`, s.Port, s.TLSPort)
	return b.String()
}

// writeCert makes a self-signed certificate for 127.0.0.1 and localhost,
// writes cert.pem and key.pem into dir and returns a pool trusting it.
func writeCert(dir string) (*x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "dovecottest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool, nil
}

// freePorts returns n distinct loopback ports that were free a moment ago.
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
