package screen

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
)

// stdDump is what encoding/json writes for m with SetEscapeHTML(false).
func stdDump(t testing.TB, m map[string]any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

// TestMarshalDump: the dump encoder writes what encoding/json writes, byte
// for byte, for every kind of value and every byte a string can hold
// (control characters, quotes, invalid UTF-8, U+2028, HTML characters).
func TestMarshalDump(t *testing.T) {
	m := map[string]any{
		"new_wikitext": "== A ==\n<ref>\"x\" & y</ref>\tMüller \\ 😀\u2028\u2029\x00\x1f\x7f\b\f\r",
		"added_lines":  []any{"a", "b\nc", []any{}, nil},
		"edit_delta":   int64(-42),
		"float":        0.1,
		"big_float":    1e21,
		"user_blocked": false,
		"nothing":      nil,
		"invalid":      "ok\xffok\xc3",
		"cyrillic":     "== История ==\nГород «Москва» — столица\u2028ещё\u2029и\xd0\xffтак\xe2\x80далее 😀😀",
		"":             "",
	}
	if got, want := string(marshalDump(m)), stdDump(t, m); got != want {
		t.Fatalf("marshalDump:\n got %s\nwant %s", got, want)
	}
	// Random strings over an alphabet with every class of byte, at every
	// length around the 8-byte steps.
	// Runs of several runes beyond ASCII (as in Cyrillic or CJK text) are
	// taken whole when they need no escape, up to 32 bytes at a time.
	alphabet := []string{"a", "Z", " ", "<", "&", "\"", "\\", "\n", "\x01", "\x1f", "\x7f", "é", "ж", "漢", "😀", "\u2028", "\u2029", "—", "\xff", "\xe2\x80", "\xd0", "/"}
	r := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		var b strings.Builder
		for range r.IntN(80) {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		m := map[string]any{"s": b.String()}
		if got, want := string(marshalDump(m)), stdDump(t, m); got != want {
			t.Fatalf("marshalDump(%q):\n got %s\nwant %s", b.String(), got, want)
		}
	}
}

func FuzzMarshalDump(f *testing.F) {
	f.Add("a\"b\\c\n\xff😀\u2028<>&")
	f.Add("Город «Москва» — столица\u2029ещё\xd0\xff漢字")
	f.Fuzz(func(t *testing.T, s string) {
		m := map[string]any{"s": s, "l": []any{s}}
		if got, want := string(marshalDump(m)), stdDump(t, m); got != want {
			t.Fatalf("marshalDump(%q):\n got %s\nwant %s", s, got, want)
		}
	})
}

// latinLine and cyrillicLine make a 40 KB page in 400 lines.
const (
	latinLine    = "== History ==\nThe [[city]] was founded in 1820 by \"Müller\".<ref>{{cite web|url=http://example.org}}</ref>\n"
	cyrillicLine = "== История ==\nГород [[Москва]] был основан в 1147 году «Юрием Долгоруким».<ref>{{cite web|url=http://example.org}}</ref>\n"
)

// BenchmarkMarshalDump: the dump of an edit of a 40 KB page, as the
// service's dumps hold.
func BenchmarkMarshalDump(b *testing.B) {
	benchDump(b, latinLine, func(m map[string]any) { marshalDump(m) })
}

// BenchmarkMarshalDumpCyrillic: a page in a script other than Latin, whose
// runs of text the encoder takes whole rather than rune by rune.
func BenchmarkMarshalDumpCyrillic(b *testing.B) {
	benchDump(b, cyrillicLine, func(m map[string]any) { marshalDump(m) })
}

func BenchmarkMarshalDumpStd(b *testing.B) {
	benchDump(b, latinLine, func(m map[string]any) { stdDump(b, m) })
}

func benchDump(b *testing.B, line string, encode func(map[string]any)) {
	text := strings.Repeat(line, 400)
	m := map[string]any{"old_wikitext": text, "new_wikitext": text + "more\n", "added_lines": []any{"more"}, "edit_delta": int64(5)}
	b.SetBytes(int64(2 * len(text)))
	for b.Loop() {
		encode(m)
	}
}
