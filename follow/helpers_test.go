package follow

import (
	"bufio"
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// samples are the shared recordings (CI has ../shared beside the repo).
const samples = "../../shared/testdata/eventstreams/samples"

func sample(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(samples, rel))
	if err != nil {
		t.Fatalf("read sample (CI has it at ../shared/testdata): %v", err)
	}
	return b
}

// sampleLines returns a JSONL sample's non-blank lines.
func sampleLines(t testing.TB, rel string) [][]byte {
	t.Helper()
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(sample(t, rel)))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) > 0 {
			out = append(out, bytes.Clone(sc.Bytes()))
		}
	}
	return out
}

func testdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// collector is a Handler that keeps events and stops the source (by
// cancelling its context) once it has n.
type collector struct {
	mu     sync.Mutex
	events []Event
	n      int
	cancel context.CancelFunc
}

func (c *collector) handle(_ context.Context, ev Event) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.events = append(c.events, ev)
	if c.n > 0 && len(c.events) >= c.n && c.cancel != nil {
		c.cancel()
	}
	return nil
}

func (c *collector) got() []Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Event(nil), c.events...)
}

// runFor runs a source until the collector has n events or the timeout
// passes, and returns Run's error.
func runFor(t *testing.T, src Source, n int, timeout time.Duration) ([]Event, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	c := &collector{n: n, cancel: cancel}
	err := src.Run(ctx, c.handle)
	return c.got(), err
}

func ptr[T any](v T) *T { return &v }

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// testLogger logs to the test's output (shown with -v or on failure).
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}
