package rules_test

import (
	"fmt"
	"sort"
	"strconv"
	"testing"

	"github.com/vigilwiki/vigil/rules"
	"github.com/vigilwiki/vigil/rules/vars"
)

func TestZZHalves(t *testing.T) {
	var srcs []rules.FilterSource
	for _, f := range loadRealFilters(t) {
		if f.Verdict.Status == "ok" {
			srcs = append(srcs, rules.FilterSource{ID: f.Wiki + "/" + strconv.Itoa(f.ID), Pattern: f.Pattern})
		}
	}
	_, sets := loadVarsets(t)
	given := sets["ip_adds_casino_link"]
	parts := map[string][]rules.FilterSource{"all": srcs, "even": nil, "odd": nil}
	for i, s := range srcs {
		if i%2 == 0 {
			parts["even"] = append(parts["even"], s)
		} else {
			parts["odd"] = append(parts["odd"], s)
		}
	}
	compiled := map[string]*rules.Set{}
	for k, v := range parts {
		compiled[k], _ = rules.NewSet(v)
	}
	res := map[string][]float64{}
	for range 7 {
		for _, k := range []string{"all", "even", "odd"} {
			set := compiled[k]
			r := testing.Benchmark(func(b *testing.B) {
				var out rules.Result
				for b.Loop() {
					set.RunInto(&out, vars.New(given), rules.RunOptions{})
				}
			})
			res[k] = append(res[k], float64(r.NsPerOp())/1000)
		}
	}
	for _, k := range []string{"all", "even", "odd"} {
		sort.Float64s(res[k])
		fmt.Println(k, res[k], "median", res[k][3])
	}
}
