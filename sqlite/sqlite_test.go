package sqlite_test

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigilwiki/vigil"
	"github.com/vigilwiki/vigil/sqlite"
	"github.com/vigilwiki/vigil/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) vigil.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "vigil.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestReopen: migrations run once; the data survives a restart.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vigil.db")
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	f := &vigil.Filter{Wiki: "w", Name: "n", Pattern: "true"}
	f.Normalize()
	if err := s.CreateFilter(ctx, f, "a", ""); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, err := s.FindFilter(ctx, f.ID); err != nil || got.Name != "n" {
		t.Fatalf("after reopening: %+v, %v", got, err)
	}
}

// TestBackgroundCheckpoint: the WAL is copied into the database file by the
// checkpointer, not by a commit (SQLite's own automatic checkpoint is held
// back to a 64 MB WAL): after about 2 MB of abuse-log writes, well under that,
// the database file grows within a few checkpoint periods.
func TestBackgroundCheckpoint(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vigil.db")
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	size := func() int64 {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	// Let any checkpoint of the migrations' pages happen first.
	time.Sleep(600 * time.Millisecond)
	before := size()
	// Incompressible dumps, so that the pages are real.
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 40; i++ {
		b := make([]byte, 48<<10)
		for j := range b {
			b[j] = 'a' + byte(r.IntN(26))
		}
		e := &vigil.LogEntry{Wiki: "w", FilterID: 1, Action: "edit", Performer: "p", Vars: json.RawMessage(`{"x":"` + string(b) + `"}`), Time: time.Now()}
		if err := s.AppendLog(ctx, []*vigil.LogEntry{e}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for size() < before+1<<20 {
		if time.Now().After(deadline) {
			t.Fatalf("database file %d bytes before the writes, %d after 10 s: the WAL was not checkpointed", before, size())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
