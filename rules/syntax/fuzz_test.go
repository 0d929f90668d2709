package syntax

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// seedRules adds the real filters and the upstream parser-test programs to
// a fuzz corpus, plus inputs that stress the limits.
func seedRules(f *testing.F) {
	f.Helper()
	const dir = "../../../shared/testdata/abusefilter"
	b, err := os.ReadFile(filepath.Join(dir, "real-filters.jsonl"))
	if err != nil {
		f.Fatalf("read the seed corpus (CI has it at ../shared/testdata): %v", err)
	}
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r struct{ Pattern string }
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			f.Fatal(err)
		}
		f.Add(r.Pattern)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "parser-tests*", "*.t"))
	for _, path := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	for _, s := range []string{
		"", "(", ")", "\"", "'\\", "/*", "/*/", "1.e", "0x", "0b2", "1e999", "a := ", "if then else end",
		strings.Repeat("(", 5000) + "1" + strings.Repeat(")", 5000),
		strings.Repeat("!", 5000) + "1",
		strings.Repeat("-", 5000) + "1",
		strings.Repeat("[", 3000),
		strings.Repeat("a & ", 10000) + "a",
		"\xff\xfe\"\x80\"", "\"\\u{110000}\"", "'\\xZZ'",
	} {
		f.Add(s)
	}
}

// FuzzScan: the scanner never panics, ends with EOF, and its tokens lie
// in order inside the source.
func FuzzScan(f *testing.F) {
	seedRules(f)
	f.Fuzz(func(t *testing.T, src string) {
		toks, err := scanAll(src, nil)
		if err != nil {
			checkError(t, src, err)
			return
		}
		if len(toks) == 0 || toks[len(toks)-1].tok != EOF {
			t.Fatalf("no EOF token at the end of %q", src)
		}
		prev := Pos(0)
		for _, tk := range toks {
			if tk.start < prev || tk.pos < tk.start || tk.end < tk.pos || int(tk.end) > len(src) {
				t.Fatalf("token %v at %d..%d (start %d) out of order after %d in %q", tk.tok, tk.pos, tk.end, tk.start, prev, src)
			}
			prev = tk.end
		}
	})
}

// FuzzParseCheck: the parser and the checker never panic, and every error
// points inside the source with an AbuseFilter error id.
func FuzzParseCheck(f *testing.F) {
	seedRules(f)
	f.Fuzz(func(t *testing.T, src string) {
		file, err := Parse(src)
		if err != nil {
			checkError(t, src, err)
			return
		}
		if file.Root != nil && (file.Root.Pos() < 0 || int(file.Root.End()) > len(src)) {
			t.Fatalf("root spans %d..%d outside %d bytes", file.Root.Pos(), file.Root.End(), len(src))
		}
		for _, mode := range []CheckMode{Conservative, Liberal} {
			if err := Check(file, CheckOptions{Mode: mode, UnusedVars: true}); err != nil {
				checkError(t, src, err)
			}
		}
	})
}

func checkError(t *testing.T, src string, err *Error) {
	t.Helper()
	if err.Code == "" || err.Code == ErrInternal {
		t.Fatalf("error without a proper id: %+v", err)
	}
	if err.Pos < 0 || int(err.Pos) > len(src) || err.Offset < 0 || err.Offset > len(src)+1 {
		t.Fatalf("error %q at %d (offset %d) outside %d bytes", err.Msg, err.Pos, err.Offset, len(src))
	}
	msg := err.Format(src)
	if !utf8.ValidString(msg) && utf8.ValidString(src) {
		t.Fatalf("message is not UTF-8: %q", msg)
	}
	if !strings.Contains(msg, "("+err.Code+")") {
		t.Fatalf("message %q lacks the id %s", msg, err.Code)
	}
}
