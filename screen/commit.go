package screen

import (
	"context"
	"sync"

	"github.com/vigilwiki/vigil"
)

// committer writes abuse log entries of concurrent actions together: one
// transaction (and one disk sync) for all that are waiting, so that
// durable writes do not cap throughput at one sync per hit. The first
// caller to find no write under way does the writing for everyone that
// arrives meanwhile.
type committer struct {
	store   vigil.LogStore
	mu      sync.Mutex
	pending []*commitRequest
	writing bool
}

type commitRequest struct {
	entries []*vigil.LogEntry
	done    chan error
}

func (c *committer) write(ctx context.Context, entries []*vigil.LogEntry) error {
	req := &commitRequest{entries: entries, done: make(chan error, 1)}
	c.mu.Lock()
	c.pending = append(c.pending, req)
	if c.writing {
		c.mu.Unlock()
		return <-req.done
	}
	c.writing = true
	for len(c.pending) > 0 {
		batch := c.pending
		c.pending = nil
		c.mu.Unlock()
		var all []*vigil.LogEntry
		for _, r := range batch {
			all = append(all, r.entries...)
		}
		// The batch is written for everyone in it, whatever happens to
		// the context of the request that writes it.
		err := c.store.AppendLog(context.WithoutCancel(ctx), all)
		for _, r := range batch {
			r.done <- err
		}
		c.mu.Lock()
	}
	c.writing = false
	c.mu.Unlock()
	return <-req.done
}
