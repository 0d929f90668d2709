package rules_test

import (
	"sort"
	"testing"
	"time"

	"github.com/vigilwiki/vigil/rules"
	"github.com/vigilwiki/vigil/rules/vars"
)

// BenchmarkCompileRealFilters compiles the 444 valid real filters (parse,
// static check, planning) as one set.
func BenchmarkCompileRealFilters(b *testing.B) {
	var srcs []rules.FilterSource
	for _, f := range loadRealFilters(b) {
		if f.Verdict.Status == "ok" {
			srcs = append(srcs, rules.FilterSource{ID: f.Wiki, Pattern: f.Pattern})
		}
	}
	total := 0
	for _, s := range srcs {
		total += len(s.Pattern)
	}
	// cold: every regex compiled anew, as when a process starts; warm: the
	// process-wide regex cache holds them, as when a filter set is
	// rebuilt after an edit.
	for _, cold := range []bool{true, false} {
		name := "warm"
		if cold {
			name = "cold"
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(total))
			b.ReportAllocs()
			for b.Loop() {
				if cold {
					rules.ResetRegexCache()
				}
				if set, errs := rules.NewSet(srcs); set.Len() != 444 || len(errs) != 0 {
					b.Fatal("compile failed")
				}
			}
		})
	}
}

// BenchmarkRealFilterAction runs all 444 real filters over one action, on
// one shared state as AbuseFilter's FilterRunner does, for each of the six
// variable sets; each action gets fresh variables.
func BenchmarkRealFilterAction(b *testing.B) {
	set := realSet(b)
	_, sets := loadVarsets(b)
	names := make([]string, 0, len(sets))
	for name := range sets {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		given := sets[name]
		b.Run(name, func(b *testing.B) {
			var res rules.Result
			b.ReportAllocs()
			for b.Loop() {
				set.RunInto(&res, vars.New(given), rules.RunOptions{})
			}
			b.ReportMetric(float64(res.Conds), "conds")
		})
	}
}

// BenchmarkRealFilterActionIdle is BenchmarkRealFilterAction with the core
// idle for 1 ms before each action (not timed), as a service sees requests
// 1 ms apart: on shared machines whatever else runs there in that
// millisecond evicts the filters from the caches, and the action pays for
// reloading them (docs/performance.md, ninth session).
func BenchmarkRealFilterActionIdle(b *testing.B) {
	set := realSet(b)
	_, sets := loadVarsets(b)
	given := sets["ip_adds_casino_link"]
	var res rules.Result
	for range 100 {
		set.RunInto(&res, vars.New(given), rules.RunOptions{})
	}
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		time.Sleep(time.Millisecond)
		b.StartTimer()
		set.RunInto(&res, vars.New(given), rules.RunOptions{})
	}
}

// BenchmarkLiteralScan runs the prefilter's Aho-Corasick scan of the real
// filters' literals over the new wikitext of each variable set that has one.
func BenchmarkLiteralScan(b *testing.B) {
	scan := rules.LiteralScanner(realSet(b))
	_, sets := loadVarsets(b)
	var names []string
	for name, given := range sets {
		if given["new_wikitext"].IsString() {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		text := sets[name]["new_wikitext"].Str()
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				scan(text)
			}
		})
	}
}
