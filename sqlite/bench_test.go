package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigilwiki/vigil"
	"github.com/vigilwiki/vigil/internal/workload"
	"github.com/vigilwiki/vigil/sqlite"
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
