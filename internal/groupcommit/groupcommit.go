// Package groupcommit lets concurrent callers share one durable write: the
// first caller to find no write under way writes for everyone that arrived
// meanwhile; when that write is done it hands the writing to the first of
// those that arrived since, and returns. A caller thus waits for at most
// the write under way and its own, never for a stream of later ones.
//
// Vigil writes the abuse log so (one transaction and one disk sync for all
// the actions waiting together), in the screening engine and in the
// journal.
package groupcommit

import (
	"errors"
	"fmt"
	"sync"
)

// Group gathers the items of concurrent Do calls. The zero value is ready.
type Group[T any] struct {
	mu      sync.Mutex
	waiting []*call[T]
	writing bool
}

type call[T any] struct {
	items []T
	done  chan error // the write's outcome, or errLead
}

// errLead tells a waiting caller that it writes the next group.
var errLead = errors.New("lead the next group")

// Do has items written: by write, called by this caller or another with
// the items of every caller waiting at that moment, in the order they
// came. It returns write's outcome for the group that held the items.
// write must not call Do on the same Group.
func (g *Group[T]) Do(items []T, write func(all []T) error) error {
	c := &call[T]{items: items, done: make(chan error, 1)}
	g.mu.Lock()
	g.waiting = append(g.waiting, c)
	if g.writing {
		g.mu.Unlock()
		if err := <-c.done; err != errLead {
			return err
		}
		g.mu.Lock() // writing is still true: it was handed over
	}
	g.writing = true
	group := g.waiting
	g.waiting = nil
	g.mu.Unlock()
	all := items
	if len(group) > 1 {
		all = nil
		for _, w := range group {
			all = append(all, w.items...)
		}
	}
	err := safely(write, all)
	for _, w := range group {
		if w != c {
			w.done <- err
		}
	}
	g.mu.Lock()
	if len(g.waiting) > 0 {
		g.waiting[0].done <- errLead
	} else {
		g.writing = false
	}
	g.mu.Unlock()
	return err
}

// safely calls write, turning a panic (a bug) into the group's error, so
// that its callers are answered and the group is not left writing forever.
func safely[T any](write func([]T) error, all []T) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("group commit: write panicked: %v", p)
		}
	}()
	return write(all)
}

// Waiting reports how many callers wait for their group's write to begin
// (for tests).
func (g *Group[T]) Waiting() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.waiting)
}

// Idle reports whether no write is under way and no caller waits.
func (g *Group[T]) Idle() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return !g.writing && len(g.waiting) == 0
}
