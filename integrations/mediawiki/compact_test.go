package mediawiki_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/vigilwiki/vigil"
	"github.com/vigilwiki/vigil/internal/mwtest"
)

// compactScript encodes actions as the extension's Client does
// (Client::encode, with PayloadBuilder::compactTexts), one a line: each
// input line is an old text, a new text and a pre-save-transformed text in
// base64, which may hold any bytes.
const compactScript = `<?php
require $argv[1] . '/PayloadBuilder.php';
require $argv[1] . '/Client.php';
use MediaWiki\Extension\Vigil\Client;
while ( ( $line = fgets( STDIN ) ) !== false ) {
	[ $old, $new, $pst ] = explode( ',', rtrim( $line, "\n" ) );
	echo Client::encode( [ 'old_wikitext' => base64_decode( $old ), 'new_wikitext' => base64_decode( $new ),
		'new_pst' => base64_decode( $pst ) ] ), "\n";
}
`

// TestCompactOldText: the extension's old_wikitext_delta stands for the
// old text exactly (and its new_pst_delta for new_pst, here the new text
// signed) (Vigil's checks accept it and resolve it to the old
// text), is sent when it leaves out at least half of the old text and only
// then, and is cut at character boundaries of texts whose shared bytes stop
// inside a character; texts that are not valid UTF-8 go whole. Pages of
// several blocks check the extension's block-wise comparison.
func TestCompactOldText(t *testing.T) {
	mwtest.Require(t)
	r := rand.New(rand.NewPCG(3, 4))
	alphabet := []string{"a", "b", "\n", "é", "è", "€", "ℤ", "😀", "😁", "\"", "\\"}
	text := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		return b.String()
	}
	type pair struct{ old, new string }
	page := strings.Repeat("A line of the article, with ü and 😀.\n", 300)
	cut := func(i int) int { return strings.LastIndexByte(page[:i], '\n') + 1 } // a line's start near i
	pairs := []pair{
		{page + "old end", page + "new end"},
		{page[:cut(5000)] + "old" + page[cut(5000):], page[:cut(5000)] + "new, longer" + page[cut(5000):]},
		{page[:cut(4096)] + "x" + page[cut(4096):], page},
		{"ab\xffcdefgh", "ab\xffcdefgX"}, // not UTF-8: whole
		{"abcdefgh\xc3", "abcdefgh"},
		{page + "\xff", page},
		{"Grüße aus Köln", "Grüsse aus Köln"},
		{"😀😀", "😀😁"},
		{page, "hi"}, // blanking: sent whole
		{"", page},   // a new page
		{"same", "same"},
	}
	for range 2000 {
		base := text(r.IntN(20))
		cut := r.IntN(len([]rune(base)) + 1)
		rs := []rune(base)
		pairs = append(pairs, pair{string(rs[:cut]) + text(r.IntN(4)) + string(rs[cut:]), base})
	}
	var in bytes.Buffer
	pst := func(p pair) string { return p.new + "[[User:Example|Example]]" }
	for _, p := range pairs {
		in.WriteString(base64.StdEncoding.EncodeToString([]byte(p.old)) + "," + base64.StdEncoding.EncodeToString([]byte(p.new)) +
			"," + base64.StdEncoding.EncodeToString([]byte(pst(p))) + "\n")
	}
	script := filepath.Join(t.TempDir(), "compact.php")
	if err := os.WriteFile(script, []byte(compactScript), 0o600); err != nil {
		t.Fatal(err)
	}
	ext, _ := filepath.Abs("Vigil/includes")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a loop that never ends fails, not hangs
	defer cancel()
	cmd := exec.CommandContext(ctx, "php", script, ext)
	cmd.Stdin = &in
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("php: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(pairs) {
		t.Fatalf("%d answers for %d actions", len(lines), len(pairs))
	}
	deltas := 0
	for i, p := range pairs {
		var a vigil.Action
		if err := json.Unmarshal([]byte(lines[i]), &a); err != nil {
			t.Fatalf("%q: %v", lines[i], err)
		}
		want := vigil.DeltaFrom(p.old, p.new)
		valid := utf8.ValidString(p.old) && utf8.ValidString(p.new)
		useful := valid && p.old != "" && 2*len(want.Middle) <= len(p.old)
		if (a.OldWikitextDelta != nil) != useful {
			t.Fatalf("old %q, new %q: sent %s; a delta is useful: %v", p.old, p.new, lines[i], useful)
		}
		if a.OldWikitextDelta != nil {
			deltas++
			if *a.OldWikitextDelta != want {
				t.Errorf("old %q, new %q: the extension's delta %+v, Vigil's %+v", p.old, p.new, *a.OldWikitextDelta, want)
			}
		}
		wantPST := vigil.DeltaFrom(pst(p), p.new)
		usefulPST := valid && 2*len(wantPST.Middle) <= len(pst(p))
		if (a.NewPSTDelta != nil) != usefulPST {
			t.Fatalf("new %.80q, pst %.80q: sent %.200s; a delta is useful: %v", p.new, pst(p), lines[i], usefulPST)
		}
		if a.NewPSTDelta != nil && *a.NewPSTDelta != wantPST {
			t.Errorf("new %.80q, pst %.80q: the extension's delta %+v, Vigil's %+v", p.new, pst(p), *a.NewPSTDelta, wantPST)
		}
		a.Wiki, a.Action, a.Performer, a.Page = "w", vigil.ActionEdit, vigil.Performer{Name: "192.0.2.1", Type: "ip"}, &vigil.Page{Title: "T"}
		a.Group = vigil.DefaultGroup
		if err := a.Validate(); err != nil {
			t.Fatalf("old %q, new %q: sent %s, which Vigil refuses: %v", p.old, p.new, lines[i], err)
		}
		if !valid {
			continue // sent whole (checked above), its bad bytes replaced: as before deltas
		}
		if *a.OldWikitext != p.old {
			t.Fatalf("old %q, new %q: sent %s, which stands for %q", p.old, p.new, lines[i], *a.OldWikitext)
		}
		if *a.NewPST != pst(p) {
			t.Fatalf("new %.80q, pst %.80q: sent %.200s, which stands for %.80q", p.new, pst(p), lines[i], *a.NewPST)
		}
	}
	if deltas < len(pairs)/4 {
		t.Fatalf("only %d of %d actions sent a delta", deltas, len(pairs))
	}
}
