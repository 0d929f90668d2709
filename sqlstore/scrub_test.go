package sqlstore_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/vigilwiki/vigil/sqlstore"
)

// TestScrubRetriesWhileBlocked: a scrub whose statement reports itself
// blocked (as SQLite's checkpoint does while another connection checkpoints
// or commits) is run again until it is not, and reported as an error if it
// stays blocked; a statement that reports nothing is done at once. The
// statement here reads its answer from a table the test changes.
func TestScrubRetriesWhileBlocked(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "scrub.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // the test's update waits for the scrub's query, never fails beside it
	if _, err := db.Exec(`CREATE TABLE blocked (n INTEGER, log INTEGER, done INTEGER); INSERT INTO blocked VALUES (1, -1, -1)`); err != nil {
		t.Fatal(err)
	}
	s := sqlstore.New(db, db, sqlstore.Dialect{Name: "sqlite", Scrub: "SELECT n, log, done FROM blocked"})

	// Blocked for 150 ms, then free: the scrub waits it out.
	time.AfterFunc(150*time.Millisecond, func() { db.Exec(`UPDATE blocked SET n = 0, log = 0, done = 0`) })
	start := time.Now()
	if err := s.Scrub(ctx); err != nil {
		t.Fatalf("scrub blocked for a while: %v", err)
	}
	if took := time.Since(start); took < 150*time.Millisecond {
		t.Errorf("scrub returned after %s, while it was still blocked", took)
	}

	// Blocked for good: an error once the patience is spent.
	sqlstore.SetScrubPatience(t, 100*time.Millisecond)
	if _, err := db.Exec(`UPDATE blocked SET n = 1`); err != nil {
		t.Fatal(err)
	}
	if err := s.Scrub(ctx); err == nil || !strings.Contains(err.Error(), "still blocked") {
		t.Errorf("scrub blocked for good: %v, want an error saying it is still blocked", err)
	}

	// A statement without rows (or a zero first column) is done at once.
	s = sqlstore.New(db, db, sqlstore.Dialect{Name: "sqlite", Scrub: "DELETE FROM blocked WHERE n = 2"})
	if err := s.Scrub(ctx); err != nil {
		t.Errorf("scrub without rows: %v", err)
	}
}
