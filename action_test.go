package vigil_test

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/vigilwiki/vigil"
)

// edit returns a valid edit with the given texts and delta.
func edit(old, new *string, d *vigil.TextDelta) *vigil.Action {
	a := &vigil.Action{Wiki: "enwiki", Action: vigil.ActionEdit, Performer: vigil.Performer{Name: "192.0.2.1"},
		Page: &vigil.Page{Title: "Example"}, OldWikitext: old, NewWikitext: new, OldWikitextDelta: d}
	a.Normalize(a.Time)
	return a
}

func ptr(s string) *string { return &s }

// randomEdit changes a random part of text with a random replacement, from
// an alphabet of one- to four-byte characters whose bytes repeat, so that
// shared starts and ends often stop inside a character.
func randomEdit(r *rand.Rand, text string) string {
	alphabet := []string{"a", "b", "é", "è", "ü", "€", "ℤ", "😀", "😁", "\n"}
	var rep strings.Builder
	for range r.IntN(5) {
		rep.WriteString(alphabet[r.IntN(len(alphabet))])
	}
	runes := []rune(text)
	i := r.IntN(len(runes) + 1)
	j := i + r.IntN(len(runes)-i+1)
	return string(runes[:i]) + rep.String() + string(runes[j:])
}

func TestDeltaFromRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "é", "è", "€", "😀", "😁"}
	for range 5000 {
		var b strings.Builder
		for range r.IntN(12) {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		newText := b.String()
		oldText := randomEdit(r, newText)
		d := vigil.DeltaFrom(oldText, newText)
		if got := newText[:d.Start] + d.Middle + newText[len(newText)-d.End:]; got != oldText {
			t.Fatalf("DeltaFrom(%q, %q) = %+v stands for %q", oldText, newText, d, got)
		}
		if !utf8.ValidString(d.Middle) {
			t.Fatalf("DeltaFrom(%q, %q): middle %q is not valid UTF-8", oldText, newText, d.Middle)
		}
		// The server's checks accept every delta DeltaFrom makes.
		a := edit(nil, ptr(newText), &d)
		if err := a.Validate(); err != nil {
			t.Fatalf("DeltaFrom(%q, %q) = %+v: %v", oldText, newText, d, err)
		}
		if a.OldWikitext == nil || *a.OldWikitext != oldText || a.OldWikitextDelta != nil {
			t.Fatalf("Validate resolved %+v to %v", d, a.OldWikitext)
		}
	}
}

func TestDeltaFromSharesAll(t *testing.T) {
	// A one-line change of a page: the middle is the old line only.
	page := strings.Repeat("Some text of the article.\n", 400)
	newText := page + "A new line.\n" + page
	oldText := page + "An old line, with é.\n" + page
	d := vigil.DeltaFrom(oldText, newText)
	if d.Middle != "n old line, with é" || d.Start != len(page)+1 || d.End != len(page)+2 {
		t.Errorf("DeltaFrom: start %d, middle %q, end %d", d.Start, d.Middle, d.End)
	}
	// Equal texts, and texts with nothing in common.
	if d := vigil.DeltaFrom("same", "same"); d.Middle != "" || d.Start+d.End != 4 {
		t.Errorf("equal texts: %+v", d)
	}
	if d := vigil.DeltaFrom("abc", "xyz"); d != (vigil.TextDelta{Middle: "abc"}) {
		t.Errorf("nothing shared: %+v", d)
	}
}

func TestCompactTexts(t *testing.T) {
	page := strings.Repeat("A line of the article.\n", 100)
	tests := []struct {
		name      string
		old, new  string
		wantDelta bool
	}{
		{"a small change", page + "old end.", page + "new end.", true},
		{"blanking", page, "hi", false},                 // nothing shared: the old text as it is
		{"half replaced", "aaaabbbb", "aaaacccc", true}, // exactly half left out
		{"more than half new", "aaabbbbb", "aaaccccc", false},
		{"a new page", "", page, false},
	}
	for _, tt := range tests {
		// The same texts as old_wikitext and as new_pst: each is
		// compacted and resolved alike.
		a := edit(ptr(tt.old), ptr(tt.new), nil)
		a.NewPST = ptr(tt.old)
		a.CompactTexts()
		if (a.OldWikitextDelta != nil) != tt.wantDelta || (a.OldWikitext == nil) != tt.wantDelta {
			t.Errorf("%s: old_wikitext %v, delta %+v; want a delta: %v", tt.name, a.OldWikitext != nil, a.OldWikitextDelta, tt.wantDelta)
			continue
		}
		if (a.NewPSTDelta != nil) != tt.wantDelta || (a.NewPST == nil) != tt.wantDelta {
			t.Errorf("%s: new_pst %v, delta %+v; want a delta: %v", tt.name, a.NewPST != nil, a.NewPSTDelta, tt.wantDelta)
			continue
		}
		if err := a.Validate(); err != nil || *a.OldWikitext != tt.old || *a.NewPST != tt.old || a.NewPSTDelta != nil {
			t.Errorf("%s: resolved to %d and %d bytes (%v); want the text's %d", tt.name, len(*a.OldWikitext), len(*a.NewPST), err, len(tt.old))
		}
	}
}

func TestOldWikitextDeltaErrors(t *testing.T) {
	newText := "Grüße aus Köln" // ü and ö are two bytes each
	tests := []struct {
		name  string
		old   *string
		new   *string
		delta vigil.TextDelta
		field string
		msg   string
	}{
		{"both given", ptr("x"), ptr(newText), vigil.TextDelta{}, "old_wikitext_delta", "not both"},
		{"no new text", nil, nil, vigil.TextDelta{}, "old_wikitext_delta", "new_wikitext, which is missing"},
		{"negative start", nil, ptr(newText), vigil.TextDelta{Start: -1}, "old_wikitext_delta.start", "negative"},
		{"negative end", nil, ptr(newText), vigil.TextDelta{End: -1}, "old_wikitext_delta.end", "negative"},
		{"start beyond", nil, ptr(newText), vigil.TextDelta{Start: len(newText) + 1}, "old_wikitext_delta", "overlap"},
		{"overlap", nil, ptr(newText), vigil.TextDelta{Start: 10, End: len(newText) - 9}, "old_wikitext_delta", "overlap"},
		{"huge end", nil, ptr(newText), vigil.TextDelta{Start: 1, End: int(^uint(0) >> 1)}, "old_wikitext_delta", "overlap"},
		{"start cuts ü", nil, ptr(newText), vigil.TextDelta{Start: 3}, "old_wikitext_delta.start", "cuts a character"},
		{"end cuts ö", nil, ptr(newText), vigil.TextDelta{End: 3}, "old_wikitext_delta.end", "cuts a character"},
		{"NUL in middle", nil, ptr(newText), vigil.TextDelta{Middle: "a\x00"}, "old_wikitext_delta.middle", "NUL"},
		{"bad UTF-8 in middle", nil, ptr(newText), vigil.TextDelta{Middle: "\xff"}, "old_wikitext_delta.middle", "UTF-8"},
		{"too long", nil, ptr(newText), vigil.TextDelta{Start: 1, Middle: strings.Repeat("x", vigil.MaxTextBytes)},
			"old_wikitext_delta", "at most"},
	}
	for _, tt := range tests {
		// The same mistakes in new_pst_delta, named by its fields.
		for _, pst := range []bool{false, true} {
			field := tt.field
			if pst {
				field = strings.Replace(field, "old_wikitext", "new_pst", 1)
			}
			t.Run(field+"/"+tt.name, func(t *testing.T) {
				d := tt.delta
				a := edit(tt.old, tt.new, &d)
				if pst {
					a.OldWikitext, a.OldWikitextDelta, a.NewPST, a.NewPSTDelta = nil, nil, tt.old, &d
				}
				err := a.Validate()
				if err == nil {
					t.Fatalf("accepted; old_wikitext %v, new_pst %v", a.OldWikitext != nil, a.NewPST != nil)
				}
				var ve *vigil.Error
				if !errors.As(err, &ve) || ve.Field != field || !strings.Contains(ve.Message, tt.msg) {
					t.Errorf("error %v; want field %s, message with %q", err, field, tt.msg)
				}
			})
		}
	}
	// At the edges: all of the new text, and nothing of it.
	for _, d := range []vigil.TextDelta{{Start: len(newText)}, {End: len(newText)}, {Start: 7, End: 7, Middle: "ß"}} {
		a := edit(nil, ptr(newText), &d)
		pst := d
		a.NewPSTDelta = &pst
		if err := a.Validate(); err != nil {
			t.Errorf("%+v: %v", d, err)
		}
		if *a.NewPST != *a.OldWikitext || a.NewPSTDelta != nil {
			t.Errorf("%+v: new_pst %q, old_wikitext %q: the same delta stands for the same text", d, *a.NewPST, *a.OldWikitext)
		}
	}
}

// FuzzDeltaFrom: for any two valid texts, the delta stands for the first.
func FuzzDeltaFrom(f *testing.F) {
	f.Add("Grüße aus Köln", "Grüsse aus Köln")
	f.Add("😀😁", "😁😁")
	f.Add("", "abc")
	f.Fuzz(func(t *testing.T, oldText, newText string) {
		if !utf8.ValidString(oldText) || !utf8.ValidString(newText) || strings.IndexByte(oldText+newText, 0) >= 0 {
			return
		}
		d := vigil.DeltaFrom(oldText, newText)
		a := edit(nil, ptr(newText), &d)
		if err := a.Validate(); err != nil {
			t.Fatalf("DeltaFrom(%q, %q) = %+v: %v", oldText, newText, d, err)
		}
		if *a.OldWikitext != oldText {
			t.Fatalf("DeltaFrom(%q, %q) = %+v stands for %q", oldText, newText, d, *a.OldWikitext)
		}
	})
}
