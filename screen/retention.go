package screen

import (
	"context"
	"sync"
	"time"
)

// The abuse log's protected data expires. AbuseFilter clears the IP
// addresses of log rows older than $wgAbuseFilterLogIPMaxAge (90 days)
// when an operator runs its purgeOldLogIPData script; Vigil purges by
// itself, at start and every purgeEvery, in transactions of purgeBatch
// entries so that the log's writer is never held for long. The entries
// themselves stay.

const (
	purgeEvery = 10 * time.Minute
	purgeBatch = 1000
)

// purgeStatus is what the purges have done, for the metrics.
type purgeStatus struct {
	mu     sync.Mutex
	purged int64     // entries whose protected data this process deleted
	lastOK time.Time // end of the last purge that finished
}

// PurgeStatus returns how many entries' protected data this process has
// purged, when its last complete purge ended (zero: none yet), and whether
// protected data expires at all.
func (e *Engine) PurgeStatus() (purged int64, lastOK time.Time, enabled bool) {
	e.purge.mu.Lock()
	defer e.purge.mu.Unlock()
	return e.purge.purged, e.purge.lastOK, e.cfg.ProtectedMaxAge >= 0
}

func (e *Engine) runPurges(ctx context.Context) {
	if e.cfg.ProtectedMaxAge < 0 {
		return
	}
	tick := time.NewTicker(purgeEvery)
	defer tick.Stop()
	for {
		e.PurgeProtected(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// PurgeProtected deletes the protected data of the abuse-log entries
// older than the configured maximum age, and returns how many entries
// lost theirs. On an error it logs it and leaves the rest to the next
// purge.
func (e *Engine) PurgeProtected(ctx context.Context) int64 {
	if e.cfg.ProtectedMaxAge < 0 {
		return 0
	}
	before := e.now().Add(-e.cfg.ProtectedMaxAge)
	n, err := e.store.PurgeProtected(ctx, before, purgeBatch)
	e.purge.mu.Lock()
	e.purge.purged += n
	if err == nil {
		e.purge.lastOK = e.now()
	}
	e.purge.mu.Unlock()
	if n > 0 {
		e.log.Info("protected data purged from the abuse log", "entries", n, "logged_before", before.UTC().Format(time.RFC3339))
	}
	if err != nil && ctx.Err() == nil {
		e.log.Warn("protected data not purged; the next purge tries again", "logged_before", before.UTC().Format(time.RFC3339), "err", err)
	}
	return n
}
