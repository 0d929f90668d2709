package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const shared = "../../../shared/testdata/abusefilter"

// run calls Main as the vigil binary would be called.
func run(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Main(context.Background(), Env{
		Args: args, Getenv: func(string) string { return "" },
		Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut,
	})
	return out.String(), errOut.String(), code
}

func TestRulesEval(t *testing.T) {
	tests := []struct {
		args []string
		want string
		code int
	}{
		// Values follow PHP: int overflow goes to float, arrays join with
		// newlines when added to a string, short-circuit returns a bool.
		{[]string{"1 + 1"}, "2 (int)\n", 0},
		{[]string{"9223372036854775807 + 1"}, "9223372036854776000 (float)\n", 0},
		{[]string{`"a" + [1, 2]`}, `"a1\n2\n" (string)` + "\n", 0},
		{[]string{`lcase("ÉCOLE") rlike "^é"`}, "true (bool)\n", 0},
		{[]string{`ccnorm("Ｖ1agra")`}, `"VIAGRA" (string)` + "\n", 0},
		{[]string{`[1, "2"] === [1, "2"]`}, "true (bool)\n", 0},
		{[]string{"10.0 ** 400"}, `"INF" (float)` + "\n", 0},
		{[]string{"user_name", "--vars", `{"user_name": "Foo"}`}, `"Foo" (string)` + "\n", 0},
		{[]string{"edit_delta", "--vars", `{"old_wikitext": "ab", "new_wikitext": "abcd"}`}, "2 (int)\n", 0},
		{[]string{"1 +"}, "1:4: unexpected end of input (unexpectedtoken)\n", 1},
		{[]string{"a := 1;\n1/0"}, "2:2: division by zero (dividebyzero)\n", 1},
	}
	for _, tt := range tests {
		out, errOut, code := run(t, "", append([]string{"rules", "eval"}, tt.args...)...)
		if out != tt.want || code != tt.code {
			t.Errorf("eval %q: %q (exit %d, stderr %q), want %q (exit %d)", tt.args, out, code, errOut, tt.want, tt.code)
		}
	}
}

func TestRulesEvalBadUsage(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr string
	}{
		{[]string{"rules", "eval"}, "give an expression"},
		{[]string{"rules", "eval", "1", "--vars", `{"user_name": }`}, "--vars"},
		{[]string{"rules", "eval", "1", "--vars", `{"no_such_var": 1}`}, "no_such_var"},
		{[]string{"rules", "eval", "--jsonl", "1"}, "give no argument"},
		{[]string{"rules", "nope"}, `unknown command "nope"`},
		{[]string{"rules", "check", "/no/such/file"}, "no such file"},
		{[]string{"rules", "bench"}, "--filters and --varsets"},
	}
	for _, tt := range tests {
		out, errOut, code := run(t, "", tt.args...)
		if code != 2 || !strings.Contains(errOut, tt.wantErr) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 and %q", tt.args, code, out, errOut, tt.wantErr)
		}
	}
}

func TestRulesEvalJSONL(t *testing.T) {
	in := strings.Join([]string{
		`{"expr": "1/0"}`,
		`{"expr": "x + 1"}`,
		`{"expr": "added_lines", "vars": {"old_wikitext": "a\nb", "new_wikitext": "a\nc\nd"}}`,
		`{"expr": "[1.5, null, true]"}`,
		`not json`,
		`{"expr": "1", "extra": 1}`,
		`{"expr": "user_groups", "vars": {"user_groups": {"a": 1}}}`,
		``,
		`{"expr": "\"x\" rlike \"(\""}`,
	}, "\n")
	out, _, code := run(t, in, "rules", "eval", "--jsonl")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	want := []struct {
		value, typ, err string
		msg             string
	}{
		{"null", "null", `"dividebyzero"`, ""},
		{"null", "null", `"unrecognisedvar"`, ""},
		{`["c","d"]`, `"array"`, "null", ""},
		{`[1.5,null,true]`, `"array"`, "null", ""},
		{"null", "null", `"invalidinput"`, "line 5"},
		{"null", "null", `"invalidinput"`, `unknown field "extra"`},
		{"null", "null", `"invalidinput"`, "user_groups"},
		{"null", "null", `"regexfailure"`, ""},
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines for %d inputs (the empty line is skipped):\n%s", len(lines), len(want), out)
	}
	for i, w := range want {
		var got map[string]json.RawMessage
		if err := json.Unmarshal([]byte(lines[i]), &got); err != nil {
			t.Fatalf("line %d: %v: %s", i+1, err, lines[i])
		}
		if string(got["value"]) != w.value || string(got["type"]) != w.typ || string(got["error"]) != w.err {
			t.Errorf("line %d: %s; want value %s, type %s, error %s", i+1, lines[i], w.value, w.typ, w.err)
		}
		var msg string
		_ = json.Unmarshal(got["message"], &msg)
		if w.msg != "" && !strings.Contains(msg, w.msg) {
			t.Errorf("line %d: message %s lacks %q", i+1, got["message"], w.msg)
		}
	}
	if code != 1 {
		t.Errorf("exit %d, want 1 after invalid input lines", code)
	}
}

func TestRulesMatchJSONL(t *testing.T) {
	in := strings.Join([]string{
		`{"rule": "user_name == \"X\" & edit_delta > 0", "vars": {"user_name": "X", "old_wikitext": "", "new_wikitext": "hello"}}`,
		`{"rule": "user_name == \"X\"", "vars": {"user_name": "Y"}}`,
		`{"rule": "page_title rlike \"(\"", "vars": {"page_title": "x"}}`,
		`{"rule": "nonexistent_var"}`,
		`{"rule": "user_editcount > 10 | undefined_thing"}`,
		`{"vars": {}}`,
	}, "\n")
	out, _, code := run(t, in, "rules", "match", "--jsonl")
	want := []string{
		`{"match":true,"error":null}`,
		`{"match":false,"error":null}`,
		`{"match":false,"error":"regexfailure"}`,
		`{"match":false,"error":"unrecognisedvar"}`,
		`{"match":false,"error":"unrecognisedvar"}`,
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 6 {
		t.Fatalf("got %d lines, want 6:\n%s", len(lines), out)
	}
	for i, w := range want {
		if lines[i] != w {
			t.Errorf("line %d: %s, want %s", i+1, lines[i], w)
		}
	}
	if !strings.Contains(lines[5], `"invalidinput"`) || !strings.Contains(lines[5], "rule") {
		t.Errorf("line 6: %s, want invalidinput naming the missing rule", lines[5])
	}
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
}

func TestRulesCheck(t *testing.T) {
	tests := []struct {
		src, want string
		code      int
	}{
		{"a := 1; a + 1", "", 0},
		{"a := 1;\n b := (\n", "3:1: expected \")\", found end of input (expectednotfound)\n", 1},
		{"1 +\n\n  nosuchfunc(1)", "3:3: unknown function nosuchfunc (unknownfunction)\n", 1},
		{"x rlike \"(\"", "1:1: unknown variable x (unrecognisedvar)\n", 1},
		{"added_lines rlike \"(\"", "1:13: invalid regular expression: regex error at offset 1: missing closing parenthesis (regexfailure)\n", 1},
		{"article_text", "", 0},
	}
	for _, tt := range tests {
		out, errOut, code := run(t, tt.src, "rules", "check")
		if out != tt.want || code != tt.code {
			t.Errorf("check %q: %q (exit %d, stderr %q), want %q (exit %d)", tt.src, out, code, errOut, tt.want, tt.code)
		}
	}
	// From a file, and as JSON with AbuseFilter's character offset.
	path := filepath.Join(t.TempDir(), "rule.txt")
	if err := os.WriteFile(path, []byte("é & (\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, code := run(t, "", "rules", "check", "--json", path)
	var got struct {
		OK    bool
		Error struct {
			ID           string
			Line, Column int
			Character    int
		}
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != 1 || got.OK || got.Error.ID == "" || got.Error.Line != 1 || got.Error.Column != 1 {
		t.Errorf("check --json: %s (exit %d, %v)", out, code, err)
	}
}

// TestRulesBench runs the real 450 filters (6 fail the 1.39 syntax check)
// over the 6 real variable sets; the condition counts are the real
// AbuseFilter's for the same run, the matches come from the verdict file.
func TestRulesBench(t *testing.T) {
	filters, varsets := filepath.Join(shared, "real-filters.jsonl"), filepath.Join(shared, "real-filters-verdicts.json")
	out, errOut, code := run(t, "", "rules", "bench", "--filters", filters, "--varsets", varsets, "--json", "--passes", "3", "--warmup", "1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if n := strings.Count(errOut, "left out"); n != 6 {
		t.Errorf("%d filters reported as left out, want 6:\n%s", n, errOut)
	}
	var got struct {
		CompileMS float64 `json:"compile_ms"`
		Filters   int
		Varsets   map[string]struct {
			MedianUS   float64 `json:"median_us"`
			P99US      float64 `json:"p99_us"`
			Conditions int
			Matches    int
		}
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(varsets)
	if err != nil {
		t.Fatal(err)
	}
	var verdicts struct {
		Results []struct{ Results map[string]bool }
	}
	if err := json.Unmarshal(b, &verdicts); err != nil {
		t.Fatal(err)
	}
	conds := map[string]int{
		"ip_adds_casino_link": 1232, "ip_blanks_article": 1193, "ip_adds_profanity_caps": 1246,
		"ip_removes_refs": 1236, "newuser_creates_spam_userpage": 852, "autoconfirmed_normal_edit": 818,
	}
	if got.Filters != 444 || got.CompileMS <= 0 || len(got.Varsets) != len(conds) {
		t.Fatalf("%d filters, compile %v ms, %d varsets", got.Filters, got.CompileMS, len(got.Varsets))
	}
	for name, c := range conds {
		matches := 0
		for _, r := range verdicts.Results {
			if r.Results[name] {
				matches++
			}
		}
		v := got.Varsets[name]
		if v.Conditions != c || v.Matches != matches || v.MedianUS <= 0 || v.P99US < v.MedianUS {
			t.Errorf("%s: %+v; want %d conditions, %d matches", name, v, c, matches)
		}
	}
}

// TestRulesBenchTop: --top names the filters by their share of the time,
// with each one's conditions per action (AbuseFilter's counts, worked out
// by hand below), the variable sets it matched and its error.
func TestRulesBenchTop(t *testing.T) {
	dir := t.TempDir()
	filters := filepath.Join(dir, "f.jsonl")
	varsets := filepath.Join(dir, "v.json")
	rows := `{"wiki": "w", "af_id": 1, "pattern": "user_name == \"A\""}
{"wiki": "w", "af_id": 2, "pattern": "user_name == \"A\" & user_editcount > 5"}
{"wiki": "w", "af_id": 3, "pattern": "rcount(\"x\", user_name) > 0 | length(user_name) > 100"}
{"wiki": "w", "af_id": 4, "pattern": "user_editcount / 0 > 1"}
`
	if err := os.WriteFile(filters, []byte(rows), 0o644); err != nil {
		t.Fatal(err)
	}
	sets := `{"varsets": {"a": {"user_name": "A", "user_editcount": 10}, "b": {"user_name": "Bx", "user_editcount": 1}}}`
	if err := os.WriteFile(varsets, []byte(sets), 0o644); err != nil {
		t.Fatal(err)
	}
	// Conditions per action, the mean of a and b: w/1 one comparison; w/2
	// one comparison, and a second where the first is true (a); w/3 in a
	// rcount, > 0, length and > 100 (no x in "A"), in b rcount and > 0,
	// which decides the |; w/4 fails in the division, before its
	// comparison counts.
	want := map[string]FilterCost{
		"w/1": {Conditions: 1, Matched: []string{"a"}},
		"w/2": {Conditions: 1.5, Matched: []string{"a"}},
		"w/3": {Conditions: 3, Matched: []string{"b"}},
		"w/4": {Conditions: 0, Error: "dividebyzero"},
	}
	bench := func(args ...string) BenchResult {
		t.Helper()
		args = append([]string{"rules", "bench", "--filters", filters, "--varsets", varsets, "--passes", "20", "--warmup", "2", "--json"}, args...)
		out, errOut, code := run(t, "", args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		var res BenchResult
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		return res
	}
	res := bench("--top", "10")
	if len(res.Costliest) != len(want) {
		t.Fatalf("%d filters listed, want all %d: %+v", len(res.Costliest), len(want), res.Costliest)
	}
	total := 0.0
	for i, c := range res.Costliest {
		w, ok := want[c.ID]
		if !ok {
			t.Errorf("unknown or repeated filter %q", c.ID)
			continue
		}
		delete(want, c.ID)
		if c.Conditions != w.Conditions || !slices.Equal(c.Matched, w.Matched) || c.Error != w.Error {
			t.Errorf("%s: conditions %v, matched %v, error %q; want %v, %v, %q", c.ID, c.Conditions, c.Matched, c.Error, w.Conditions, w.Matched, w.Error)
		}
		if c.Share < 0 || c.Share > 1 || c.MeanUS < 0 || i > 0 && c.Share > res.Costliest[i-1].Share {
			t.Errorf("%s: share %v, %v µs: out of range or out of order", c.ID, c.Share, c.MeanUS)
		}
		total += c.Share
	}
	if math.Abs(total-1) > 1e-9 {
		t.Errorf("the shares of all filters add up to %v", total)
	}
	if res := bench("--top", "2"); len(res.Costliest) != 2 {
		t.Errorf("--top 2 listed %d filters", len(res.Costliest))
	}
	if res := bench(); res.Costliest != nil {
		t.Errorf("without --top: %+v", res.Costliest)
	}
	out, _, code := run(t, "", "rules", "bench", "--filters", filters, "--varsets", varsets, "--passes", "2", "--top", "3")
	if code != 0 || !strings.Contains(out, "3 costliest filters") || strings.Count(out, "w/") != 3 {
		t.Errorf("text output (exit %d):\n%s", code, out)
	}
	if _, errOut, code := run(t, "", "rules", "bench", "--filters", filters, "--varsets", varsets, "--top", "-1"); code != 2 || !strings.Contains(errOut, "--top") {
		t.Errorf("--top -1: exit %d, %q; want exit 2 naming --top", code, errOut)
	}
}

func TestRulesBenchBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.json", `{"varsets": {"a": {"user_name": "X"}}}`)
	filters := write("f.jsonl", `{"wiki": "w", "af_id": 1, "pattern": "user_name == \"X\""}`+"\n")
	tests := []struct {
		filters, varsets, want string
	}{
		{write("bad.jsonl", "{\"pattern\": 1}\n"), good, "line 1"},
		{write("bad2.jsonl", "{\"wiki\": \"w\", \"af_id\": 1, \"pattern\": \"1\"}\n{oops\n"), good, "line 2"},
		{filters, write("bad.json", `{"varsets": {"a": {"user_name": {"x": 1}}}}`), "user_name"},
		{filters, write("bad2.json", `{"varsets": `), "varsets"},
		{filters, write("bad3.json", "{\"varsets\": {\n  \"a\": {\"user_name\": \"X\"},\n  \"b\": {\"user_name\": \"Y\",}\n}}"), "line 3, column 26"},
		{filters, write("bad4.json", "{\"varsets\": {\n  \"a\": {\"user_name\": \"X\"}"), "line 2, column 26"},
		{filters, write("bad5.json", `{"varsets": [1, 2]}`), `"varsets" is not an object`},
	}
	for _, tt := range tests {
		_, errOut, code := run(t, "", "rules", "bench", "--filters", tt.filters, "--varsets", tt.varsets, "--passes", "1")
		if code != 2 || !strings.Contains(errOut, tt.want) {
			t.Errorf("bench %s %s: exit %d, %q; want exit 2 mentioning %q", tt.filters, tt.varsets, code, errOut, tt.want)
		}
	}
	out, errOut, code := run(t, "", "rules", "bench", "--filters", filters, "--varsets", good, "--passes", "2", "--warmup", "0", "--json")
	if code != 0 || !strings.Contains(out, `"matches":1`) {
		t.Errorf("bench: exit %d, %s %s", code, out, errOut)
	}
}
