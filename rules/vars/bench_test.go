package vars_test

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/vigilwiki/vigil/internal/workload"
	"github.com/vigilwiki/vigil/rules/vars"
)

// BenchmarkEditDiff: edit_diff and added_lines of the service benchmark's
// edits of 5-50 KB pages (internal/workload), as the first filter that
// reads added_lines computes them. Per edit.
func BenchmarkEditDiff(b *testing.B) {
	g := workload.New("enwiki", 1, 200)
	type edit struct{ old, new string }
	var edits []edit
	for len(edits) < 300 {
		a := g.Next()
		if a.OldWikitext != nil && a.NewWikitext != nil {
			edits = append(edits, edit{*a.OldWikitext, *a.NewWikitext})
		}
	}
	i := 0
	for b.Loop() {
		e := edits[i%len(edits)]
		i++
		vars.DiffSplit(vars.EditDiff(e.old, e.new), '+')
	}
}

// BenchmarkEditDiffVarsets: edit_diff of the edits in the variable sets of
// real-filters-verdicts.json, texts of a few lines as most edits of short
// pages are, where the diff's fixed costs (allocations) are most of it.
// Per edit.
func BenchmarkEditDiffVarsets(b *testing.B) {
	raw, err := os.ReadFile("../../../shared/testdata/abusefilter/real-filters-verdicts.json")
	if err != nil {
		b.Fatal(err)
	}
	var file struct {
		Varsets map[string]struct {
			Old *string `json:"old_wikitext"`
			New *string `json:"new_wikitext"`
		} `json:"varsets"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		b.Fatal(err)
	}
	type edit struct{ old, new string }
	var edits []edit
	for _, vs := range file.Varsets {
		if vs.Old != nil && vs.New != nil && *vs.Old != *vs.New {
			edits = append(edits, edit{*vs.Old, *vs.New})
		}
	}
	if len(edits) < 4 {
		b.Fatalf("%d edits in the variable sets", len(edits))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		e := edits[i%len(edits)]
		i++
		vars.EditDiff(e.old, e.new)
	}
}

// BenchmarkExternalLinks: the external links of the service benchmark's
// 5-50 KB pages, as new_links (and so added_links) needs them. Per page.
func BenchmarkExternalLinks(b *testing.B) {
	g := workload.New("enwiki", 7, 50)
	var texts []string
	for len(texts) < 100 {
		if a := g.Next(); a.NewWikitext != nil {
			texts = append(texts, *a.NewWikitext)
		}
	}
	i, links := 0, 0
	for b.Loop() {
		links += len(vars.ExternalLinks(texts[i%len(texts)]))
		i++
	}
	b.ReportMetric(float64(links)/float64(i), "links/page")
}
