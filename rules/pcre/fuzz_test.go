package pcre

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzRegex compiles any pattern and runs it over any subject: no panic,
// no hang (the step limit holds), the engines agree, and the required
// literals are sound.
func FuzzRegex(f *testing.F) {
	for _, s := range []struct{ pat, subject string }{
		{`(a+)+$`, strings.Repeat("a", 40) + "b"},
		{`(x+x+)+y`, strings.Repeat("x", 30)},
		{`\bf(u|v)ck\b`, "what the fuck"},
		{`(?<!\bit )\bwas here\b`, "it was here, he was here"},
		{`(([asdfghjkl;])(?!\1)\s*){30}`, "asdfasdfasdfasdfasdfasdfasdfasdfasdf"},
		{`(?i)ÉCOLE|straße`, "école STRASSE"},
		{`^\p{Lu}{3,}\X?$`, "ABC"},
		{`(?|(a)|(b))\1`, "bb"},
		{`(?(?=a)ab|cd)`, "cd"},
		{`[[:alpha:]]+\K\d`, "abc1"},
		{`a{2,}?+`, "aaaa"},
		{`(?P<n>x)(?P=n)`, "xx"},
		{`\x{10FFFF}|\N|\R|\h\v`, "\r\n"},
		{`(|)\1`, "0"},
		{`(?J)(?:(?<n>a)|(?<n>b))\k<n>`, "bb"},
		{`\b(fu+c+k|bitch(?!es))\b`, "fuuuck"},
		{`<\/?ref>|https?:\/\/`, "<ref>https://x</ref>"},
		{`(ab|ba)`, "ababa"},
		{`(<ref\b)`, "<ref name=a><refs><ref>é<refé"},
	} {
		f.Add(s.pat, s.subject, false)
		f.Add(s.pat, s.subject, true)
	}
	f.Fuzz(func(t *testing.T, pat, subject string, caseless bool) {
		if len(subject) > 2000 || len(pat) > 2000 {
			return
		}
		re, err := Compile(pat, caseless)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("compile error without a message")
			}
			return
		}
		lim := Limits{Steps: 200000}
		if !utf8.ValidString(subject) {
			if _, err := re.Match(subject, lim); err != ErrBadUTF8 {
				t.Fatalf("invalid UTF-8 subject gave %v, want ErrBadUTF8", err)
			}
			return
		}
		caps, err := re.exec(subject, 0, 0, false, lim)
		if err != nil {
			return // the step limit: PHP gives up too
		}
		want := caps != nil
		if want {
			for i := 0; i < len(caps); i += 2 {
				if caps[i] > caps[i+1] && caps[i+1] != -1 || caps[i+1] > len(subject) {
					t.Fatalf("group %d spans %d..%d in %d bytes", i/2, caps[i], caps[i+1], len(subject))
				}
			}
		}
		if d := re.lazyDFA(); d != nil {
			if got := d.match(subject); got != want {
				t.Fatalf("DFA %q on %q = %v, backtracker %v", pat, subject, got, want)
			}
		}
		if r := re.fast(subject); r != nil {
			if got := r.MatchString(subject); got != want {
				t.Fatalf("RE2 %q on %q = %v, backtracker %v", pat, subject, got, want)
			}
		}
		if d := re.relaxedDFA(); d != nil && want && !d.match(subject) {
			t.Fatalf("relaxed DFA %q misses %q", pat, subject)
		}
		if lits := re.Literals(); want && lits.Any != nil {
			s := subject
			if lits.Fold {
				s = FoldString(s)
			}
			found := false
			for _, l := range lits.Any {
				found = found || strings.Contains(s, l)
			}
			if !found {
				t.Fatalf("%q matches %q without any of its literals %q", pat, subject, lits.Any)
			}
		}
		if got, err := re.Match(subject, lim); err == nil && got != want {
			t.Fatalf("Match %q on %q = %v, want %v", pat, subject, got, want)
		}
		if _, fold := re.ExactStrings(); fold && re.MatchFolded(FoldString(subject)) != want {
			t.Fatalf("MatchFolded %q on %q = %v, want %v", pat, subject, !want, want)
		}
		n, err := re.Count(subject, lim)
		if err != nil && err != ErrLimit {
			t.Fatalf("Count: %v", err)
		}
		// Counted without a regex engine or by RE2: the backtracker must
		// agree (countByExec steps over matches, so none may be empty).
		if re.minLen > 0 && err == nil {
			if m, err := countByExec(re, subject, lim); err == nil && m != n {
				t.Fatalf("Count %q on %q = %d, backtracker %d", pat, subject, n, m)
			}
		}
		if _, err := re.ReplaceAll(subject, "<$0\\1${2}>", lim); err != nil && err != ErrLimit {
			t.Fatalf("ReplaceAll: %v", err)
		}
	})
}
