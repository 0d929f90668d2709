package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigilwiki/vigil/internal/gcburst"
	"github.com/vigilwiki/vigil/rules"
	"github.com/vigilwiki/vigil/rules/value"
	"github.com/vigilwiki/vigil/rules/vars"
)

// FilterRow is one filter in the JSONL shape of AbuseFilter's abuse_filter
// rows (../shared/testdata/abusefilter/real-filters.jsonl); fields other
// than these are ignored.
type FilterRow struct {
	Wiki    string `json:"wiki"`
	ID      *int   `json:"af_id"`
	Pattern string `json:"pattern"`
	Enabled *bool  `json:"enabled"`
	Deleted bool   `json:"deleted"`
}

// readFilters reads filters in JSONL; enabledOnly keeps enabled,
// non-deleted ones.
func readFilters(r io.Reader, enabledOnly bool) ([]rules.FilterSource, error) {
	var out []rules.FilterSource
	err := eachLine(r, func(n int, line []byte, lineErr error) error {
		if lineErr != nil {
			return fmt.Errorf("filters line %d: %v", n, lineErr)
		}
		var row FilterRow
		dec := json.NewDecoder(bytes.NewReader(line))
		if err := dec.Decode(&row); err != nil {
			return fmt.Errorf("filters line %d: %v", n, err)
		}
		if row.Pattern == "" {
			return fmt.Errorf("filters line %d: field \"pattern\" is required", n)
		}
		if enabledOnly && (row.Enabled != nil && !*row.Enabled || row.Deleted) {
			return nil
		}
		id := "line " + strconv.Itoa(n)
		if row.ID != nil {
			id = strconv.Itoa(*row.ID)
			if row.Wiki != "" {
				id = row.Wiki + "/" + id
			}
		}
		out = append(out, rules.FilterSource{ID: id, Pattern: row.Pattern})
		return nil
	})
	return out, err
}

// Varset is a named set of variables for one action.
type Varset struct {
	Name string
	Vars map[string]value.Value
}

// readVarsets reads {"varsets": {"name": {...vars...}}} (the shape of
// real-filters-verdicts.json) or a bare {"name": {...vars...}} object.
func readVarsets(r io.Reader) ([]Varset, error) {
	b, err := io.ReadAll(io.LimitReader(r, 1<<30))
	if err != nil {
		return nil, err
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("varsets: %v", jsonErrorAt(b, err))
	}
	if inner, ok := doc["varsets"]; ok {
		doc = nil
		if err := json.Unmarshal(inner, &doc); err != nil {
			return nil, fmt.Errorf("varsets: \"varsets\" is not an object of variable sets: %v", err)
		}
	}
	var out []Varset
	for name, raw := range doc {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			return nil, fmt.Errorf("varsets.%s: %v", name, err)
		}
		vs, err := decodeVars(m)
		if err != nil {
			return nil, fmt.Errorf("varsets.%s: %v", name, err)
		}
		out = append(out, Varset{Name: name, Vars: vs})
	}
	if len(out) == 0 {
		return nil, errors.New("varsets: no variable sets")
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// jsonErrorAt adds to a syntax error of encoding/json in data the line
// and column it points at; a file of variable sets is many lines long.
func jsonErrorAt(data []byte, err error) error {
	var syn *json.SyntaxError
	if !errors.As(err, &syn) {
		return err
	}
	// Offset counts the bytes read, the bad one included; at the end of
	// the data, the place just after it.
	off := len(data)
	if syn.Offset < int64(len(data)) {
		off = int(max(syn.Offset-1, 0))
	}
	line := 1 + bytes.Count(data[:off], []byte("\n"))
	col := off - bytes.LastIndexByte(data[:off], '\n')
	return fmt.Errorf("line %d, column %d: %v", line, col, err)
}

// BenchResult is what `vigil rules bench --json` prints.
type BenchResult struct {
	CompileMS float64                  `json:"compile_ms"`
	Filters   int                      `json:"filters"`
	Varsets   map[string]VarsetMeasure `json:"varsets"`
	// Costliest are the filters that took the most time (--top), the
	// costliest first.
	Costliest []FilterCost `json:"costliest,omitempty"`
	// CostliestLeftOut is how many actions of the passes that time each
	// filter were left out of those times: they took over four times their
	// variable set's median, which only an interruption of the process
	// explains.
	CostliestLeftOut int `json:"costliest_left_out,omitempty"`
}

// FilterCost is one filter's share of the time of the actions: what a
// filter manager looks at first when a set is slow.
type FilterCost struct {
	ID string `json:"id"`
	// Share is the filter's part of all the filters' time, 0 to 1.
	Share float64 `json:"share"`
	// MeanUS is its time per action and Conditions its conditions per
	// action, both averaged over the variable sets.
	MeanUS     float64 `json:"mean_us"`
	Conditions float64 `json:"conditions"`
	// Matched names the variable sets it matched; Error is the error id
	// that made it false in some, if any.
	Matched []string `json:"matched,omitempty"`
	Error   string   `json:"error,omitempty"`
}

// BenchOptions are how Bench runs.
type BenchOptions struct {
	Passes, Warmup int // timed actions per variable set, and untimed ones before them
	CondLimit      int // AbuseFilter's condition limit; 0: none
	// Top is how many of the costliest filters to name. They are timed in
	// passes of their own after the timed ones, since timing each filter
	// (a clock read) slows the actions down.
	Top int
}

// VarsetMeasure is the figures for one variable set.
type VarsetMeasure struct {
	MedianUS   float64 `json:"median_us"`
	P99US      float64 `json:"p99_us"`
	Conditions int     `json:"conditions"`
	Matches    int     `json:"matches"`
}

func newRulesBenchCmd() *cobra.Command {
	var filtersPath, varsetsPath string
	var asJSON, enabledOnly bool
	var passes, warmup, condLimit, top int
	cmd := &cobra.Command{
		Use:   "bench --filters FILE --varsets FILE",
		Short: "Profile a filter set: compile time and time per action",
		Long: `Bench compiles a filter set (JSONL rows as in real-filters.jsonl; filters that do
not pass the syntax check are reported and left out) and runs all of them over
each variable set the way AbuseFilter runs one action, repeatedly. It prints the
compile time and, per variable set, the median and 99th percentile time per
action, the conditions used and the matches. With --top N it then times each
filter over the same passes and lists the N that took the most time: the place
to start when a set is slow.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if filtersPath == "" || varsetsPath == "" {
				return errors.New("both --filters and --varsets are required")
			}
			enableHugeHeap() // the compile it times is a fresh process's
			ff, err := os.Open(filtersPath)
			if err != nil {
				return err
			}
			defer ff.Close()
			srcs, err := readFilters(ff, enabledOnly)
			if err != nil {
				return err
			}
			vf, err := os.Open(varsetsPath)
			if err != nil {
				return err
			}
			defer vf.Close()
			sets, err := readVarsets(vf)
			if err != nil {
				return err
			}
			if passes < 1 || warmup < 0 {
				return errors.New("--passes must be at least 1 and --warmup at least 0")
			}
			if top < 0 {
				return errors.New("--top must be at least 0")
			}
			res, skipped := Bench(srcs, sets, BenchOptions{Passes: passes, Warmup: warmup, CondLimit: condLimit, Top: top})
			for _, e := range skipped {
				src := ""
				for _, s := range srcs {
					if s.ID == e.ID {
						src = s.Pattern
					}
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "filter %s left out: %s\n", e.ID, e.Err.Format(src))
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), res)
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 4, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintf(w, "compiled %d filters in %.2f ms (%d left out)\t\n\n", res.Filters, res.CompileMS, len(skipped))
			fmt.Fprintf(w, "varset\tmedian µs\tp99 µs\tconditions\tmatches\t\n")
			for _, s := range sets {
				m := res.Varsets[s.Name]
				fmt.Fprintf(w, "%s\t%.1f\t%.1f\t%d\t%d\t\n", s.Name, m.MedianUS, m.P99US, m.Conditions, m.Matches)
			}
			if len(res.Costliest) > 0 {
				fmt.Fprintf(w, "\t\n%d costliest filters, over all variable sets\t\n", len(res.Costliest))
				if res.CostliestLeftOut > 0 {
					fmt.Fprintf(w, "(%d of %d actions left out: interrupted, over %d times their variable set's median)\n",
						res.CostliestLeftOut, passes*len(sets), interruptedFactor)
				}
				fmt.Fprintf(w, "\t\n")
				fmt.Fprintf(w, "filter\tshare %%\tµs per action\tconditions\tmatched in\terror\t\n")
				for _, c := range res.Costliest {
					fmt.Fprintf(w, "%s\t%.1f\t%.2f\t%.1f\t%d\t%s\t\n", c.ID, 100*c.Share, c.MeanUS, c.Conditions, len(c.Matched), c.Error)
				}
			}
			return w.Flush()
		},
	}
	cmd.Flags().StringVar(&filtersPath, "filters", "", "filters as JSONL (real-filters.jsonl shape)")
	cmd.Flags().StringVar(&varsetsPath, "varsets", "", "variable sets as JSON (real-filters-verdicts.json shape)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the figures as JSON")
	cmd.Flags().BoolVar(&enabledOnly, "enabled-only", false, "only enabled, not deleted filters")
	cmd.Flags().IntVar(&passes, "passes", 1000, "measured actions per variable set")
	cmd.Flags().IntVar(&warmup, "warmup", 100, "unmeasured actions per variable set first")
	cmd.Flags().IntVar(&condLimit, "cond-limit", 0, "AbuseFilter's condition limit (0: off, as in AbuseFilter's own benchmark)")
	cmd.Flags().IntVar(&top, "top", 0, "also time each filter (in passes of their own) and list the N costliest")
	return cmd
}

// Bench compiles srcs and times the set over each varset.
func Bench(srcs []rules.FilterSource, sets []Varset, o BenchOptions) (BenchResult, []rules.CompileError) {
	passes, warmup := o.Passes, o.Warmup
	t0 := time.Now()
	var set *rules.Set
	var skipped []rules.CompileError
	gcburst.Run(func() { set, skipped = rules.NewSet(srcs) })
	compile := time.Since(t0)
	res := BenchResult{CompileMS: float64(compile.Microseconds()) / 1000, Filters: set.Len(), Varsets: map[string]VarsetMeasure{}}
	times := make([][]time.Duration, len(sets))
	var last = make([]rules.Result, len(sets))
	opts := rules.RunOptions{CondLimit: o.CondLimit}
	for pass := 0; pass < warmup+passes; pass++ {
		for i, vs := range sets {
			// Each action gets fresh variables: derived ones are computed
			// per action, as in a real save.
			action := vars.New(vs.Vars)
			start := time.Now()
			set.RunInto(&last[i], action, opts)
			if d := time.Since(start); pass >= warmup {
				times[i] = append(times[i], d)
			}
		}
	}
	medians := make([]time.Duration, len(sets))
	for i, vs := range sets {
		res.Varsets[vs.Name] = VarsetMeasure{
			MedianUS:   quantile(times[i], 0.5),
			P99US:      quantile(times[i], 0.99),
			Conditions: last[i].Conds,
			Matches:    last[i].Matches,
		}
		medians[i] = time.Duration(res.Varsets[vs.Name].MedianUS * 1000)
	}
	if o.Top > 0 {
		res.Costliest, res.CostliestLeftOut = costliest(set, sets, medians, o)
	}
	return res, skipped
}

// costliest times each filter of set over o.Passes actions of each varset
// and returns the o.Top that took the most time, and how many actions it
// left out of the times as interrupted (see filterTimes). medians are the
// varsets' median action times from the timed passes.
func costliest(set *rules.Set, sets []Varset, medians []time.Duration, o BenchOptions) ([]FilterCost, int) {
	passes := o.Passes
	n := set.Len()
	times := newFilterTimes(n, medians)
	conds := make([]int, n)
	matched := make([][]string, n)
	errs := make([]string, n)
	opts := rules.RunOptions{CondLimit: o.CondLimit, Profile: true}
	var res rules.Result
	for pass := 0; pass < passes; pass++ {
		for v, vs := range sets {
			set.RunInto(&res, vars.New(vs.Vars), opts)
			times.add(v, &res)
			if pass > 0 {
				continue // the rest is the same in every pass
			}
			for i, f := range res.Filters {
				conds[i] += f.Conds
				if f.Matched {
					matched[i] = append(matched[i], vs.Name)
				}
				if f.Err != nil && errs[i] == "" {
					errs[i] = f.Err.Code
				}
			}
		}
	}
	means := make([]float64, n)
	var total float64
	order := make([]int, n)
	for i := range order {
		order[i] = i
		means[i] = times.mean(i)
		total += means[i]
	}
	sort.SliceStable(order, func(a, b int) bool { return means[order[a]] > means[order[b]] })
	out := make([]FilterCost, 0, min(o.Top, n))
	for _, i := range order[:min(o.Top, n)] {
		c := FilterCost{ID: set.ID(i), MeanUS: means[i] / 1000,
			Conditions: float64(conds[i]) / float64(len(sets)), Matched: matched[i], Error: errs[i]}
		if total > 0 {
			c.Share = means[i] / total
		}
		out = append(out, c)
	}
	return out, times.leftOut
}

// interruptedFactor: an action of the --top passes that takes this many
// times its varset's median action was interrupted. A profiled filter's
// time is the clock's advance while it ran, so an interruption (the host
// taking the CPU away, a page fault) lands whole on whichever filter was
// running: one 3 ms stall in 1,000 passes made an 80 ns filter look like
// 3.7 µs, among the costliest. Timing every filter makes an action about
// a fifth slower, and even the p99 of a varset's actions, interruptions
// included, was about three times their median (docs/performance.md).
const interruptedFactor = 4

// filterTimes adds up each filter's time per varset over the --top
// passes, without the actions that were interrupted.
type filterTimes struct {
	limit     []time.Duration   // by varset: an action that takes longer was interrupted
	kept, all [][]time.Duration // by varset and filter
	nKept     []int             // by varset: actions in kept
	nAll      int               // actions per varset
	leftOut   int
}

func newFilterTimes(filters int, medians []time.Duration) *filterTimes {
	t := &filterTimes{nKept: make([]int, len(medians))}
	for _, m := range medians {
		t.limit = append(t.limit, interruptedFactor*m)
		t.kept = append(t.kept, make([]time.Duration, filters))
		t.all = append(t.all, make([]time.Duration, filters))
	}
	return t
}

// add adds the filters' times of one action of varset v.
func (t *filterTimes) add(v int, res *rules.Result) {
	if v == 0 {
		t.nAll++
	}
	keep := t.limit[v] <= 0 || res.Time <= t.limit[v]
	for i, f := range res.Filters {
		t.all[v][i] += f.Time
		if keep {
			t.kept[v][i] += f.Time
		}
	}
	if keep {
		t.nKept[v]++
	} else {
		t.leftOut++
	}
}

// mean is filter i's time per action in nanoseconds, the mean over the
// varsets of its mean over their actions. A varset whose every action was
// interrupted counts them all: the limit was wrong for it.
func (t *filterTimes) mean(i int) float64 {
	if t.nAll == 0 || len(t.kept) == 0 {
		return 0
	}
	sum := 0.0
	for v := range t.kept {
		if t.nKept[v] > 0 {
			sum += float64(t.kept[v][i]) / float64(t.nKept[v])
		} else {
			sum += float64(t.all[v][i]) / float64(t.nAll)
		}
	}
	return sum / float64(len(t.kept))
}

// quantile returns the q-quantile of ds in microseconds (nearest rank).
func quantile(ds []time.Duration, q float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(math.Ceil(q*float64(len(s)))) - 1
	i = max(0, min(i, len(s)-1))
	return math.Round(float64(s[i].Nanoseconds())/10) / 100
}
