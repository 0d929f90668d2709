package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
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
// back to a 64 MB WAL): after about 2 MB of writes (recent actions; the abuse
// log's dumps go to files of their own), well under that, the database file
// grows within a few checkpoint periods.
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
		a := &vigil.RecentAction{Wiki: "w", Time: time.Now(), Payload: b}
		if err := s.AppendRecent(ctx, []*vigil.RecentAction{a}); err != nil {
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

// TestLogDumpFiles: the entries of one action (several filters matched it)
// keep one dump between them, in the dump files rather than in their rows;
// each entry reads it back, after a restart too; and without the files the
// query fails with an error naming the entry instead of returning entries
// without their variables.
func TestLogDumpFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "vigil.db")
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	vars := json.RawMessage(`{"new_wikitext":"` + strings.Repeat("spam ", 2000) + `"}`)
	other := json.RawMessage(`{"new_wikitext":"another action"}`)
	now := time.Now()
	var entries []*vigil.LogEntry
	for i, v := range []json.RawMessage{vars, vars, vars, other} {
		entries = append(entries, &vigil.LogEntry{Wiki: "w", FilterID: int64(i + 1), Action: "edit", Performer: "p", Vars: v, Time: now})
	}
	if err := s.AppendLog(ctx, entries); err != nil {
		t.Fatal(err)
	}
	check := func(s vigil.Store) {
		t.Helper()
		got, err := s.QueryLog(ctx, vigil.LogQuery{Wiki: "w"})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 4 {
			t.Fatalf("%d entries, want 4", len(got))
		}
		for _, e := range got {
			want := vars
			if e.FilterID == 4 {
				want = other
			}
			if !bytes.Equal(e.Vars, want) {
				t.Fatalf("entry of filter %d: vars %.60s…, want %.60s…", e.FilterID, e.Vars, want)
			}
		}
	}
	check(s)
	s.Close()

	// The rows: no dump of their own; the first three point at one record.
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(`SELECT vars_zstd IS NULL, dump_file, dump_offset FROM abuse_log ORDER BY filter_id`)
	if err != nil {
		t.Fatal(err)
	}
	var places []string
	for rows.Next() {
		var noBlob bool
		var file, offset int64
		if err := rows.Scan(&noBlob, &file, &offset); err != nil {
			t.Fatal(err)
		}
		if !noBlob {
			t.Fatal("a row holds its dump")
		}
		places = append(places, fmt.Sprint(file, ":", offset))
	}
	rows.Close()
	db.Close()
	if len(places) != 4 || places[0] != places[1] || places[1] != places[2] || places[2] == places[3] {
		t.Fatalf("dump places %v: the first three entries should share one, the fourth have its own", places)
	}

	s, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	check(s)
	s.Close()

	if err := os.Rename(path+"-dumps", path+"-moved"); err != nil {
		t.Fatal(err)
	}
	s, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.QueryLog(ctx, vigil.LogQuery{Wiki: "w"}); err == nil || !strings.Contains(err.Error(), "entry") {
		t.Fatalf("query with the dump files gone: %v, want an error naming the entry", err)
	}
}
