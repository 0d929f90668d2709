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
// meanwhile; when its batch is written it hands the writing to the first
// of those that arrived since, and returns: a request waits for at most
// the write under way and its own, never for a stream of later ones.
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

// groupAppender is a store that gathers concurrent AppendLog calls into
// one durable write itself, after each call has prepared (compressed,
// encoded) its own entries: the committer then calls it from each request,
// so that this preparation runs in parallel rather than in one batch's
// serial turn (sqlstore with its journal).
type groupAppender interface {
	GroupsAppends() bool
}

// errLead tells a waiting request that it writes the next batch.
var errLead = errors.New("lead the next batch")

func (c *committer) write(ctx context.Context, entries []*vigil.LogEntry) error {
	if g, ok := c.store.(groupAppender); ok && g.GroupsAppends() {
		return c.append(context.WithoutCancel(ctx), entries)
	}
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
	err := c.append(context.WithoutCancel(ctx), all)
	for _, r := range batch {
		if r != req {
			r.done <- err
		}
	}
	c.mu.Lock()
	if len(c.pending) > 0 {
		c.pending[0].done <- errLead
	} else {
		c.writing = false
	}
	c.mu.Unlock()
	return err
}

// append writes a batch; a store that panics fails the batch (whose
// entries then go to the spool) instead of leaving its requests waiting
// and the committer writing forever.
func (c *committer) append(ctx context.Context, entries []*vigil.LogEntry) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("append log: panic: %v", p)
		}
	}()
	return c.store.AppendLog(ctx, entries)
}
