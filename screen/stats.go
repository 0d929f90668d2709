package screen

import (
	"cmp"
	"context"
	"log/slog"
	"math"
	"math/bits"
	"slices"
	"sync"
	"time"

	"github.com/vigilwiki/vigil"
	"github.com/vigilwiki/vigil/rules"
)

// Stats are per-filter statistics, as AbuseFilter's profiler keeps them
// and more: actions checked, matches, conditions, errors, condition-limit
// overflows, and runtimes (sampled, see Config.ProfileEvery) with their
// distribution. Totals are kept in memory and added to the store now and
// then, so restarts keep them.
type Stats struct {
	mu      sync.Mutex
	filters map[int64]*filterStats
}

type filterStats struct {
	saved   vigil.FilterStats // what the store had, and what was added to it since
	pending vigil.FilterStats // not yet in the store
	timed   int64             // actions timed by this process
	timedNS int64             // their total runtime
	hist    [40]int64         // timed runtimes by power of two of nanoseconds
}

// total is the filter's totals: saved and pending.
func (fs *filterStats) total() vigil.FilterStats {
	t := fs.saved
	addStats(&t, &fs.pending, 1)
	return t
}

// addStats adds sign times d's counts to st.
func addStats(st, d *vigil.FilterStats, sign int64) {
	st.Checked += sign * d.Checked
	st.Matches += sign * d.Matches
	st.Conditions += sign * d.Conditions
	st.Overflows += sign * d.Overflows
	st.Errors += sign * d.Errors
	st.TotalTimeNS += sign * d.TotalTimeNS
}

func newStats() *Stats { return &Stats{filters: map[int64]*filterStats{}} }

func (s *Stats) get(id int64) *filterStats {
	fs := s.filters[id]
	if fs == nil {
		fs = &filterStats{}
		fs.saved.FilterID, fs.pending.FilterID = id, id
		s.filters[id] = fs
	}
	return fs
}

// lookup returns the statistics of filters, in their order: a filter set
// looks them up once, not once per filter and action.
func (s *Stats) lookup(filters []*vigil.Filter) []*filterStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*filterStats, len(filters))
	for i, f := range filters {
		out[i] = s.get(f.ID)
	}
	return out
}

// record adds one action's results.
func (s *Stats) record(set *filterSet, res *rules.Result, profiled bool, slow time.Duration, log *slog.Logger, wiki string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, r := range res.Filters {
		fs := set.stats[i]
		st := &fs.pending
		st.Checked++
		st.Conditions += int64(r.Conds)
		if r.Matched {
			st.Matches++
		}
		if r.Err != nil {
			st.Errors++
		}
		if res.LimitReached {
			st.Overflows++
		}
		if profiled {
			st.TotalTimeNS += int64(r.Time)
			fs.timed++
			fs.timedNS += int64(r.Time)
			fs.hist[min(bits.Len64(uint64(r.Time)), len(fs.hist)-1)]++
			if r.Time > slow {
				log.Warn("slow filter", "wiki", wiki, "filter", set.filters[i].ID, "duration", r.Time, "conditions", r.Conds)
			}
		}
	}
}

// FilterReport is what /v1/filters/{id}/stats shows.
type FilterReport struct {
	FilterID   int64   `json:"filter_id"`
	Checked    int64   `json:"checked"`
	Matches    int64   `json:"matches"`
	MatchRate  float64 `json:"match_rate"` // matches per action checked
	Conditions int64   `json:"conditions"`
	// ConditionsPerAction is the mean conditions this filter used.
	ConditionsPerAction float64 `json:"conditions_per_action"`
	Overflows           int64   `json:"condition_limit_overflows"`
	Errors              int64   `json:"errors"`
	// MeanMicros and P99Micros are over the timed actions of this process.
	MeanMicros float64 `json:"mean_us"`
	P99Micros  float64 `json:"p99_us"`
	Timed      int64   `json:"timed"`
}

// Report returns a filter's statistics.
func (s *Stats) Report(id int64) FilterReport {
	s.mu.Lock()
	defer s.mu.Unlock()
	fs := s.get(id)
	t := fs.total()
	r := FilterReport{FilterID: id, Checked: t.Checked, Matches: t.Matches, Conditions: t.Conditions,
		Overflows: t.Overflows, Errors: t.Errors, Timed: fs.timed}
	if t.Checked > 0 {
		r.MatchRate = float64(t.Matches) / float64(t.Checked)
		r.ConditionsPerAction = float64(t.Conditions) / float64(t.Checked)
	}
	if fs.timed > 0 {
		r.MeanMicros = float64(fs.timedNS) / float64(fs.timed) / 1000
		// The p99 is the upper edge of the bucket that holds it.
		want := int64(math.Ceil(float64(fs.timed) * 0.99))
		var seen int64
		for i, n := range fs.hist {
			if seen += n; seen >= want {
				r.P99Micros = float64(int64(1)<<i) / 1000
				break
			}
		}
	}
	return r
}

// FilterStats returns a filter's statistics.
func (e *Engine) FilterStats(id int64) FilterReport { return e.stats.Report(id) }

// TimedFilter is a filter's totals for metrics: counters only, so that
// a scraper can take rates.
type TimedFilter struct {
	vigil.FilterStats
	Timed   int64 // actions timed by this process
	TimedNS int64 // their total runtime
}

// AllFilterStats returns every filter's totals, by filter id.
func (e *Engine) AllFilterStats() []TimedFilter {
	e.stats.mu.Lock()
	defer e.stats.mu.Unlock()
	out := make([]TimedFilter, 0, len(e.stats.filters))
	for _, fs := range e.stats.filters {
		out = append(out, TimedFilter{FilterStats: fs.total(), Timed: fs.timed, TimedNS: fs.timedNS})
	}
	slices.SortFunc(out, func(a, b TimedFilter) int { return cmp.Compare(a.FilterID, b.FilterID) })
	return out
}

// LoadStats adds the totals the store kept from earlier runs.
func (e *Engine) LoadStats(ctx context.Context) error {
	stored, err := e.store.LoadStats(ctx)
	if err != nil {
		return err
	}
	e.stats.mu.Lock()
	defer e.stats.mu.Unlock()
	for _, st := range stored {
		addStats(&e.stats.get(st.FilterID).saved, st, 1)
	}
	return nil
}

func (e *Engine) flushStats(ctx context.Context) {
	e.stats.mu.Lock()
	var deltas []*vigil.FilterStats
	for _, fs := range e.stats.filters {
		if fs.pending.Checked > 0 {
			d := fs.pending
			deltas = append(deltas, &d)
			addStats(&fs.saved, &d, 1)
			fs.pending = vigil.FilterStats{FilterID: fs.pending.FilterID}
		}
	}
	e.stats.mu.Unlock()
	if len(deltas) == 0 {
		return
	}
	if err := e.store.AddStats(ctx, deltas); err != nil {
		// Put them back for the next flush.
		e.stats.mu.Lock()
		for _, d := range deltas {
			fs := e.stats.get(d.FilterID)
			addStats(&fs.saved, d, -1)
			addStats(&fs.pending, d, 1)
		}
		e.stats.mu.Unlock()
		e.log.Warn("could not save filter statistics; will retry", "err", err)
	}
}
