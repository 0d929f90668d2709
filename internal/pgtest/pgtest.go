// Package pgtest gives tests a fresh PostgreSQL database on the server at
// 127.0.0.1:5432 (or $VIGIL_TEST_POSTGRES), dropped when the test ends.
// Outside CI a test is skipped when no server answers; in CI (CI=true)
// that is a failure, since the test command starts PostgreSQL.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
)

// ServerURL is the URL of the administrative database.
func ServerURL() string {
	if u := os.Getenv("VIGIL_TEST_POSTGRES"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// NewDatabase creates an empty database and returns its URL.
func NewDatabase(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	admin, err := sql.Open("pgx", ServerURL())
	if err == nil {
		err = admin.PingContext(ctx)
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("PostgreSQL unavailable in CI at %s: %v", ServerURL(), err)
		}
		t.Skipf("PostgreSQL unavailable at %s (the README's test command starts it): %v", ServerURL(), err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "vigil_test_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		admin.Close()
	})
	u, err := url.Parse(ServerURL())
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// Server is a PostgreSQL server of a test's own, which the test may stop
// and start (to see what Vigil does when its database goes away).
type Server struct {
	t       testing.TB
	bin     string
	dir     string
	port    int
	cmd     *exec.Cmd
	cred    *syscall.Credential // the postgres user's, when running as root
	stopped chan struct{}
}

// StartServer initialises a cluster in a temporary directory and starts
// it on a free port of 127.0.0.1; it stops when the test ends.
func StartServer(t testing.TB) *Server {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	if len(bins) == 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("PostgreSQL's server binaries are missing in CI (Debian package postgresql)")
		}
		t.Skip("PostgreSQL's server binaries are missing (the README's test command installs them)")
	}
	s := &Server{t: t, bin: filepath.Dir(bins[len(bins)-1])}
	base, err := os.MkdirTemp("", "vigil-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	s.dir = filepath.Join(base, "data")
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root needs the postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(base, uid, gid); err != nil {
			t.Fatal(err)
		}
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	out, err := s.command(filepath.Join(s.bin, "initdb"), "-D", s.dir, "-U", "postgres", "-A", "trust", "--no-sync").CombinedOutput()
	if err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// command runs a PostgreSQL program as a direct child (so that Wait reaps
// it), in its own process group, as the postgres user when we are root.
func (s *Server) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: s.cred}
	cmd.Dir = filepath.Dir(s.dir)
	return cmd
}

// URL is the address of the database "postgres" on the server.
func (s *Server) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", s.port)
}

// Start starts the server and waits until it accepts connections.
func (s *Server) Start() {
	s.t.Helper()
	s.cmd = s.command(filepath.Join(s.bin, "postgres"), "-D", s.dir, "-p", strconv.Itoa(s.port), "-h", "127.0.0.1",
		"-k", filepath.Dir(s.dir), "-c", "fsync=off")
	logf, err := os.OpenFile(filepath.Join(filepath.Dir(s.dir), "server.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err == nil {
		s.cmd.Stdout, s.cmd.Stderr = logf, logf
		defer logf.Close()
	}
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("start postgres: %v", err)
	}
	s.stopped = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { cmd.Wait(); close(done) }(s.cmd, s.stopped)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		db, err := sql.Open("pgx", s.URL())
		if err == nil {
			err = db.Ping()
			db.Close()
		}
		if err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	out, _ := os.ReadFile(filepath.Join(filepath.Dir(s.dir), "server.log"))
	s.t.Fatalf("postgres did not start within 30s:\n%s", out)
}

// Stop stops the server at once, as in a crash: SIGKILL to the postmaster
// and to every process it forked. (The backends are not in its process
// group: PostgreSQL puts each in a session of its own, and a backend
// that outlives the postmaster goes on serving its connection for a
// while, so killing the group alone leaves the database up for clients
// already connected.)
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	pid := s.cmd.Process.Pid
	children := childrenOf(pid)
	for _, c := range children {
		syscall.Kill(c, syscall.SIGKILL)
	}
	syscall.Kill(-pid, syscall.SIGKILL)
	<-s.stopped
	for _, c := range childrenOf(pid) { // forked meanwhile
		syscall.Kill(c, syscall.SIGKILL)
	}
	// Until each is gone, connected clients could still be answered.
	for _, c := range children {
		for i := 0; i < 500 && syscall.Kill(c, 0) == nil && !zombie(c); i++ {
			time.Sleep(10 * time.Millisecond)
		}
	}
	s.cmd = nil
}

// childrenOf lists the processes whose parent is pid (Linux /proc).
func childrenOf(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, _ := procStat(n); ppid == pid {
			out = append(out, n)
		}
	}
	return out
}

// procStat reads a process's parent and state from /proc/PID/stat.
func procStat(pid int) (ppid int, state byte) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0
	}
	// pid (comm) state ppid ...: comm may hold spaces and parentheses.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return 0, 0
	}
	ppid, _ = strconv.Atoi(f[1])
	return ppid, f[0][0]
}

func zombie(pid int) bool {
	_, state := procStat(pid)
	return state == 'Z' || state == 0
}
