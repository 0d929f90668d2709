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
	return g.DoThen(items, func(all []T) (func() error, error) { return nil, write(all) })
}

// DoThen is Do for a write in two parts, such as a file's write and its
// disk sync: write starts it and returns finish (or nil), which completes
// it. The next group's write begins as soon as this group's write has
// returned, while finish runs, so a caller waits for the write under way
// to start its own, not for it to be finished. Each caller gets its
// group's outcome: write's error, or else finish's. write must not call
// DoThen on the same Group; the finishes of successive groups may run at
// the same time and end in any order, so what must happen in order is
// theirs to order.
func (g *Group[T]) DoThen(items []T, write func(all []T) (finish func() error, err error)) error {
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
	finish, err := safely(func() (func() error, error) { return write(all) })
	g.mu.Lock()
	if len(g.waiting) > 0 {
		g.waiting[0].done <- errLead
	} else {
		g.writing = false
	}
	g.mu.Unlock()
	if err == nil && finish != nil {
		_, err = safely(func() (func() error, error) { return nil, finish() })
	}
	for _, w := range group {
		if w != c {
			w.done <- err
		}
	}
	return err
}

// safely calls f, turning a panic (a bug) into the group's error, so that
// its callers are answered and the group is not left writing forever.
func safely(f func() (func() error, error)) (finish func() error, err error) {
	defer func() {
		if p := recover(); p != nil {
			finish, err = nil, fmt.Errorf("group commit: write panicked: %v", p)
		}
	}()
	return f()
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
