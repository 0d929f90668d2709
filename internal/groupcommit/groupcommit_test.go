package groupcommit

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
	}
}

// The first caller writes alone; callers arriving during its write are
// written together by one of them; a caller's answer does not wait for
// the groups after its own.
func TestHandOver(t *testing.T) {
	var g Group[string]
	started := make(chan []string)
	release := make(chan error)
	write := func(all []string) error {
		started <- slices.Clone(all)
		return <-release
	}
	answers := make(chan string, 4)
	do := func(who string) {
		if err := g.Do([]string{who}, write); err != nil {
			answers <- who + ": " + err.Error()
			return
		}
		answers <- who
	}
	go do("A")
	if got := <-started; fmt.Sprint(got) != "[A]" {
		t.Fatalf("first write %v", got)
	}
	go do("B")
	go do("C")
	waitFor(t, func() bool { return g.Waiting() == 2 })
	release <- nil
	second := <-started
	if slices.Sort(second); fmt.Sprint(second) != "[B C]" {
		t.Fatalf("second write %v, want B and C together", second)
	}
	select {
	case a := <-answers:
		if a != "A" {
			t.Fatalf("first answer %q, want A's", a)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("A waited for the next group")
	}
	go do("D")
	waitFor(t, func() bool { return g.Waiting() == 1 })
	release <- errors.New("disk full") // B and C both get the error
	if got := <-started; fmt.Sprint(got) != "[D]" {
		t.Fatalf("third write %v", got)
	}
	release <- nil
	got := map[string]bool{}
	for range 3 {
		got[<-answers] = true
	}
	if !got["B: disk full"] || !got["C: disk full"] || !got["D"] {
		t.Fatalf("answers %v", got)
	}
	if !g.Idle() {
		t.Fatal("not idle after the last write")
	}
}

// Under contention every item is written exactly once, each caller's in
// its order, and callers share writes.
func TestConcurrent(t *testing.T) {
	var g Group[int]
	var mu sync.Mutex
	var written []int
	writes := 0
	write := func(all []int) error {
		mu.Lock()
		defer mu.Unlock()
		written = append(written, all...)
		writes++
		time.Sleep(100 * time.Microsecond)
		return nil
	}
	var wg sync.WaitGroup
	for c := range 16 {
		wg.Go(func() {
			for i := range 25 {
				if err := g.Do([]int{c*1000 + i}, write); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if len(written) != 400 {
		t.Fatalf("%d items written, want 400", len(written))
	}
	last := map[int]int{}
	for _, v := range written {
		c, i := v/1000, v%1000
		if n, ok := last[c]; ok && i != n+1 || !ok && i != 0 {
			t.Fatalf("caller %d: item %d after %d", c, i, n)
		}
		last[c] = i
	}
	if writes >= 400 {
		t.Errorf("%d writes for 400 calls: none shared", writes)
	}
	if !g.Idle() {
		t.Fatal("not idle")
	}
}

// A write that panics fails its group with an error; the group goes on.
func TestWritePanics(t *testing.T) {
	var g Group[int]
	err := g.Do([]int{1}, func([]int) error { panic("bug") })
	if err == nil || !strings.Contains(err.Error(), "panicked: bug") {
		t.Fatalf("Do: %v", err)
	}
	if !g.Idle() {
		t.Fatal("left writing after a panic")
	}
	if err := g.Do([]int{2}, func([]int) error { return nil }); err != nil {
		t.Fatal(err)
	}
}
