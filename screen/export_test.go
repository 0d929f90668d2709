package screen

import "context"

// CheckGeneration runs the engine's periodic check for filter changes made
// by other instances.
func (e *Engine) CheckGeneration(ctx context.Context) { e.checkGeneration(ctx) }

// UnknownWikis is how many refusals of unknown wikis the engine keeps.
func (e *Engine) UnknownWikis() int {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return len(e.unknown)
}

const MaxUnknown = maxUnknown
