package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Names of the files the daemon keeps in its data directory.
const (
	dbFile           = "ticketd.db"
	certFile         = "cert.pem"
	keyFile          = "key.pem"
	tokenFile        = "mailapi-token"
	metricsTokenFile = "metrics-token"
)

// privateFiles are the daemon's own files in the data directory: nobody
// but the daemon's user reads them (the database holds every ticket id,
// the customers' only key, and the password hashes).
var privateFiles = []string{dbFile, dbFile + "-wal", dbFile + "-shm", dbFile + "-journal",
	keyFile, certFile, tokenFile, metricsTokenFile}

// secureDataDir creates the data directory, or tightens an existing one,
// to 0700, and tightens the daemon's own files in it to 0600. With sqlite,
// it creates the SQLite file 0600 before SQLite does: SQLite gives its
// -wal and -shm files the mode of the database file.
func secureDataDir(dir string, sqlite bool) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	if err := tighten(dir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	for _, name := range privateFiles {
		if err := tighten(filepath.Join(dir, name), 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("data directory: %w", err)
		}
	}
	if !sqlite {
		return nil
	}
	f, err := os.OpenFile(filepath.Join(dir, dbFile), os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		return f.Close()
	}
	if !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create database file: %w", err)
	}
	return nil
}

// tighten takes away what a file's mode gives beyond mode (group and
// others' rights). A symbolic link is left alone.
func tighten(path string, mode fs.FileMode) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSymlink != 0 || fi.Mode().Perm()&^mode == 0 {
		return nil
	}
	if err := os.Chmod(path, fi.Mode().Perm()&mode); err != nil {
		return fmt.Errorf("make %s private: %w", path, err)
	}
	return nil
}

// readableByOthers lists the files and directories under dir that users
// other than the owner may read, for a warning.
func readableByOthers(dir string) []string {
	var found []string
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if fi, err := d.Info(); err == nil && fi.Mode()&fs.ModeSymlink == 0 && fi.Mode().Perm()&0o044 != 0 {
			found = append(found, path)
		}
		return nil
	})
	return found
}

// warnExposedFiles logs the files of the data directory that other users
// could read before the start (before) and that the daemon made private,
// and those they still can (after), which the operator must see to.
func warnExposedFiles(log *slog.Logger, before, after []string) {
	for _, f := range before {
		if !slices.Contains(after, f) {
			log.Warn("other users could read this file in the data directory; it is private now", "file", f)
		}
	}
	for _, f := range after {
		log.Warn("other users can read this file in the data directory; make it private with chmod go-rwx", "file", f)
	}
}

// loadOrCreateToken returns the Mail API token stored in the data
// directory, making one on first start.
func loadOrCreateToken(dir string) (token string, created bool, err error) {
	return loadOrCreateTokenFile(filepath.Join(dir, tokenFile), "Mail API token")
}

// loadOrCreateTokenFile returns the token (what it is for: what) stored in
// the file at path, making one when the file does not exist.
func loadOrCreateTokenFile(path, what string) (token string, created bool, err error) {
	b, err := os.ReadFile(path)
	if err == nil {
		token = strings.TrimSpace(string(b))
		if len(token) < 16 {
			return "", false, fmt.Errorf("%s in %s is shorter than 16 characters: put a longer one there or delete the file to get a new one", what, path)
		}
		return token, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", false, fmt.Errorf("read %s: %w", what, err)
	}
	raw := make([]byte, 32)
	rand.Read(raw)
	token = base64.RawURLEncoding.EncodeToString(raw)
	if err := writeNew(path, []byte(token+"\n")); err != nil {
		return "", false, fmt.Errorf("store %s: %w", what, err)
	}
	return token, true, nil
}

// writeNew writes a file readable by its owner only, failing if it exists.
func writeNew(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// loadCertificate loads the configured certificate, or the self-signed one
// in the data directory, making it on first start.
func loadCertificate(c Config) (cert tls.Certificate, path string, created bool, err error) {
	certPath, keyPath := c.TLSCert, c.TLSKey
	if certPath == "" {
		certPath, keyPath = filepath.Join(c.Data, certFile), filepath.Join(c.Data, keyFile)
		if _, err := os.Stat(certPath); errors.Is(err, fs.ErrNotExist) {
			if err := makeSelfSigned(certPath, keyPath); err != nil {
				return tls.Certificate{}, "", false, fmt.Errorf("make self-signed certificate: %w", err)
			}
			created = true
		}
	}
	cert, err = tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return tls.Certificate{}, "", false, fmt.Errorf("load TLS certificate %s and key %s: %w", certPath, keyPath, err)
	}
	return cert, certPath, created, nil
}

// makeSelfSigned writes an ECDSA P-256 certificate valid for ten years for
// localhost, the loopback addresses and this machine's host name.
func makeSelfSigned(certPath, keyPath string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		return err
	}
	names := []string{"localhost"}
	if h, err := os.Hostname(); err == nil && h != "" && h != "localhost" {
		names = append(names, h)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "Trivial Tickets (self-signed)", Organization: []string{"Trivial Tickets"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              names,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := writeNew(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})); err != nil {
		return err
	}
	return writeNew(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}
