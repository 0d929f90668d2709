package screen

import "context"

// CheckGeneration runs the engine's periodic check for filter changes made
// by other instances.
func (e *Engine) CheckGeneration(ctx context.Context) { e.checkGeneration(ctx) }

// Kept reports how many filter sets the engine keeps, how many refusals
// of unknown wikis and sets without filters (Engine.vacant), and how many
// wikis' block lists.
func (e *Engine) Kept() (sets, vacant, blockLists int) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return len(e.sets), len(e.vacant), len(e.blocks)
}

const MaxVacant = maxVacant

// HoldTests takes every slot of the filter tests, as tests running would,
// until release is called.
func (e *Engine) HoldTests() (release func()) {
	for range cap(e.tests) {
		e.tests <- struct{}{}
	}
	return func() {
		for range cap(e.tests) {
			<-e.tests
		}
	}
}
