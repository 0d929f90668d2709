package screen

import "context"

// CheckGeneration runs the engine's periodic check for filter changes made
// by other instances.
func (e *Engine) CheckGeneration(ctx context.Context) { e.checkGeneration(ctx) }
