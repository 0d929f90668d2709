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
	var passes, warmup, condLimit int
	cmd := &cobra.Command{
		Use:   "bench --filters FILE --varsets FILE",
		Short: "Profile a filter set: compile time and time per action",
		Long: `Bench compiles a filter set (JSONL rows as in real-filters.jsonl; filters that do
not pass the syntax check are reported and left out) and runs all of them over
each variable set the way AbuseFilter runs one action, repeatedly. It prints the
compile time and, per variable set, the median and 99th percentile time per
action, the conditions used and the matches.`,
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
			res, skipped := Bench(srcs, sets, passes, warmup, condLimit)
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
	return cmd
}

// Bench compiles srcs and times the set over each varset.
func Bench(srcs []rules.FilterSource, sets []Varset, passes, warmup, condLimit int) (BenchResult, []rules.CompileError) {
	t0 := time.Now()
	var set *rules.Set
	var skipped []rules.CompileError
	gcburst.Run(func() { set, skipped = rules.NewSet(srcs) })
	compile := time.Since(t0)
	res := BenchResult{CompileMS: float64(compile.Microseconds()) / 1000, Filters: set.Len(), Varsets: map[string]VarsetMeasure{}}
	times := make([][]time.Duration, len(sets))
	var last = make([]rules.Result, len(sets))
	opts := rules.RunOptions{CondLimit: condLimit}
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
	for i, vs := range sets {
		res.Varsets[vs.Name] = VarsetMeasure{
			MedianUS:   quantile(times[i], 0.5),
			P99US:      quantile(times[i], 0.99),
			Conditions: last[i].Conds,
			Matches:    last[i].Matches,
		}
	}
	return res, skipped
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
