package journal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// sink is a store that records what it is given, and can be made to fail
// or to hold the applier.
type sink struct {
	mu    sync.Mutex
	got   []string
	calls int
	fail  int           // fail this many calls first
	hold  chan struct{} // when non-nil, each call waits for a receive
}

func (s *sink) apply(records [][]byte) error {
	if s.hold != nil {
		<-s.hold
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.fail > 0 {
		s.fail--
		return errors.New("store down")
	}
	for _, r := range records {
		s.got = append(s.got, string(r))
	}
	return nil
}

func (s *sink) records() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.got...)
}

// mustOpen opens a journal or fails the test.
func mustOpen(t *testing.T, dir string, apply Apply, opts Options) *Journal {
	t.Helper()
	j, err := Open(dir, apply, opts)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func recs(prefix string, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = fmt.Appendf(nil, "%s-%d", prefix, i)
	}
	return out
}

func segmentFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+segmentExt))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestAppendApplyInOrder(t *testing.T) {
	dir := t.TempDir()
	s := &sink{}
	j := mustOpen(t, dir, s.apply, Options{MaxBatch: 7})
	var want []string
	for b := range 20 {
		batch := recs(fmt.Sprint("b", b), b%5+1)
		for _, r := range batch {
			want = append(want, string(r))
		}
		if err := j.Append(batch); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := s.records(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("applied %v, want %v", got, want)
	}
	if err := j.Close(time.Second); err != nil {
		t.Fatal(err)
	}
	if m := segmentFiles(t, dir); len(m) != 0 {
		t.Errorf("segments left after everything was applied: %v", m)
	}
}

// A process that stops before its records are applied leaves them on
// disk; the next Open applies them first, in order, exactly once.
func TestReplayAfterStop(t *testing.T) {
	dir := t.TempDir()
	first := &sink{fail: 1 << 30} // the store is down throughout
	j := mustOpen(t, dir, first.apply, Options{SegmentSize: 64, Retry: time.Millisecond})
	var want []string
	for b := range 10 {
		batch := recs(fmt.Sprint("b", b), 3)
		for _, r := range batch {
			want = append(want, string(r))
		}
		if err := j.Append(batch); err != nil {
			t.Fatal(err)
		}
	}
	if len(segmentFiles(t, dir)) < 2 {
		t.Fatalf("segments %v: want several (SegmentSize 64)", segmentFiles(t, dir))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	if err := j.Wait(ctx); err == nil || !strings.Contains(err.Error(), "store down") {
		t.Errorf("Wait with the store down: %v, want its error", err)
	}
	cancel()
	if err := j.Close(10 * time.Millisecond); err == nil {
		t.Error("Close with records left: no error")
	}
	if len(first.records()) != 0 {
		t.Fatalf("applied %v through a failing store", first.records())
	}

	second := &sink{}
	j2 := mustOpen(t, dir, second.apply, Options{})
	if got := second.records(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("replayed %v, want %v", got, want)
	}
	if m := segmentFiles(t, dir); len(m) != 0 {
		t.Errorf("replayed segments not deleted: %v", m)
	}
	// Appends go on after the replayed segments.
	if err := j2.Append(recs("after", 2)); err != nil {
		t.Fatal(err)
	}
	if err := j2.Close(time.Second); err != nil {
		t.Fatal(err)
	}
	if got := second.records(); len(got) != len(want)+2 || got[len(got)-1] != "after-1" {
		t.Fatalf("after replay applied %v", got[len(want):])
	}
}

// A crash in the middle of an append leaves a partial frame at a segment's
// end: the records before it are replayed, the partial one is not (it was
// never acknowledged).
func TestReplayTornTail(t *testing.T) {
	for _, cut := range []int{1, frameHeader - 1, frameHeader, frameHeader + 3} {
		t.Run(fmt.Sprint(cut), func(t *testing.T) {
			dir := t.TempDir()
			var buf []byte
			buf = AppendFrame(buf, 4, []byte("one"))
			buf = AppendFrame(buf, 4, []byte("two"))
			torn := AppendFrame(nil, 4, []byte("three, never acknowledged"))
			buf = append(buf, torn[:cut]...)
			if err := os.WriteFile(filepath.Join(dir, "000000000004"+segmentExt), buf, 0o600); err != nil {
				t.Fatal(err)
			}
			s := &sink{}
			j := mustOpen(t, dir, s.apply, Options{})
			defer j.Close(time.Second)
			if got := strings.Join(s.records(), ","); got != "one,two" {
				t.Fatalf("replayed %q, want one,two", got)
			}
			// New appends start a later segment than the leftover one.
			if err := j.Append(recs("x", 1)); err != nil {
				t.Fatal(err)
			}
			if j.seg != 5 {
				t.Errorf("appending to segment %d, want 5", j.seg)
			}
		})
	}
}

func TestScanFrames(t *testing.T) {
	frames := func(seg int, recs ...string) []byte {
		var b []byte
		for _, r := range recs {
			b = AppendFrame(b, seg, []byte(r))
		}
		return b
	}
	one := frames(1, "one")
	flipped := frames(1, "one", "two", "three")
	flipped[len(one)+frameHeader] ^= 1 // a byte of "two"
	markFlipped := frames(1, "one", "two", "three")
	markFlipped[len(one)] ^= 1
	// A record whose text is itself a whole frame, its append cut short
	// after that text: the frame inside must not pass for a record.
	inner := AppendFrame(nil, 1, []byte("forged"))
	tornFrame := AppendFrame(nil, 1, append(append([]byte("title: "), inner...), bytes.Repeat([]byte("x"), 100)...))
	torn := append(frames(1, "acked"), tornFrame[:frameHeader+7+len(inner)+10]...)
	lastFlipped := frames(1, "one", "two")
	lastFlipped[len(lastFlipped)-1] ^= 1
	for _, tc := range []struct {
		name    string
		data    []byte
		want    string
		damaged []int64
	}{
		{"records", frames(1, "one", "two"), "one,two", nil},
		{"empty", nil, "", nil},
		{"zeros after the records", append(frames(1, "one", "two"), make([]byte, 100)...), "one,two", nil},
		{"an older segment's frames after the records", append(frames(1, "one"), frames(0, "old", "older")...), "one", nil},
		{"another segment's frames only", frames(2, "a"), "", nil},
		{"an append cut short", append(frames(1, "one"), frames(1, "two")[:frameHeader+1]...), "one", nil},
		{"the last frame does not check", lastFlipped, "one", nil},
		{"a damaged frame before whole ones", flipped, "one,three", []int64{int64(len(one))}},
		{"a damaged mark before whole ones", markFlipped, "one,three", []int64{int64(len(one))}},
		{"a torn append holding a frame of someone's making", torn, "acked", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			n, damaged, err := ScanFrames(tc.data, 1, func(r []byte) error { got = append(got, string(r)); return nil })
			if err != nil || n != len(got) || strings.Join(got, ",") != tc.want || fmt.Sprint(damaged) != fmt.Sprint(tc.damaged) {
				t.Errorf("records %q (n %d), damaged %v, err %v; want %q, damaged %v", got, n, damaged, err, tc.want, tc.damaged)
			}
		})
	}
}

// A frame damaged on disk in the middle of a segment costs that record
// only: the acknowledged records after it are applied, and the file is
// kept aside, never recycled.
func TestReplayDamagedMiddle(t *testing.T) {
	dir := t.TempDir()
	data := AppendFrame(AppendFrame(AppendFrame(nil, 3, []byte("one")), 3, []byte("two")), 3, []byte("three"))
	data[len(AppendFrame(nil, 3, []byte("one")))+frameHeader] ^= 0xff
	if err := os.WriteFile(filepath.Join(dir, "000000000003"+segmentExt), data, 0o600); err != nil {
		t.Fatal(err)
	}
	s := &sink{}
	j := mustOpen(t, dir, s.apply, Options{})
	defer j.Close(time.Second)
	if got := strings.Join(s.records(), ","); got != "one,three" {
		t.Fatalf("replayed %q, want one,three", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "000000000003"+damagedExt)); err != nil {
		t.Errorf("damaged segment not kept aside: %v", err)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*"+spareExt)); len(m) != 0 {
		t.Errorf("damaged segment recycled: %v", m)
	}
}

// Close keeps to its timeout with a slow store: the apply under way
// finishes, the rest stays on disk, and the error says how many.
func TestCloseTimeout(t *testing.T) {
	dir := t.TempDir()
	var applied atomic.Int64
	slow := func(records [][]byte) error {
		time.Sleep(50 * time.Millisecond)
		applied.Add(int64(len(records)))
		return nil
	}
	j := mustOpen(t, dir, slow, Options{MaxBatch: 1})
	for i := range 40 {
		if err := j.Append(recs(fmt.Sprint("r", i), 1)); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	err := j.Close(100 * time.Millisecond)
	if took := time.Since(start); took > time.Second {
		t.Errorf("Close(100ms) took %v", took)
	}
	left := 40 - applied.Load()
	if left <= 0 || err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%d records not applied", left)) {
		t.Fatalf("Close: %v, with %d records left", err, left)
	}
	s := &sink{}
	j2 := mustOpen(t, dir, s.apply, Options{})
	defer j2.Close(time.Second)
	// The segment was still being appended to, so the replay applies all
	// of it again (apply is idempotent); what matters is the tail.
	got := s.records()
	if int64(len(got)) < left || got[len(got)-1] != "r39-0" || got[len(got)-int(left)] != fmt.Sprintf("r%d-0", 40-left) {
		t.Errorf("replayed %v, want at least the %d left", got, left)
	}
}

// A store that refuses the leftover records at the start is retried
// (ReplayPatience), not given up at once.
func TestReplayRetried(t *testing.T) {
	dir := t.TempDir()
	j := mustOpen(t, dir, (&sink{fail: 1 << 30}).apply, Options{Retry: time.Hour})
	if err := j.Append(recs("a", 2)); err != nil {
		t.Fatal(err)
	}
	j.Close(0)
	s := &sink{fail: 2}
	j2 := mustOpen(t, dir, s.apply, Options{Retry: time.Millisecond})
	j2.Close(time.Second)
	if got := strings.Join(s.records(), ","); got != "a-0,a-1" {
		t.Fatalf("replayed %q", got)
	}
	// Past its patience, Open fails and the records stay. (j3's store
	// refuses too, so that "b" can only be in the journal.)
	j3 := mustOpen(t, dir, (&sink{fail: 1 << 30}).apply, Options{Retry: time.Hour})
	if err := j3.Append(recs("b", 1)); err != nil {
		t.Fatal(err)
	}
	j3.Close(0)
	if _, err := Open(dir, (&sink{fail: 1 << 30}).apply, Options{Retry: time.Millisecond, ReplayPatience: 20 * time.Millisecond}); err == nil ||
		!strings.Contains(err.Error(), "does not take") {
		t.Fatalf("Open with the store down: %v", err)
	}
	s4 := &sink{}
	j4 := mustOpen(t, dir, s4.apply, Options{})
	defer j4.Close(time.Second)
	if got := strings.Join(s4.records(), ","); got != "b-0" {
		t.Fatalf("replayed %q, want b-0", got)
	}
}

// A store that fails for a while gets the same records again, in order,
// and nothing twice.
func TestApplyRetried(t *testing.T) {
	s := &sink{fail: 3}
	j := mustOpen(t, t.TempDir(), s.apply, Options{Retry: time.Millisecond})
	defer j.Close(time.Second)
	if err := j.Append(recs("a", 4)); err != nil {
		t.Fatal(err)
	}
	if err := j.Append(recs("b", 2)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		err := j.Wait(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	if got := strings.Join(s.records(), ","); got != "a-0,a-1,a-2,a-3,b-0,b-1" {
		t.Fatalf("applied %s", got)
	}
	if s.calls < 4 {
		t.Errorf("%d calls, want the 3 failures and a success", s.calls)
	}
}

// While the store is behind by more than MaxQueued bytes, Append refuses
// with ErrFull instead of holding ever more in memory.
func TestFull(t *testing.T) {
	s := &sink{hold: make(chan struct{})}
	j := mustOpen(t, t.TempDir(), s.apply, Options{MaxQueued: 100})
	big := [][]byte{bytes.Repeat([]byte("x"), 60)}
	if err := j.Append(big); err != nil {
		t.Fatal(err)
	}
	if err := j.Append(big); !errors.Is(err, ErrFull) {
		t.Fatalf("second append: %v, want ErrFull", err)
	}
	s.hold <- struct{}{} // the applier takes the first
	if err := j.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := j.Append(big); err != nil {
		t.Fatalf("after the applier caught up: %v", err)
	}
	close(s.hold)
	if err := j.Close(time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestSecondProcessRefused(t *testing.T) {
	dir := t.TempDir()
	j := mustOpen(t, dir, (&sink{}).apply, Options{})
	if _, err := Open(dir, (&sink{}).apply, Options{}); err == nil || !strings.Contains(err.Error(), "another process") {
		t.Fatalf("second Open: %v", err)
	}
	j.Close(time.Second)
	j2, err := Open(dir, (&sink{}).apply, Options{})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	j2.Close(time.Second)
}

// Segments are deleted as soon as their records are in, while appends go
// on: the directory does not grow with the traffic.
func TestSegmentsReaped(t *testing.T) {
	dir := t.TempDir()
	s := &sink{}
	j := mustOpen(t, dir, s.apply, Options{SegmentSize: 200})
	defer j.Close(time.Second)
	for b := range 50 {
		if err := j.Append(recs(fmt.Sprint("b", b), 4)); err != nil {
			t.Fatal(err)
		}
		if err := j.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		if m := segmentFiles(t, dir); len(m) > 1 {
			t.Fatalf("after batch %d: %d segments on disk, want at most the current one", b, len(m))
		}
		if m, _ := filepath.Glob(filepath.Join(dir, "*"+spareExt)); len(m) > maxSpares {
			t.Fatalf("after batch %d: %d spares", b, len(m))
		}
	}
	if j.seg < 10 {
		t.Errorf("segment %d: SegmentSize 200 should have rotated often", j.seg)
	}
	if len(s.records()) != 200 {
		t.Errorf("applied %d records, want 200", len(s.records()))
	}
}

// A segment written over a recycled file: the new records are read, the
// old life's frames after them are not, after a restart too.
func TestRecycledSegment(t *testing.T) {
	dir := t.TempDir()
	// A spare that was segment 1, holding many frames, each longer than
	// the new records.
	var old []byte
	for i := range 50 {
		old = AppendFrame(old, 1, fmt.Appendf(nil, "old record %d with a longer text", i))
	}
	if err := os.WriteFile(filepath.Join(dir, "000000000001"+spareExt), old, 0o600); err != nil {
		t.Fatal(err)
	}
	s := &sink{fail: 1 << 30} // nothing applied: the replay must find the records
	j := mustOpen(t, dir, s.apply, Options{Retry: time.Hour})
	if err := j.Append(recs("new", 3)); err != nil {
		t.Fatal(err)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*"+spareExt)); len(m) != 0 {
		t.Fatalf("spare not taken: %v", m)
	}
	if j.seg != 2 {
		t.Errorf("new segment %d, want 2: numbers never repeat those of spares", j.seg)
	}
	st, err := os.Stat(j.path(j.seg))
	if err != nil || st.Size() != int64(len(old)) {
		t.Fatalf("segment %v: not the recycled file (%d bytes)", err, len(old))
	}
	j.Close(0)
	second := &sink{}
	j2 := mustOpen(t, dir, second.apply, Options{})
	defer j2.Close(time.Second)
	if got := strings.Join(second.records(), ","); got != "new-0,new-1,new-2" {
		t.Fatalf("replayed %q", got)
	}
}

func FuzzScanFrames(f *testing.F) {
	f.Add(AppendFrame(AppendFrame(nil, 1, []byte("one")), 1, []byte("two")))
	f.Add(append(AppendFrame(nil, 1, []byte("one")), 0xff, 0xff, 0xff, 0x0f, 1, 2, 3, 4))
	f.Fuzz(func(t *testing.T, data []byte) {
		total := 0
		_, _, _ = ScanFrames(data, 1, func(rec []byte) error {
			total += len(rec) + frameHeader
			return nil
		})
		if total > len(data) {
			t.Fatalf("records of %d bytes from %d bytes of input", total, len(data))
		}
	})
}

// Across restarts, spares are reused and segment numbers never repeat: a
// replay finds exactly the records the last process did not apply, never
// those of a recycled file's earlier life.
func TestRestartsReuseSpares(t *testing.T) {
	dir := t.TempDir()
	for life := range 4 {
		s := &sink{}
		if life == 3 {
			s.fail = 1 << 30
		}
		j := mustOpen(t, dir, s.apply, Options{SegmentSize: 100, Retry: time.Hour})
		if life > 0 && len(s.records()) != 0 {
			t.Fatalf("life %d replayed %v, applied before", life, s.records())
		}
		for b := range 6 {
			if err := j.Append(recs(fmt.Sprintf("life%d-b%d", life, b), 3)); err != nil {
				t.Fatal(err)
			}
		}
		j.Close(time.Second)
	}
	s := &sink{}
	j := mustOpen(t, dir, s.apply, Options{})
	defer j.Close(time.Second)
	got := s.records()
	if len(got) != 18 || !strings.HasPrefix(got[0], "life3-b0") || !strings.HasPrefix(got[17], "life3-b5") {
		t.Fatalf("replayed %v, want the 18 records of the last life", got)
	}
}

// Concurrent appends share writes and syncs, and every record is applied
// once, each caller's records in its order.
func TestGroupCommit(t *testing.T) {
	s := &sink{}
	j := mustOpen(t, t.TempDir(), s.apply, Options{})
	const callers, each = 16, 20
	var wg sync.WaitGroup
	for c := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := j.Append([][]byte{fmt.Appendf(nil, "c%d-%d", c, i)}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := j.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := s.records()
	if len(got) != callers*each {
		t.Fatalf("applied %d records, want %d", len(got), callers*each)
	}
	next := map[string]int{}
	for _, r := range got {
		var c, i int
		fmt.Sscanf(r, "c%d-%d", &c, &i)
		k := fmt.Sprint(c)
		if i != next[k] {
			t.Fatalf("caller %d: record %d applied after %d", c, i, next[k]-1)
		}
		next[k]++
	}
	j.mu.Lock()
	writes := j.writes
	j.mu.Unlock()
	if writes >= callers*each {
		t.Errorf("%d writes for %d appends: no call shared a write", writes, callers*each)
	}
	t.Logf("%d appends in %d writes", callers*each, writes)
	j.Close(time.Second)
}

// TestScrub: the spares (applied records kept to be written over) are
// deleted, and the segment being written, when its first record is older
// than the given time and all are applied, is replaced by a new one and
// deleted; a younger segment stays; the journal goes on.
func TestScrub(t *testing.T) {
	dir := t.TempDir()
	s := &sink{}
	clock := time.Now().Add(-100 * 24 * time.Hour)
	j := mustOpen(t, dir, s.apply, Options{SegmentSize: 200, Now: func() time.Time { return clock }})
	defer j.Close(time.Second)
	for b := range 6 {
		if err := j.Append(recs(fmt.Sprint("b", b), 4)); err != nil {
			t.Fatal(err)
		}
		if err := j.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*"+spareExt)); len(m) == 0 {
		t.Fatal("no spare to scrub")
	}
	cut := time.Now().Add(-90 * 24 * time.Hour)
	current := j.path(j.seg)
	if err := j.Scrub(cut); err != nil {
		t.Fatal(err)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*"+spareExt)); len(m) != 0 {
		t.Fatalf("spares left: %v", m)
	}
	if m := segmentFiles(t, dir); len(m) != 1 || m[0] == current {
		t.Fatalf("segments %v; want one new one instead of %s", m, current)
	}
	// Records appended now: their segment is young and stays.
	clock = time.Now()
	if err := j.Append(recs("after", 8)); err != nil {
		t.Fatal(err)
	}
	if err := j.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	current = j.path(j.seg)
	if err := j.Scrub(cut); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(current); err != nil {
		t.Fatalf("the young segment: %v", err)
	}
	if len(s.records()) != 32 {
		t.Errorf("applied %d records, want 32", len(s.records()))
	}
	j.Close(time.Second)
	if err := j.Scrub(cut); !errors.Is(err, ErrClosed) {
		t.Errorf("Scrub after Close: %v", err)
	}
}
