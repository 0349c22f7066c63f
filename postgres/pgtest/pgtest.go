// Package pgtest runs real PostgreSQL servers for tests, from the binaries of
// Debian's postgresql package (or PASSCODEBOT_POSTGRES_BIN): initdb in a
// temporary directory, pg_ctl on a free loopback port with its socket in that
// directory, stopped at the end. As root (initdb refuses root) the server runs
// as the "postgres" user, or "nobody".
//
// Without the binaries a test skips with a loud message, or fails when
// PASSCODEBOT_REQUIRE_POSTGRES=1 (CI installs the package and sets it).
package pgtest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lib/pq"
)

// EnvRequire makes a missing PostgreSQL a failure instead of a skip.
const EnvRequire = "PASSCODEBOT_REQUIRE_POSTGRES"

// EnvBin names the directory with initdb, pg_ctl and postgres.
const EnvBin = "PASSCODEBOT_POSTGRES_BIN"

// BinDir finds the PostgreSQL server binaries.
func BinDir() (string, error) {
	if d := os.Getenv(EnvBin); d != "" {
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("no PostgreSQL server binaries (apt-get install postgresql, or set " + EnvBin + ")")
}

func version(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

// Server is one PostgreSQL cluster, running or stopped.
type Server struct {
	bin, dir, data, log string
	Port                int
	cred                *syscall.Credential
	mu                  sync.Mutex
	running             bool
	dbs                 atomic.Int64
	opts                string // more server options (TLS)
}

// Unavailable skips or fails the test when PostgreSQL can't run here.
func Unavailable(t testing.TB, err error) {
	t.Helper()
	msg := "PostgreSQL tests NOT RUN: " + err.Error()
	if os.Getenv(EnvRequire) == "1" {
		t.Fatal(msg + " (" + EnvRequire + "=1)")
	}
	fmt.Fprintln(os.Stderr, "*** "+msg+" ***")
	t.Skip(msg)
}

// Start initialises and starts a server of the test's own, stopped at its end.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := NewServer()
	if err != nil {
		Unavailable(t, err)
	}
	t.Cleanup(s.Close)
	return s
}

// NewServer initialises and starts a server; Close stops it and deletes its files.
func NewServer() (*Server, error) { return newServer(nil) }

// StartTLS starts a server of the test's own that also accepts TLS, with a
// certificate for localhost and 127.0.0.1 from a CA of its own; it returns
// the CA's certificate file (for sslrootcert).
func StartTLS(t testing.TB) (*Server, string) {
	t.Helper()
	var ca string
	s, err := newServer(func(s *Server) error {
		var err error
		ca, err = s.tlsFiles()
		return err
	})
	if err != nil {
		Unavailable(t, err)
	}
	t.Cleanup(s.Close)
	return s, ca
}

func newServer(setup func(*Server) error) (*Server, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, err
	}
	s := &Server{bin: bin, dir: dir, data: filepath.Join(dir, "data"), log: filepath.Join(dir, "server.log")}
	if os.Geteuid() == 0 {
		cred, err := unprivileged()
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		s.cred = cred
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	if out, err := s.run("initdb", "-D", s.data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	if s.Port, err = freePort(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if setup != nil {
		if err := setup(s); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	if err := s.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

// unprivileged is the user the server runs as when the tests run as root.
func unprivileged() (*syscall.Credential, error) {
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
	}
	return nil, errors.New("running as root and there is no postgres or nobody user for initdb")
}

func (s *Server) run(prog string, args ...string) ([]byte, error) {
	cmd := exec.Command(filepath.Join(s.bin, prog), args...)
	cmd.Dir = s.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	}
	return cmd.CombinedOutput()
}

// Start starts the (stopped) server again on the same port, and waits until it accepts connections.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running {
		return nil
	}
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off -c full_page_writes=off -c max_connections=200", s.Port, s.dir) + s.opts
	if out, err := s.run("pg_ctl", "start", "-w", "-t", "60", "-D", s.data, "-l", s.log, "-o", opts); err != nil {
		log, _ := os.ReadFile(s.log)
		return fmt.Errorf("pg_ctl start: %v: %s\n%s", err, out, log)
	}
	s.running = true
	return nil
}

// Stop stops the server at once (connections are cut, as when the database goes away).
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.running {
		return nil
	}
	if out, err := s.run("pg_ctl", "stop", "-w", "-m", "immediate", "-D", s.data); err != nil {
		return fmt.Errorf("pg_ctl stop: %v: %s", err, out)
	}
	s.running = false
	return nil
}

// Close stops the server and deletes its files.
func (s *Server) Close() {
	s.Stop()
	os.RemoveAll(s.dir)
}

// URL is the connection string of database db over TCP.
func (s *Server) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.Port, db)
}

// Addr is the server's TCP address.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)) }

// NewDatabase creates an empty database and returns its connection string.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("t%d_%s", s.dbs.Add(1), strings.ToLower(sanitize(t.Name())))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pq.NewConnector(s.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+pq.QuoteIdentifier(name)); err != nil {
		t.Fatal(err)
	}
	return s.URL(name)
}

func sanitize(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	if b.Len() > 40 {
		return b.String()[:40]
	}
	return b.String()
}

var (
	shared    *Server
	sharedErr error
	sharedMu  sync.Mutex
)

// Main runs the tests of a package with one shared server, started on first
// use and stopped when they end: call it from TestMain as os.Exit(pgtest.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	sharedMu.Lock()
	if shared != nil {
		shared.Close()
	}
	sharedMu.Unlock()
	return code
}

// Database returns a fresh database on the test binary's shared server (see Main).
func Database(t testing.TB) string {
	t.Helper()
	sharedMu.Lock()
	if shared == nil && sharedErr == nil {
		shared, sharedErr = NewServer()
	}
	s, err := shared, sharedErr
	sharedMu.Unlock()
	if err != nil {
		Unavailable(t, err)
	}
	return s.NewDatabase(t)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tlsFiles writes a CA, and a server certificate and key it signed, into the
// server's directory, and sets the options that turn TLS on.
func (s *Server) tlsFiles() (string, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pgtest CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return "", err
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), DNSNames: []string{"localhost"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return "", err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return "", err
	}
	write := func(name, typ string, b []byte, mode os.FileMode, own bool) (string, error) {
		f := filepath.Join(s.dir, name)
		if err := os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), mode); err != nil {
			return "", err
		}
		if own && s.cred != nil {
			if err := os.Chown(f, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
				return "", err
			}
		}
		return f, nil
	}
	ca, err := write("ca.crt", "CERTIFICATE", caDER, 0o644, false)
	if err != nil {
		return "", err
	}
	crt, err := write("server.crt", "CERTIFICATE", der, 0o644, true)
	if err != nil {
		return "", err
	}
	k, err := write("server.key", "EC PRIVATE KEY", keyDER, 0o600, true)
	if err != nil {
		return "", err
	}
	s.opts = fmt.Sprintf(" -c ssl=on -c ssl_cert_file=%s -c ssl_key_file=%s", crt, k)
	return ca, nil
}
