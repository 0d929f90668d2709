//go:build unix

package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigilwiki/vigil"
)

func inode(t *testing.T, f *os.File) uint64 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

func pathInode(t *testing.T, path string) uint64 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// syncCounter counts the WAL syncs and remembers which file each synced.
type syncCounter struct {
	mu     sync.Mutex
	n      int
	inodes map[uint64]bool
}

func countSyncs(t *testing.T) *syncCounter {
	c := &syncCounter{inodes: map[uint64]bool{}}
	orig := fdatasync
	fdatasync = func(f *os.File) error {
		ino := inode(t, f)
		c.mu.Lock()
		c.n++
		c.inodes[ino] = true
		c.mu.Unlock()
		return orig(f)
	}
	t.Cleanup(func() { fdatasync = orig })
	return c
}

func (c *syncCounter) count() int { c.mu.Lock(); defer c.mu.Unlock(); return c.n }

// TestWritesSyncTheWAL: the writer commits without syncing, so every
// write of the store must sync the WAL, the file SQLite commits into,
// before it returns; a log batch committed by AppendLogCommitted only
// when it is waited for. The window of recent actions, a sample, never.
func TestWritesSyncTheWAL(t *testing.T) {
	c := countSyncs(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "vigil.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Now()
	f := &vigil.Filter{Wiki: "w", Name: "n", Pattern: "1 == 1", Enabled: true}
	entry := func() []*vigil.LogEntry {
		return []*vigil.LogEntry{{Wiki: "w", FilterID: 1, Action: "edit", Performer: "P", Vars: []byte(`{}`), Time: now}}
	}
	tok := &vigil.Token{Name: "t", Scopes: []string{vigil.ScopeScreen}}
	writes := []struct {
		name  string
		write func() error
	}{
		{"CreateFilter", func() error { return s.CreateFilter(ctx, f, "a", "") }},
		{"UpdateFilter", func() error { f.Name = "m"; return s.UpdateFilter(ctx, f, "a", "") }},
		{"SetFilterThrottled", func() error { return s.SetFilterThrottled(ctx, f.ID, true) }},
		{"AppendLog", func() error { return s.AppendLog(ctx, entry()) }},
		{"PutBlock", func() error {
			_, err := s.PutBlock(ctx, &vigil.Block{Wiki: "w", Target: "P", Reason: "r", FilterID: f.ID})
			return err
		}},
		{"Unblock", func() error { return s.Unblock(ctx, "w", "P", now) }},
		{"CreateToken", func() error { return s.CreateToken(ctx, tok, []byte("hash")) }},
		{"RevokeToken", func() error { return s.RevokeToken(ctx, tok.ID) }},
		{"AppendAudit", func() error {
			return s.AppendAudit(ctx, &vigil.AuditEntry{Token: "t", Access: "a", Resource: "r", Reason: "why"})
		}},
		{"AddStats", func() error { return s.AddStats(ctx, []*vigil.FilterStats{{FilterID: f.ID, Checked: 1}}) }},
	}
	for _, w := range writes {
		before := c.count()
		if err := w.write(); err != nil {
			t.Fatalf("%s: %v", w.name, err)
		}
		if c.count() == before {
			t.Errorf("%s returned without syncing the WAL", w.name)
		}
	}
	before := c.count()
	wait, err := s.AppendLogCommitted(ctx, entry())
	if err != nil {
		t.Fatal(err)
	}
	if c.count() != before {
		t.Error("AppendLogCommitted synced before it was waited for")
	}
	if err := wait(); err != nil || c.count() == before {
		t.Errorf("waiting for a committed batch: %v, %d syncs", err, c.count()-before)
	}
	if wal := pathInode(t, path+"-wal"); len(c.inodes) != 1 || !c.inodes[wal] {
		t.Errorf("synced files %v, the WAL is %d", c.inodes, wal)
	}

	window, err := OpenWindow(ctx, filepath.Join(t.TempDir(), "recent.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer window.Close()
	before = c.count()
	if err := window.AppendRecent(ctx, []*vigil.RecentAction{{Wiki: "w", Time: now, Payload: []byte(`{}`)}}); err != nil {
		t.Fatal(err)
	}
	if c.count() != before {
		t.Error("the window of recent actions synced")
	}
}

// TestWALSyncFollowsTheFile: SQLite deletes its WAL when the last
// connection closes and makes a new one: each sync syncs the file there
// is now, and says so when there is none.
func TestWALSyncFollowsTheFile(t *testing.T) {
	c := countSyncs(t)
	path := filepath.Join(t.TempDir(), "x.db")
	w := newWALSync(path)
	for i := range 2 {
		if err := os.WriteFile(path+"-wal", []byte("frames"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := w.sync(); err != nil {
			t.Fatal(err)
		}
		if want := pathInode(t, path+"-wal"); !c.inodes[want] {
			t.Fatalf("round %d: synced %v, the WAL is %d", i, c.inodes, want)
		}
		if err := os.Remove(path + "-wal"); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.sync(); err == nil || !strings.Contains(err.Error(), "no WAL") {
		t.Fatalf("sync without a WAL: %v", err)
	}
}

// TestWALBesideTheLinkTarget: SQLite puts the WAL beside the target of a
// symbolic link to the database; that is the file synced, and a stray
// file beside the link is not.
func TestWALBesideTheLinkTarget(t *testing.T) {
	c := countSyncs(t)
	ctx := context.Background()
	real, links := t.TempDir(), t.TempDir()
	if err := os.Symlink(filepath.Join(real, "target.db"), filepath.Join(links, "vigil.db")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(links, "vigil.db-wal"), nil, 0o600); err != nil { // a stray file
		t.Fatal(err)
	}
	s, err := Open(ctx, filepath.Join(links, "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.CreateToken(ctx, &vigil.Token{Name: "t", Scopes: []string{vigil.ScopeScreen}}, []byte("h")); err != nil {
		t.Fatal(err)
	}
	if wal := pathInode(t, filepath.Join(real, "target.db-wal")); len(c.inodes) != 1 || !c.inodes[wal] {
		t.Errorf("synced files %v, SQLite's WAL is %d", c.inodes, wal)
	}
}

// TestWALSyncAfterClose: a sync after the store closed (a request still
// waiting at shutdown) says so.
func TestWALSyncAfterClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	if err := os.WriteFile(path+"-wal", []byte("frames"), 0o600); err != nil {
		t.Fatal(err)
	}
	w := newWALSync(path)
	if err := w.sync(); err != nil {
		t.Fatal(err)
	}
	w.close()
	if err := w.sync(); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("sync after close: %v", err)
	}
}
