package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigilwiki/vigil"
	"github.com/vigilwiki/vigil/internal/workload"
	"github.com/vigilwiki/vigil/sqlite"
	"github.com/vigilwiki/vigil/sqlstore"
)

// BenchmarkAppendLog: abuse-log writes as the screening service makes
// them, batches of 3 hits whose variable dumps hold the old and new
// wikitext of an edit to a 5-50 KB page; durable (synchronous FULL) with
// the background checkpointer. Per hit.
func BenchmarkAppendLog(b *testing.B) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "vigil.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	appendLog(b, s)
}

// BenchmarkAppendLogJournal: the same through the log journal, as `vigil
// serve` writes by default; the time and memory include the journal's
// applier writing the entries into the database and the dump files.
func BenchmarkAppendLogJournal(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	s, err := sqlite.Open(ctx, filepath.Join(dir, "vigil.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.UseLogJournal(ctx, filepath.Join(dir, "log-journal"), nil); err != nil {
		b.Fatal(err)
	}
	appendLog(b, s)
	// The applier's share: a query waits until the journal is applied.
	if _, err := s.QueryLog(ctx, vigil.LogQuery{Limit: 1}); err != nil {
		b.Fatal(err)
	}
}

func appendLog(b *testing.B, s *sqlstore.Store) {
	ctx := context.Background()
	dumps := workload.New("enwiki", 1, 50).Dumps(64)
	now := time.Now()
	i := 0
	for b.Loop() {
		var entries []*vigil.LogEntry
		for range 3 {
			entries = append(entries, &vigil.LogEntry{Wiki: "enwiki", FilterID: int64(i%100 + 1), FilterVersion: 1, Action: "edit",
				Performer: "192.0.2.1", PageTitle: "Page", ActionsTaken: []string{"tag"}, Vars: dumps[i%len(dumps)], Time: now})
			i++
		}
		if err := s.AppendLog(ctx, entries); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(i), "µs/hit")
}
