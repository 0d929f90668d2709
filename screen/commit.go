package screen

import (
	"context"
	"fmt"

	"github.com/vigilwiki/vigil"
	"github.com/vigilwiki/vigil/internal/groupcommit"
)

// committer writes abuse log entries of concurrent actions together: one
// transaction (and one disk sync) for all that are waiting, so that
// durable writes do not cap throughput at one sync per hit (see
// groupcommit: a request waits for at most the write under way and its
// own).
type committer struct {
	store vigil.LogStore
	group groupcommit.Group[*vigil.LogEntry]
}

func (c *committer) write(ctx context.Context, entries []*vigil.LogEntry) error {
	// The batch is written for everyone in it, whatever happens to the
	// context of the request that writes it.
	ctx = context.WithoutCancel(ctx)
	if g, ok := c.store.(groupAppender); ok && g.GroupsAppends() {
		return c.append(ctx, entries)
	}
	return c.group.Do(entries, func(all []*vigil.LogEntry) error { return c.append(ctx, all) })
}

// groupAppender is a store that gathers concurrent AppendLog calls into
// one durable write itself, after each call has prepared (compressed,
// encoded) its own entries: the committer then calls it from each request,
// so that this preparation runs in parallel rather than in one batch's
// serial turn (sqlstore with its journal).
type groupAppender interface {
	GroupsAppends() bool
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
