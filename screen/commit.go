package screen

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/vigilwiki/vigil"
)

// committer writes abuse log entries of concurrent actions together: one
// transaction (and one disk sync) for all that are waiting, so that
// durable writes do not cap throughput at one sync per hit. The first
// caller to find no write under way writes for everyone that arrived
// meanwhile; when its batch is committed it hands the writing to the first
// of those that arrived since: a request waits for at most the write under
// way and its own, never for a stream of later ones. With a store that
// can return before its commit is durable (committedLogStore: SQLite), the
// hand-over comes before the batch's disk sync, so the next batch's
// transaction need not wait for it, and the two syncs overlap.
type committer struct {
	store   vigil.LogStore
	mu      sync.Mutex
	pending []*commitRequest
	writing bool
}

type commitRequest struct {
	entries []*vigil.LogEntry
	done    chan error // the batch's outcome, or errLead
}

// errLead tells a waiting request that it writes the next batch.
var errLead = errors.New("lead the next batch")

func (c *committer) write(ctx context.Context, entries []*vigil.LogEntry) error {
	req := &commitRequest{entries: entries, done: make(chan error, 1)}
	c.mu.Lock()
	c.pending = append(c.pending, req)
	if c.writing {
		c.mu.Unlock()
		if err := <-req.done; err != errLead {
			return err
		}
		c.mu.Lock() // writing is still true: it was handed over
	}
	c.writing = true
	batch := c.pending
	c.pending = nil
	c.mu.Unlock()
	var all []*vigil.LogEntry
	for _, r := range batch {
		all = append(all, r.entries...)
	}
	// The batch is written for everyone in it, whatever happens to the
	// context of the request that writes it.
	wait, err := c.append(context.WithoutCancel(ctx), all)
	c.mu.Lock()
	if len(c.pending) > 0 {
		c.pending[0].done <- errLead
	} else {
		c.writing = false
	}
	c.mu.Unlock()
	if err == nil && wait != nil {
		err = c.wait(wait)
	}
	for _, r := range batch {
		if r != req {
			r.done <- err
		}
	}
	return err
}

// wait waits for a batch's durability; a store that panics fails the
// batch instead of leaving its requests waiting.
func (c *committer) wait(wait func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("append log: sync: panic: %v", p)
		}
	}()
	return wait()
}

// committedLogStore is a log store that can return once a batch is
// committed, before it is durable; wait returns when it is.
type committedLogStore interface {
	AppendLogCommitted(ctx context.Context, entries []*vigil.LogEntry) (wait func() error, err error)
}

// append writes a batch; a store that panics fails the batch (whose
// entries then go to the spool) instead of leaving its requests waiting
// and the committer writing forever.
func (c *committer) append(ctx context.Context, entries []*vigil.LogEntry) (wait func() error, err error) {
	defer func() {
		if p := recover(); p != nil {
			wait, err = nil, fmt.Errorf("append log: panic: %v", p)
		}
	}()
	if cs, ok := c.store.(committedLogStore); ok {
		return cs.AppendLogCommitted(ctx, entries)
	}
	return nil, c.store.AppendLog(ctx, entries)
}
