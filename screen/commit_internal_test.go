package screen

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilwiki/vigil"
	"github.com/vigilwiki/vigil/sqlite"
)

// gatedLog is a real SQLite log store whose writes wait, one by one, until
// the test lets them through, so that the test decides how batches form.
type gatedLog struct {
	vigil.LogStore
	started chan int // the size of each batch as its write starts
	release chan struct{}
}

func (g *gatedLog) AppendLog(ctx context.Context, entries []*vigil.LogEntry) error {
	g.started <- len(entries)
	<-g.release
	return g.LogStore.AppendLog(ctx, entries)
}

// TestCommitterHandsOver: the request that writes a batch returns once its
// own batch is written; the next batch is written by one of its requests.
// Before, the first writer kept writing for later arrivals as long as they
// came, and its own answer waited for all of them.
func TestCommitterHandsOver(t *testing.T) {
	store := openLogStore(t)
	g := &gatedLog{LogStore: store, started: make(chan int), release: make(chan struct{})}
	c := &committer{store: g}
	entry := func(title string) []*vigil.LogEntry {
		return []*vigil.LogEntry{{Wiki: "w", FilterID: 1, Action: "edit", Performer: "P", PageTitle: title,
			Vars: []byte(`{"a":1}`), Time: time.Now()}}
	}
	type result struct {
		who string
		err error
		id  int64
	}
	results := make(chan result, 4)
	write := func(who string) {
		e := entry(who)
		err := c.write(context.Background(), e)
		results <- result{who, err, e[0].ID}
	}

	go write("A")
	if n := <-g.started; n != 1 { // A writes alone
		t.Fatalf("first batch of %d", n)
	}
	var wg sync.WaitGroup
	for _, who := range []string{"B", "C"} {
		wg.Add(1)
		go func() { defer wg.Done(); write(who) }()
	}
	// B and C queue behind A's write.
	waitFor(t, func() bool { return c.group.Waiting() == 2 })
	g.release <- struct{}{}
	if n := <-g.started; n != 2 { // B or C writes both
		t.Fatalf("second batch of %d", n)
	}
	// A's batch is written: A has its answer while the second batch is
	// still being written.
	select {
	case r := <-results:
		if r.who != "A" || r.err != nil || r.id == 0 {
			t.Fatalf("first answer %+v, want A's, written", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("A did not return while the next batch was written")
	}
	go write("D") // arrives during the second batch
	waitFor(t, func() bool { return c.group.Waiting() == 1 })
	g.release <- struct{}{}
	if n := <-g.started; n != 1 { // D, handed the writing, writes itself
		t.Fatalf("third batch of %d", n)
	}
	g.release <- struct{}{}
	got := map[string]int64{}
	for range 3 {
		r := <-results
		if r.err != nil || r.id == 0 {
			t.Fatalf("%+v", r)
		}
		got[r.who] = r.id
	}
	if len(got) != 3 || got["D"] <= got["B"] || got["D"] <= got["C"] {
		t.Fatalf("ids %v: want B, C and D written, D last", got)
	}
	wg.Wait()
	if !c.group.Idle() {
		t.Fatal("committer left writing or with callers waiting")
	}
}

// openLogStore opens a real SQLite store for a test, closed at its end.
func openLogStore(t *testing.T) vigil.LogStore {
	t.Helper()
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
	}
}

type panickyLog struct {
	vigil.LogStore
	panics bool
}

func (p *panickyLog) AppendLog(ctx context.Context, entries []*vigil.LogEntry) error {
	if p.panics {
		panic("disk on fire")
	}
	return p.LogStore.AppendLog(ctx, entries)
}

// TestCommitterSurvivesPanic: a store that panics fails that write with an
// error (the engine then spools the entries), and later writes go through.
func TestCommitterSurvivesPanic(t *testing.T) {
	store := openLogStore(t)
	p := &panickyLog{LogStore: store, panics: true}
	c := &committer{store: p}
	e := []*vigil.LogEntry{{Wiki: "w", FilterID: 1, Action: "edit", Performer: "P", Vars: []byte(`{}`), Time: time.Now()}}
	if err := c.write(context.Background(), e); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("write through a panicking store: %v", err)
	}
	p.panics = false
	done := make(chan error, 1)
	go func() { done <- c.write(context.Background(), e) }()
	select {
	case err := <-done:
		if err != nil || e[0].ID == 0 {
			t.Fatalf("write after the panic: %v, id %d", err, e[0].ID)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the committer was left writing after the panic")
	}
}

// groupingLog is gatedLog for a store that gathers appends itself.
type groupingLog struct{ *gatedLog }

func (groupingLog) GroupsAppends() bool { return true }

// TestCommitterLeavesGroupingToStore: a store that gathers concurrent
// appends itself (SQLite with its journal) is called by every request at
// once, each with its own entries, so that each prepares its own in
// parallel; the committer would have made the later ones wait for the
// first and sent them as one batch.
func TestCommitterLeavesGroupingToStore(t *testing.T) {
	g := &gatedLog{LogStore: openLogStore(t), started: make(chan int), release: make(chan struct{})}
	c := &committer{store: groupingLog{g}}
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := []*vigil.LogEntry{{Wiki: "w", FilterID: int64(i + 1), Action: "edit", Performer: "P", PageTitle: "T",
				Vars: []byte(`{}`), Time: time.Now()}}
			if err := c.write(context.Background(), e); err != nil || e[0].ID == 0 {
				t.Errorf("write: %v, ID %d", err, e[0].ID)
			}
		}()
	}
	// All three are in the store at once, one entry each, none released.
	for range 3 {
		select {
		case n := <-g.started:
			if n != 1 {
				t.Fatalf("a call with %d entries, want each request's own", n)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the requests were not all let into the store at once")
		}
	}
	close(g.release)
	wg.Wait()
}
