package httpapi

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/vigilwiki/vigil"
	"github.com/vigilwiki/vigil/internal/workload"
)

// BenchmarkDecodeAction: the decoding and checking (Action.Validate) of
// POST /v1/screen bodies, edits of 5 to 50 KB pages as the service
// benchmark sends them: with each edit's whole old text ("full"), and with
// old_wikitext_delta where it leaves out at least half ("delta", as the
// MediaWiki extension sends them). Per action.
func BenchmarkDecodeAction(b *testing.B) {
	for _, compact := range []bool{false, true} {
		name := "full"
		if compact {
			name = "delta"
		}
		b.Run(name, func(b *testing.B) {
			g := workload.New("enwiki", 1, 50)
			var bodies [][]byte
			size := 0
			for range 64 {
				a := g.Next()
				if compact {
					a.CompactTexts()
				}
				body, err := json.Marshal(a)
				if err != nil {
					b.Fatal(err)
				}
				bodies = append(bodies, body)
				size += len(body)
			}
			b.ReportAllocs()
			now := time.Now()
			for i := 0; b.Loop(); i++ {
				var a vigil.Action
				if err := decodeBytes(bodies[i%len(bodies)], &a); err != nil {
					b.Fatal(err)
				}
				a.Normalize(now)
				if err := a.Validate(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(size)/float64(len(bodies)), "body-bytes")
		})
	}
}
