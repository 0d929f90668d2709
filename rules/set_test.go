package rules_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigilwiki/vigil/internal/aforacle"
	"github.com/vigilwiki/vigil/rules"
	"github.com/vigilwiki/vigil/rules/value"
)

// realSet compiles the valid real filters in file order, as AbuseFilter's
// benchmark (../shared/tools/abusefilter-bench) loads them.
func realSet(t testing.TB) *rules.Set {
	t.Helper()
	var srcs []rules.FilterSource
	for _, f := range loadRealFilters(t) {
		if f.Verdict.Status == "ok" {
			srcs = append(srcs, rules.FilterSource{ID: f.Wiki + "/" + strconv.Itoa(f.ID), Pattern: f.Pattern})
		}
	}
	set, errs := rules.NewSet(srcs)
	if len(errs) != 0 || set.Len() != 444 {
		t.Fatalf("compiled %d filters, errors %v", set.Len(), errs)
	}
	return set
}

// TestSetSharedCounts runs all 444 filters per action on one shared state
// and compares the condition counts and match counts with what the real
// AbuseFilter 1.39 reports for the same run (RESULTS.md §3.2 of
// ../shared/tools/abusefilter-bench, mode "shared"): the function-result
// cache shared across filters makes these exact figures.
func TestSetSharedCounts(t *testing.T) {
	set := realSet(t)
	_, sets := loadVarsets(t)
	want := map[string][2]int{ // conditions, matches
		"ip_adds_casino_link":           {1232, 3},
		"ip_blanks_article":             {1193, 4},
		"ip_adds_profanity_caps":        {1246, 10},
		"ip_removes_refs":               {1236, 3},
		"newuser_creates_spam_userpage": {852, 2},
		"autoconfirmed_normal_edit":     {818, 0},
	}
	for name, w := range want {
		res := set.Run(sets[name], rules.RunOptions{})
		if res.Conds != w[0] || res.Matches != w[1] {
			t.Errorf("%s: %d conditions, %d matches; AbuseFilter: %d, %d", name, res.Conds, res.Matches, w[0], w[1])
		}
		for i, f := range res.Filters {
			if f.Err != nil {
				t.Errorf("%s: filter %s: %v", name, set.ID(i), f.Err)
			}
		}
	}
}

// TestSetProfile: profiled, the filters' times are the parts of the
// action's time (never more than it in all), and unprofiled there are none;
// profiling changes nothing else.
func TestSetProfile(t *testing.T) {
	set := realSet(t)
	_, sets := loadVarsets(t)
	for name, vars := range sets {
		plain := set.Run(vars, rules.RunOptions{})
		res := set.Run(vars, rules.RunOptions{Profile: true})
		var sum time.Duration
		for i, f := range res.Filters {
			if f.Time < 0 {
				t.Errorf("%s: filter %s took %v", name, set.ID(i), f.Time)
			}
			sum += f.Time
			p := plain.Filters[i]
			if p.Time != 0 || p.Matched != f.Matched || p.Conds != f.Conds || (p.Err == nil) != (f.Err == nil) {
				t.Errorf("%s: filter %s unprofiled %+v, profiled %+v", name, set.ID(i), p, f)
			}
		}
		if sum <= 0 || sum > res.Time {
			t.Errorf("%s: the filters took %v in all, the action %v", name, sum, res.Time)
		}
	}
}

// TestSetConditionLimit: with AbuseFilter's limit of 1000, the last
// filters fail at their first counted operation (RESULTS.md §3.4: 74, 65,
// 75 and 75 filters for the four IP variable sets) and verdicts do not
// change, because the matching filters come earlier.
func TestSetConditionLimit(t *testing.T) {
	set := realSet(t)
	_, sets := loadVarsets(t)
	want := map[string]int{
		"ip_adds_casino_link":    74,
		"ip_blanks_article":      65,
		"ip_adds_profanity_caps": 75,
		"ip_removes_refs":        75,
	}
	for name, n := range want {
		free := set.Run(sets[name], rules.RunOptions{})
		limited := set.Run(sets[name], rules.RunOptions{CondLimit: rules.DefaultCondLimit})
		failed := 0
		for i, f := range limited.Filters {
			if f.Err != nil && f.Err.Code == "conditionlimit" {
				failed++
			}
			if f.Matched != free.Filters[i].Matched {
				t.Errorf("%s: filter %s changed verdict under the limit", name, set.ID(i))
			}
		}
		if failed != n || !limited.LimitReached {
			t.Errorf("%s: %d filters hit the limit, AbuseFilter: %d", name, failed, n)
		}
	}
}

// matchedIDs joins the ids of the filters that matched; with noErrors, a
// filter's error fails the test.
func matchedIDs(t *testing.T, set *rules.Set, res *rules.Result, noErrors bool) string {
	t.Helper()
	got := ""
	for i, f := range res.Filters {
		if noErrors && f.Err != nil {
			t.Fatalf("%s: %v", set.ID(i), f.Err)
		}
		if f.Matched {
			got += set.ID(i)
		}
	}
	return got
}

// TestSetHintedPatterns: a regex held in a variable is prepared for the
// prefilter from the constant last assigned to it in the filter's source,
// but the variable's value at run time decides: another filter (user
// variables are shared by the filters of an action) or a branch may have
// given it another pattern.
func TestSetHintedPatterns(t *testing.T) {
	srcs := []rules.FilterSource{
		{ID: "a", Pattern: `p := "casino|poker"; added_lines rlike p`},
		// The assignment is skipped when the summary says so: p keeps
		// filter a's value.
		{ID: "b", Pattern: `(summary == "keep" | (p := "viagra|pills")) ; added_lines rlike p`},
		{ID: "c", Pattern: `q := "first"; q := added_lines; "casino" rlike q`},
		{ID: "d", Pattern: `r := "(?i)CASINO"; added_lines rlike r`},
	}
	set, errs := rules.NewSet(srcs)
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	tests := []struct {
		added, summary string
		want           string // the filters that match, in order
	}{
		{"buy casino chips", "", "ad"},
		{"buy casino chips", "keep", "abd"}, // b reads a's pattern
		{"cheap viagra", "", "b"},
		{"cheap viagra", "keep", ""},
		{"casino", "", "acd"}, // c's pattern is the text itself
		{"nothing here", "", ""},
	}
	for _, tt := range tests {
		res := set.Run(rules.VarMap{"added_lines": value.NewString(tt.added), "summary": value.NewString(tt.summary)}, rules.RunOptions{})
		got := matchedIDs(t, set, res, true)
		if got != tt.want {
			t.Errorf("added %q, summary %q: matched %q, want %q", tt.added, tt.summary, got, tt.want)
		}
	}
}

// TestSetStaticOperators: a keyword operator over builtin variables and
// constants is answered once per action for all filters; every use still
// costs a condition, and the answer does not outlive its action.
func TestSetStaticOperators(t *testing.T) {
	srcs := []rules.FilterSource{
		{ID: "a", Pattern: `!("confirmed" in user_groups) & summary contains "x"`},
		{ID: "b", Pattern: `!("confirmed" in user_groups)`},
		{ID: "c", Pattern: `"confirmed" in user_groups | summary rlike "y"`},
		{ID: "d", Pattern: `"confirmed" in user_groups`},
	}
	set, errs := rules.NewSet(srcs)
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	tests := []struct {
		groups  []string
		summary string
		want    string
		conds   int
	}{
		// a: in, contains; b: in; c: in, rlike; d: in.
		{[]string{"*", "user"}, "x y", "abc", 6},
		{[]string{"*", "user", "confirmed"}, "x y", "cd", 4},
		{[]string{"*"}, "", "b", 6},
		{[]string{"confirmed"}, "", "cd", 4},
	}
	for range 3 { // and again, on States the pool hands back
		for _, tt := range tests {
			groups := make([]value.Value, len(tt.groups))
			for i, g := range tt.groups {
				groups[i] = value.NewString(g)
			}
			res := set.Run(rules.VarMap{"user_groups": value.NewArray(groups), "summary": value.NewString(tt.summary)}, rules.RunOptions{})
			got := matchedIDs(t, set, res, false)
			if got != tt.want || res.Conds != tt.conds {
				t.Errorf("groups %v, summary %q: matched %q with %d conditions, want %q with %d", tt.groups, tt.summary, got, res.Conds, tt.want, tt.conds)
			}
		}
	}
}

// TestSetStaticOperatorsShared: only a static operator used more than once
// in a set has its answer remembered; one used once is just evaluated
// (its answer could never be read again in the action).
func TestSetStaticOperatorsShared(t *testing.T) {
	set, errs := rules.NewSet([]rules.FilterSource{
		{ID: "a", Pattern: `"x" in user_groups`},
		{ID: "b", Pattern: `"x" in user_groups & summary rlike "u"`},
		{ID: "c", Pattern: `summary rlike "v" | summary rlike "w"`},
		{ID: "d", Pattern: `summary rlike "v"`},
	})
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	// Distinct: "x" in user_groups, rlike u, v, w; shared: the first and v.
	if distinct, shared := rules.StaticOps(set); distinct != 4 || shared != 2 {
		t.Errorf("%d distinct static operators, %d shared; want 4, 2", distinct, shared)
	}
	// And on the real filters, most are used once.
	distinct, shared := rules.StaticOps(realSet(t))
	t.Logf("real filters: %d distinct static operators, %d used more than once", distinct, shared)
	if shared == 0 || shared*2 > distinct {
		t.Errorf("real filters: %d of %d static operators shared", shared, distinct)
	}
}

// TestSetIPRanges: ranges parsed ahead (constants) and at run time
// (variables) give the same answers, and the address parsed for one
// action or argument is not reused for another.
func TestSetIPRanges(t *testing.T) {
	srcs := []rules.FilterSource{
		{ID: "a", Pattern: `ip_in_range(user_name, "192.0.2.0/24")`},
		{ID: "b", Pattern: `r := "192.0.2.0/24"; ip_in_range(user_name, r)`},
		{ID: "c", Pattern: `ip_in_range("198.51.100.7", "198.51.100.0/25") & !ip_in_range(user_name, "198.51.100.0/25")`},
		{ID: "d", Pattern: `ip_in_ranges(user_name, "2001:db8::/32", "203.0.113.1 - 203.0.113.9")`},
		{ID: "e", Pattern: `ip_in_range(summary, "192.0.2.0/24")`},
	}
	set, errs := rules.NewSet(srcs)
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	tests := []struct{ user, summary, want string }{
		{"192.0.2.44", "192.0.2.1", "abce"},
		{"198.51.100.9", "192.0.2.1", "e"},
		{"203.0.113.5", "x", "cd"},
		{"2001:db8::1", "192.0.2.255", "cde"},
		{"Alice", "192.0.3.1", "c"},
	}
	for range 2 {
		for _, tt := range tests {
			res := set.Run(rules.VarMap{"user_name": value.NewString(tt.user), "summary": value.NewString(tt.summary)}, rules.RunOptions{})
			got := matchedIDs(t, set, res, true)
			if got != tt.want {
				t.Errorf("user %q, summary %q: matched %q, want %q", tt.user, tt.summary, got, tt.want)
			}
		}
	}
}

// TestSetInvalidUTF8: preg refuses a subject that is not UTF-8, so every
// regex test of one is a regexfailure (the filter is false), whichever path
// answers: the literal index, a direct search, a fixed-string pattern, a
// long or a short subject, a first or a later question.
func TestSetInvalidUTF8(t *testing.T) {
	srcs := []rules.FilterSource{
		{ID: "index", Pattern: `added_lines rlike "casino.*" | summary rlike "x"`},
		{ID: "absent", Pattern: `added_lines rlike "poker.*"`},
		{ID: "fixed", Pattern: `!(added_lines rlike "zzz")`},
		{ID: "caseless", Pattern: `added_lines irlike "casino"`},
		{ID: "count", Pattern: `rcount("poker", added_lines) == 0`},
		{ID: "literal", Pattern: `"\xffabc" rlike "zzz" | true`},
	}
	set, errs := rules.NewSet(srcs)
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	for _, n := range []int{10, 10000} {
		added := "\xff " + strings.Repeat("CASINO ", n/7)
		res := set.Run(rules.VarMap{"added_lines": value.NewString(added), "summary": value.NewString("x")}, rules.RunOptions{})
		for i, f := range res.Filters {
			if f.Matched || f.Err == nil || f.Err.Code != "regexfailure" {
				t.Errorf("%d bytes: filter %s: matched %v, error %v; want false with regexfailure", len(added), set.ID(i), f.Matched, f.Err)
			}
		}
	}
}

// TestFunctionCacheFlush: AbuseFilter empties its function-result cache
// when it holds more than 1000 entries, after which a repeated call costs
// its condition again, even one whose arguments are all constants (which
// Vigil answers from a per-action slot). The real AbuseFilter gives the
// counts (without a condition limit, as with Wikimedia's 2,000).
func TestFunctionCacheFlush(t *testing.T) {
	o := aforacle.Get(t)
	call := func(i int) string { return fmt.Sprintf("lcase(%q)", fmt.Sprint("S", i)) }
	var calls []string
	for i := range 1001 {
		calls = append(calls, call(i))
	}
	distinct := func(n int) string { return "x := [" + strings.Join(calls[:n], ", ") + "]; " }
	repeat := func(i int) string { return call(i) + fmt.Sprintf(` === "s%d"`, i) }
	// An inner call empties the cache; the outer call's result is cached
	// after that, so its repeat is free (ip_in_range over a constant range
	// is a call no other can repeat: see markCacheFree).
	nested := `ip_in_range(lcase(summary), "1.2.3.0/24") | ip_in_range(lcase(summary), "1.2.3.0/24")`
	for _, rule := range []string{
		distinct(1000) + repeat(0), distinct(1000) + repeat(999), // 1000 entries stay
		distinct(1001) + repeat(0), distinct(1001) + repeat(1000), // the 1001st empties the cache, itself included
		distinct(1000) + nested,
	} {
		var af struct {
			Match bool
			Error *string
			Conds int
		}
		vars := map[string]any{"summary": "9.9.9.9"}
		if err := o.Do(map[string]any{"op": "match", "rule": rule, "vars": vars}, &af); err != nil {
			t.Fatal(err)
		}
		if af.Error != nil {
			t.Fatalf("AbuseFilter: %s", *af.Error)
		}
		set, errs := rules.NewSet([]rules.FilterSource{{ID: "flush", Pattern: rule}})
		if len(errs) != 0 {
			t.Fatal(errs[0].Err)
		}
		for range 2 { // a fresh action each time, on a reused State
			res := set.Run(rules.VarMap{"summary": value.NewString("9.9.9.9")}, rules.RunOptions{})
			if res.Conds != af.Conds || res.Filters[0].Matched != af.Match {
				t.Errorf("…%s: %d conditions, match %v; AbuseFilter %d, %v", rule[len(rule)-60:], res.Conds, res.Filters[0].Matched, af.Conds, af.Match)
			}
		}
	}
}

// TestSetCacheFreeCalls runs filters whose calls the function cache must
// or need not hold (see markCacheFree) on one evaluator, and compares each
// filter's conditions with AbuseFilter's: equal arguments reached through
// different variables or through a computed value are cache hits there
// and must stay free here; calls that differ in a constant never meet.
func TestSetCacheFreeCalls(t *testing.T) {
	o := aforacle.Get(t)
	vars := map[string]any{"user_name": "Example", "page_title": "Example", "summary": "1.2.3.4", "action": "edit"}
	filters := []string{
		`lcase(user_name) == "example"`,
		`lcase(page_title) == "example"`, // same argument as above: a hit
		`lcase(user_name) == "example"`,  // the same call: a hit
		`ip_in_range(summary, "1.2.3.0/24") & ip_in_range(summary, "1.2.0.0/16")`,
		`ip_in_range(summary, "1.2.3.0/24")`,         // a hit
		`x := "1.2.3.0/24"; ip_in_range(summary, x)`, // computed argument, equal: a hit
		`length(action) == 4 & strlen(action) == 4`,  // one handler: a hit
		`substr(user_name, 1) == "xample" & substr(user_name, 1, 6) == "xample"`,
		`rcount("a", user_name) + rcount("a", page_title) == 2`,
		`contains_any(ucase(summary), "1.2") & contains_any(ucase(user_name), "EX")`,
		// A call whose pattern is a variable may repeat any rcount over
		// the same text, before or after it.
		`p := "m"; rcount(p, user_name) == 1`,
		`rcount("m", user_name) == 1`,                              // what the call above cached: a hit
		`rcount("a", user_name) == 0`,                              // as in the ninth filter: a hit
		`rcount("x", page_title) == 1`,                             // new: a condition
		`q := "x"; rcount(q, page_title) + rcount(q, action) == 1`, // the first a hit, the second new
		`count("EX", ucase(user_name)) == 1`,
		`n := "EX"; count(n, ucase(user_name)) == 1`, // equal to the call above: a hit
	}
	var af struct {
		Results []struct {
			Match bool
			Error *string
			Conds int
		}
	}
	if err := o.Do(map[string]any{"op": "shared", "rules": filters, "vars": vars}, &af); err != nil {
		t.Fatal(err)
	}
	var srcs []rules.FilterSource
	for i, f := range filters {
		srcs = append(srcs, rules.FilterSource{ID: strconv.Itoa(i), Pattern: f})
	}
	set, errs := rules.NewSet(srcs)
	if len(errs) != 0 {
		t.Fatal(errs[0].Err)
	}
	given := rules.VarMap{}
	for k, v := range vars {
		given[k] = value.NewString(v.(string))
	}
	for range 2 { // a reused State
		res := set.Run(given, rules.RunOptions{})
		for i, r := range af.Results {
			if r.Error != nil {
				t.Fatalf("filter %d: AbuseFilter error %s", i, *r.Error)
			}
			if got := res.Filters[i]; got.Conds != r.Conds || got.Matched != r.Match {
				t.Errorf("filter %d %q: %d conditions, match %v; AbuseFilter %d, %v", i, filters[i], got.Conds, got.Matched, r.Conds, r.Match)
			}
		}
	}
}
