package syntax_test

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/vigilwiki/vigil/rules/syntax"
)

const shared = "../../../shared/testdata/abusefilter"

// TestParseCorpusPrograms parses and checks every upstream parser-test
// program; all of them are valid.
func TestParseCorpusPrograms(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(shared, "parser-tests*", "*.t"))
	if len(files) != 76 {
		t.Fatalf("found %d parser-test programs, want 76", len(files))
	}
	for _, path := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		f, perr := syntax.Parse(string(src))
		if perr != nil {
			t.Errorf("%s: %s", filepath.Base(path), perr.Format(string(src)))
			continue
		}
		if cerr := syntax.Check(f, syntax.CheckOptions{}); cerr != nil {
			t.Errorf("%s: %s", filepath.Base(path), cerr.Format(string(src)))
		}
	}
}

// TestRealFilterSyntaxVerdicts compares the static verdict on the 450 real
// filters with MediaWiki 1.39's abusefilterchecksyntax.
func TestRealFilterSyntaxVerdicts(t *testing.T) {
	fh, err := os.Open(filepath.Join(shared, "real-filters.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	for sc.Scan() {
		var row struct {
			Wiki    string `json:"wiki"`
			ID      int    `json:"af_id"`
			Pattern string `json:"pattern"`
			Verdict struct {
				Status  string `json:"status"`
				Message string `json:"message"`
			} `json:"checksyntax_mw_1_39"`
		}
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			t.Fatal(err)
		}
		n++
		f, perr := syntax.Parse(row.Pattern)
		var got *syntax.Error = perr
		if perr == nil {
			got = syntax.Check(f, syntax.CheckOptions{})
		}
		wantOK := row.Verdict.Status == "ok"
		if (got == nil) != wantOK {
			msg := "ok"
			if got != nil {
				msg = got.Format(row.Pattern)
			}
			t.Errorf("%s %d: got %s, want %s %s", row.Wiki, row.ID, msg, row.Verdict.Status, row.Verdict.Message)
		}
		if got != nil {
			// AbuseFilter reports "at character N"; our Offset must agree.
			_, after, ok := strings.Cut(row.Verdict.Message, "at character ")
			want, _ := strconv.Atoi(strings.TrimSuffix(after, "."))
			if !ok || got.Offset != want {
				t.Errorf("%s %d: offset %d, AbuseFilter says %q", row.Wiki, row.ID, got.Offset, row.Verdict.Message)
			}
		}
	}
	if n != 450 {
		t.Fatalf("read %d filters, want 450", n)
	}
}
