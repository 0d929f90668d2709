package sqlstore

import (
	"testing"

	"github.com/vigilwiki/vigil/internal/workload"
)

// BenchmarkCompressDump: compressing the variable dumps of the benchmark's
// edits of 5-50 KB pages (workload.Generator.Dumps), as an abuse-log write
// does. Per dump.
func BenchmarkCompressDump(b *testing.B) {
	dumps := workload.New("enwiki", 1, 50).Dumps(64)
	in := 0
	for _, d := range dumps {
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
