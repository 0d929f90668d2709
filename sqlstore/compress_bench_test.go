package sqlstore

import (
	"encoding/json"
	"testing"

	"github.com/vigilwiki/vigil/internal/workload"
)

// BenchmarkCompressDump: compressing the variable dumps of the benchmark's
// edits of 5-50 KB pages (old and new wikitext), as an abuse-log write
// does. Per dump.
func BenchmarkCompressDump(b *testing.B) {
	g := workload.New("enwiki", 1, 50)
	var dumps [][]byte
	in := 0
	for range 64 {
		a := g.Next()
		d, err := json.Marshal(map[string]any{"old_wikitext": a.OldWikitext, "new_wikitext": a.NewWikitext, "summary": a.Summary})
		if err != nil {
			b.Fatal(err)
		}
		dumps = append(dumps, d)
		in += len(d)
	}
	b.SetBytes(int64(in / len(dumps)))
	out, i := 0, 0
	for b.Loop() {
		out += len(compress(dumps[i%len(dumps)]))
		i++
	}
	b.ReportMetric(float64(out)/float64(i), "B/dump")
}
