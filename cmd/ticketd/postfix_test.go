package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"trivialtickets/mailgw/relaytest"
	"trivialtickets/webui/mailapi/client"
)

// postfix is a private Postfix instance: its own configuration, queue and
// data directories, an smtpd on a loopback port, and a transport that hands
// mail for help.example to an LMTP unix socket.
type postfix struct {
	t    *testing.T
	bin  string // the postfix command
	dir  string
	smtp string // address of its smtpd
}

// startPostfix starts Postfix's master in the foreground for the test and
// stops it at the end. Postfix's master must start as root; its delivery
// agents run as the postfix user, as on a real server.
func startPostfix(t *testing.T, lmtpSocket string) *postfix {
	t.Helper()
	bin, err := exec.LookPath("postfix")
	if err != nil {
		bin = "/usr/sbin/postfix" // outside the PATH of users other than root
		if _, err := os.Stat(bin); err != nil {
			relaytest.Missing(t, "postfix is not installed (Debian package postfix)")
		}
	}
	if os.Geteuid() != 0 {
		relaytest.Missing(t, "Postfix's master must be started as root")
	}
	dir, err := os.MkdirTemp("", "ticketd-postfix-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	p := &postfix{t: t, bin: bin, dir: dir, smtp: freeAddr(t)}
	for _, d := range []string{"etc", "spool", "data"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := exec.Command("chown", "postfix", filepath.Join(dir, "data")).Run(); err != nil {
		t.Fatalf("chown data directory to postfix: %v", err)
	}
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, "etc", name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("transport", "help.example lmtp:unix:"+lmtpSocket+"\n")
	write("main.cf", fmt.Sprintf(`compatibility_level = 3.6
queue_directory = %[1]s/spool
data_directory = %[1]s/data
mail_owner = postfix
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mx.test.example
mydestination =
relay_domains = help.example
transport_maps = texthash:%[1]s/etc/transport
mynetworks = 127.0.0.0/8
smtpd_recipient_restrictions = permit_mynetworks, reject
maillog_file = %[1]s/maillog
maillog_file_prefixes = %[1]s
smtputf8_enable = no
biff = no
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
`, dir))
	write("master.cf", p.smtp+` inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n -  0 cleanup
qmgr      unix  n - n 1  1 qmgr
rewrite   unix  - - n -  - trivial-rewrite
bounce    unix  - - n -  0 bounce
defer     unix  - - n -  0 bounce
trace     unix  - - n -  0 bounce
verify    unix  - - n -  1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -  - proxymap
showq     unix  n - n -  - showq
error     unix  - - n -  - error
retry     unix  - - n -  - error
discard   unix  - - n -  - discard
lmtp      unix  - - n -  - lmtp
anvil     unix  - - n -  1 anvil
scache    unix  - - n -  1 scache
postlog   unix-dgram n - n - 1 postlogd
`)
	cmd := exec.Command(bin, "-c", filepath.Join(dir, "etc"), "start-fg")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start postfix: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		exec.Command(bin, "-c", filepath.Join(dir, "etc"), "stop").Run()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		if c, err := net.Dial("tcp", p.smtp); err == nil {
			c.Close()
			return p
		}
		select {
		case <-done:
			t.Fatalf("postfix stopped:\n%s\n%s", out.String(), p.log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("postfix did not listen on %s:\n%s\n%s", p.smtp, out.String(), p.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *postfix) log() string {
	b, _ := os.ReadFile(filepath.Join(p.dir, "maillog"))
	return string(b)
}

// send hands Postfix one mail for help@help.example.
func (p *postfix) send(from, subject, msgID string) {
	p.t.Helper()
	c, err := smtp.Dial(p.smtp)
	if err != nil {
		p.t.Fatalf("dial postfix: %v", err)
	}
	defer c.Close()
	err = c.SendMail(from, []string{"help@help.example"}, strings.NewReader(fmt.Sprintf(
		"From: %s\r\nTo: help@help.example\r\nSubject: %s\r\nMessage-ID: <%s>\r\n\r\nSent through Postfix.\r\n", from, subject, msgID)))
	if err != nil {
		p.t.Fatalf("send through postfix: %v\n%s", err, p.log())
	}
}

// waitLog waits until Postfix's log has a line with every one of parts.
func (p *postfix) waitLog(parts ...string) {
	p.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		for l := range strings.Lines(p.log()) {
			ok := true
			for _, s := range parts {
				ok = ok && strings.Contains(l, s)
			}
			if ok {
				return
			}
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("postfix log has no line with %q:\n%s", parts, p.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestPostfixDeliversOverLMTP: a private Postfix hands customer mail to the
// daemon's LMTP unix socket, as the README describes. With a socket its lmtp
// client (the postfix user) may not write to, Postfix defers the mail with
// "Permission denied", as the daemon did before lmtp-socket-mode and
// lmtp-socket-group; after a restart with lmtp_socket_group = "postfix"
// (and the default mode 0660) the deferred mail arrives and is a ticket.
func TestPostfixDeliversOverLMTP(t *testing.T) {
	sockDir, err := os.MkdirTemp("", "ticketd-lmtp-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	os.Chmod(sockDir, 0o755) // as RuntimeDirectoryMode=0755 of the systemd unit
	sock := filepath.Join(sockDir, "lmtp.sock")
	pf := startPostfix(t, sock)

	data := filepath.Join(t.TempDir(), "data")
	args := []string{"--data", data, "--http", "127.0.0.1:0", "--no-tls", "--smtp", "",
		"--support-address", "help@help.example", "--lmtp", "unix:" + sock}
	_, stop := startDaemon(t, append(args, "--lmtp-socket-mode", "0755")...)
	pf.send("carol@example.org", "Through Postfix", "postfix-1@example.org")
	pf.waitLog("to=<help@help.example>", "status=deferred", "Permission denied")
	stop()

	url, stop := startDaemon(t, append(args, "--lmtp-socket-group", "postfix")...)
	defer stop()
	if err := exec.Command(pf.bin, "-c", filepath.Join(pf.dir, "etc"), "flush").Run(); err != nil {
		t.Fatalf("postfix flush: %v", err)
	}
	pf.waitLog("to=<help@help.example>", "["+sock+"]", "status=sent")
	token, _ := os.ReadFile(filepath.Join(data, tokenFile))
	c := client.New(url, strings.TrimSpace(string(token)), &http.Client{Timeout: 5 * time.Second})
	deadline := time.Now().Add(10 * time.Second)
	for !hasMailTo(t, c, "carol@example.org") {
		if time.Now().After(deadline) {
			t.Fatalf("no confirmation to the customer: the mail did not become a ticket\n%s", pf.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
