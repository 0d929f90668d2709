package pcre

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os/exec"
	"testing"

	"github.com/vigilwiki/vigil/internal/aforacle"
)

// phpPreg answers, for each {"p": pattern, "s": subject} line, what PHP's
// preg functions say: the match and its groups' byte offsets, the
// preg_match_all count, and preg_replace with a fixed replacement.
const phpPreg = `error_reporting(E_ERROR);
ini_set('pcre.jit', '0');
while (($line = fgets(STDIN)) !== false) {
	$q = json_decode($line, true);
	$r = @preg_match($q['p'], $q['s'], $m, PREG_OFFSET_CAPTURE | PREG_UNMATCHED_AS_NULL);
	if ($r === false) {
		echo json_encode(['error' => preg_last_error()]), "\n";
		continue;
	}
	$caps = [];
	foreach ($m as $k => $g) {
		if (is_int($k)) {
			$caps[] = $g[0] === null ? -1 : $g[1];
			$caps[] = $g[0] === null ? -1 : $g[1] + strlen($g[0]);
		}
	}
	$n = preg_match_all($q['p'], $q['s']);
	$rep = preg_replace($q['p'], '<$0>', $q['s']);
	echo json_encode(['match' => $r, 'caps' => $caps, 'count' => $n, 'replaced' => $rep], JSON_INVALID_UTF8_SUBSTITUTE), "\n";
}`

type pregAnswer struct {
	Error    *int
	Match    int
	Caps     []int
	Count    int
	Replaced string
}

// TestMatchesPHP compares the engine with PHP 8.2's PCRE2 (JIT off, as
// the backtracking limits apply then) on random patterns and subjects, and
// on cases where PCRE2's rules are easy to get wrong.
func TestMatchesPHP(t *testing.T) {
	type pair struct{ pattern, subject string }
	cases := []pair{
		{`/\p{Lu}/iu`, "a"}, {`/[\p{Lu}]/iu`, "a"}, {`/[[:upper:]]/iu`, "a"}, {`/[[:lower:]]/iu`, "A"},
		{`/[^\p{Lu}]/iu`, "a"}, {`/[\p{Ll}x]/iu`, "X"}, {`/[A-Z]/iu`, "\u212a"}, {`/\w/iu`, "\u212a"},
		{`/(?|(a)|(b))\1/u`, "bb"}, {`/(?J)(?:(?<n>a)|(?<n>b))\k<n>/u`, "bb"}, {`/(|)\1/u`, "0"},
		{`/\bé/u`, "café é"}, {`/ß/iu`, "SS ẞ"}, {`/[^\x{100}-\x{10FFFF}]+/u`, "aé\u0100b"},
		{`/\p{Cn}/u`, "a\u0378"}, {`/(?i)straße/u`, "STRASSE Straße"}, {`/a\Kb/u`, "ab"},
		{`/(?<=\bit )was/u`, "it was"}, {`/x*/u`, "aaa"}, {`/$/u`, "a\n"}, {`/^$/mu`, "a\n\nb"},
	}
	r := rand.New(rand.NewPCG(21, 22))
	n := 2000
	if testing.Short() {
		n = 300
	}
	for range n {
		pat := genPattern(r, 0)
		mods := "u"
		if r.IntN(4) == 0 {
			mods = "iu"
		}
		cases = append(cases, pair{"/" + Munge(pat) + "/" + mods, genSubject(r)})
	}
	var in bytes.Buffer
	for _, c := range cases {
		b, _ := json.Marshal(map[string]string{"p": c.pattern, "s": c.subject})
		in.Write(append(b, '\n'))
	}
	cmd := exec.Command(aforacle.PHP(t), "-r", phpPreg)
	cmd.Stdin = &in
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("php: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	failures := 0
	for i := 0; dec.More(); i++ {
		var want pregAnswer
		if err := dec.Decode(&want); err != nil {
			t.Fatal(err)
		}
		c := cases[i]
		re, err := CompilePHP(c.pattern)
		if err != nil {
			if want.Error == nil && want.Match >= 0 {
				// PHP compiled it (or failed at run time): a difference.
				failures++
				t.Errorf("%s: Vigil does not compile it (%v), PHP does", c.pattern, err)
			}
			continue
		}
		if want.Error != nil {
			continue // PHP hit a limit; Vigil may answer
		}
		lim := Limits{}
		caps, err := re.FindSubmatchIndex(c.subject, lim)
		got := pregAnswer{Caps: []int{}}
		if caps != nil {
			got.Match = 1
			got.Caps = caps
		}
		ok, _ := re.Match(c.subject, lim)
		got.Count, _ = re.Count(c.subject, lim)
		got.Replaced, _ = re.ReplaceAll(c.subject, "<$0>", lim)
		if err != nil || ok != (want.Match == 1) || got.Match != want.Match || !equalInts(got.Caps, want.Caps) ||
			got.Count != want.Count || got.Replaced != want.Replaced {
			failures++
			t.Errorf("%s on %q:\n  Vigil match %v/%v caps %v count %d replaced %q (err %v)\n  PHP   match %v caps %v count %d replaced %q",
				c.pattern, c.subject, ok, got.Match, got.Caps, got.Count, got.Replaced, err, want.Match, want.Caps, want.Count, want.Replaced)
		}
		if failures > 20 {
			t.Fatal("too many differences")
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
