package sqlstore

import (
	"context"
	"time"
)

// CloseLogJournal closes the store's journal, so that its appends take the
// direct way, as when the journal fails.
func (s *Store) CloseLogJournal() error { return s.journal.Close(time.Second) }

// Scrub runs the dialect's scrub as a purge does.
func (s *Store) Scrub(ctx context.Context) error { return s.scrub(ctx) }

// SetScrubPatience shortens how long a blocked scrub is retried, until the
// test ends.
func SetScrubPatience(t interface{ Cleanup(func()) }, d time.Duration) {
	old := scrubPatience
	scrubPatience = d
	t.Cleanup(func() { scrubPatience = old })
}
