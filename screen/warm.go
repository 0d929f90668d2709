package screen

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/vigilwiki/vigil"
	"github.com/vigilwiki/vigil/internal/workload"
	"github.com/vigilwiki/vigil/rules"
)

// WarmReport is what Warm did.
type WarmReport struct {
	Sets     int           `json:"sets"`     // filter sets compiled
	Actions  int           `json:"actions"`  // actions run through them
	Recent   int           `json:"recent"`   // of which from the recent-action window
	Duration time.Duration `json:"duration"` // in all
}

// warmSeed makes the synthetic warm-up edits; it differs from the load
// test's, whose edits should not be the ones the filters have seen.
const warmSeed = 7

// Warm readies the engine before it takes traffic. It compiles the
// filters of every wiki that has enabled filters of its own or a
// configuration, and runs each set over up to n actions: the wiki's newest
// actions from the recent-action window, then synthetic edits. Nothing is
// recorded: no log, no statistics, no throttle counts.
//
// Without it the first actions after a start pay for what is built on
// first use: the set's compilation, each regex's DFA and its states (the
// first 100 actions through a new set of the 137 real filters took
// 540–570 µs each, against 100–180 µs later). Warm stops after limit, or
// when ctx ends; what is done stays done.
func (e *Engine) Warm(ctx context.Context, n int, limit time.Duration) (rep WarmReport, err error) {
	start := time.Now()
	defer func() { rep.Duration = time.Since(start) }()
	enabled, err := e.store.ListFilters(ctx, vigil.FilterQuery{EnabledOnly: true})
	if err != nil {
		return rep, fmt.Errorf("warm up: list filters: %w", err)
	}
	var keys []setKey
	for _, f := range enabled {
		keys = append(keys, setKey{f.Wiki, cmp.Or(f.Group, vigil.DefaultGroup)})
	}
	for wiki := range e.cfg.Wikis {
		keys = append(keys, setKey{wiki, vigil.DefaultGroup})
	}
	slices.SortFunc(keys, func(a, b setKey) int { return cmp.Or(cmp.Compare(a.wiki, b.wiki), cmp.Compare(a.group, b.group)) })
	keys = slices.Compact(keys)

	deadline := start.Add(limit)
	var errs []error
	for _, k := range keys {
		if ctx.Err() != nil || time.Now().After(deadline) {
			break
		}
		fs, err := e.filterSetFor(ctx, k.wiki, k.group)
		if err != nil {
			errs = append(errs, fmt.Errorf("warm up %s/%s: %w", k.wiki, k.group, err))
			continue
		}
		rep.Sets++
		recent := e.recentActions(ctx, k.wiki, n)
		var gen *workload.Generator // made only when the window falls short
		w := e.wikiConfig(k.wiki)
		var res rules.Result
		for i := range n {
			if ctx.Err() != nil || time.Now().After(deadline) {
				break
			}
			var a *vigil.Action
			if i < len(recent) {
				a = recent[i]
				rep.Recent++
			} else {
				if gen == nil {
					gen = workload.New(k.wiki, warmSeed, 50)
				}
				a = gen.Next()
			}
			a.Group = k.group
			a.Normalize(e.now())
			fs.set.RunInto(&res, Variables(a, &w), rules.RunOptions{CondLimit: e.cfg.CondLimit, Budget: e.cfg.Budget})
			rep.Actions++
		}
	}
	return rep, errors.Join(errs...)
}

// recentActions are up to n of a wiki's newest actions in the window,
// without their protected fields.
func (e *Engine) recentActions(ctx context.Context, wiki string, n int) []*vigil.Action {
	if n <= 0 {
		return nil
	}
	rows, err := e.recentStore.RecentActions(ctx, wiki, e.now().Add(-e.recent.cfg.MaxAge), 0, min(n, 100000))
	if err != nil {
		return nil
	}
	var actions []*vigil.Action
	for _, r := range rows {
		if a, err := DecodeRecent(r, false); err == nil {
			actions = append(actions, a)
		}
	}
	return actions
}
