package httpapi

import (
	"encoding/json"
	"testing"

	"github.com/vigilwiki/vigil"
	"github.com/vigilwiki/vigil/internal/workload"
)

// BenchmarkDecodeAction: the decoding of POST /v1/screen bodies, edits of
// 5 to 50 KB pages as the service benchmark sends them.
func BenchmarkDecodeAction(b *testing.B) {
	g := workload.New("enwiki", 1, 50)
	var bodies [][]byte
	size := 0
	for range 64 {
		body, err := json.Marshal(g.Next())
		if err != nil {
			b.Fatal(err)
		}
		bodies = append(bodies, body)
		size += len(body)
	}
	b.SetBytes(int64(size / len(bodies)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		var a vigil.Action
		if err := decodeBytes(bodies[i%len(bodies)], &a); err != nil {
			b.Fatal(err)
		}
	}
}
