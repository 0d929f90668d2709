package textfunc

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// BenchmarkPageFunctions runs the text functions that filters apply to
// whole pages over a 30 KB page made of the real varsets' wikitexts, with
// the en dash that real articles hold in most paragraphs (one non-ASCII
// character sends the whole text down the Unicode path).
func BenchmarkPageFunctions(b *testing.B) {
	page := testPage(b)
	for _, f := range []struct {
		name string
		fn   func(string) string
	}{{"Lower", Lower}, {"Upper", Upper}, {"RmSpecials", RmSpecials}, {"RmWhitespace", RmWhitespace},
		// A page's first and last hundred characters, as a filter reads a
		// page's head or its end.
		{"Substr", func(s string) string { return Substr(s, 0, 100, true) }},
		{"SubstrEnd", func(s string) string { return Substr(s, -100, 0, false) }}} {
		b.Run(f.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(page)))
			for b.Loop() {
				f.fn(page)
			}
		})
	}
}

// BenchmarkASCIIFunctions: the same over ASCII texts (most added lines and
// summaries are), a page and a line of it, as they are and already in the
// function's case, which then comes back unchanged.
func BenchmarkASCIIFunctions(b *testing.B) {
	page := strings.ReplaceAll(testPage(b), " – ", " - ")
	line := page[:200]
	for _, f := range []struct {
		name string
		fn   func(string) string
	}{{"Lower", Lower}, {"Upper", Upper}} {
		for _, in := range []struct{ name, text string }{
			{"page", page}, {"line", line}, {"page-done", f.fn(page)}, {"line-done", f.fn(line)},
		} {
			b.Run(f.name+"/"+in.name, func(b *testing.B) {
				b.SetBytes(int64(len(in.text)))
				for b.Loop() {
					f.fn(in.text)
				}
			})
		}
	}
}

func testPage(b *testing.B) string {
	raw, err := os.ReadFile("../../../shared/testdata/abusefilter/real-filters-verdicts.json")
	if err != nil {
		b.Fatal(err)
	}
	var vf struct {
		Varsets map[string]map[string]any `json:"varsets"`
	}
	if err := json.Unmarshal(raw, &vf); err != nil {
		b.Fatal(err)
	}
	var para strings.Builder
	for _, vars := range vf.Varsets {
		if s, ok := vars["new_wikitext"].(string); ok {
			para.WriteString(s + " – ")
		}
	}
	return strings.Repeat(para.String(), 30<<10/para.Len()+1)
}
