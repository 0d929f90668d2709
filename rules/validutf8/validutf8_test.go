package validutf8

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// check compares String with the standard library on s placed at several
// places of an ASCII text: inside a 32-byte block, across the end of one,
// and in the bytes after the last whole block.
func check(t *testing.T, s string) {
	t.Helper()
	for _, at := range []int{0, 29, 30, 31, 32, 45, 61, 62, 63, 64, 66} {
		for _, size := range []int{96, 64 + len(s) + at%7} {
			if at+len(s) > size {
				continue
			}
			text := strings.Repeat("a", at) + s + strings.Repeat("b", size-at-len(s))
			if got, want := String(text), utf8.ValidString(text); got != want {
				t.Fatalf("String(%q at %d of %d bytes) = %v, want %v", s, at, len(text), got, want)
			}
		}
	}
}

// TestPairsAndTriples: every sequence of two bytes, and of three whose
// first byte is not ASCII, at every kind of place.
func TestPairsAndTriples(t *testing.T) {
	if !useAVX2 {
		t.Log("no AVX2: the standard library's check is all there is")
	}
	for a := range 256 {
		for b := range 256 {
			check(t, string([]byte{byte(a), byte(b)}))
		}
	}
	if testing.Short() {
		return
	}
	for a := 0x80; a < 256; a++ {
		for b := range 256 {
			for c := range 256 {
				text := strings.Repeat("a", 62) + string([]byte{byte(a), byte(b), byte(c)}) + strings.Repeat("b", 31)
				if got, want := String(text), utf8.ValidString(text); got != want {
					t.Fatalf("String(% x at 62) = %v, want %v", text[62:65], got, want)
				}
			}
		}
	}
}

// TestQuads: four-byte sequences from lead bytes on, with the bytes that
// bound each range of UTF-8 after them.
func TestQuads(t *testing.T) {
	edges := []byte{0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff}
	for a := 0xc0; a < 256; a++ {
		for _, b := range edges {
			for _, c := range edges {
				for _, d := range edges {
					check(t, string([]byte{byte(a), b, c, d}))
				}
			}
		}
	}
}

// TestRandom: random texts of characters of every length, invalid
// fragments among them, as long as several blocks.
func TestRandom(t *testing.T) {
	alphabet := []string{"a", " ", "\n", "é", "ж", "漢", "😀", "\u2028", "\uffff", "\U0010ffff", "\xff", "\x80", "\xc2", "\xe0\xa0",
		"\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf0\x8f\xbf\xbf", "\xc0\xaf", "\xef\xbf\xbd", "abcdefghijklmnop"}
	r := rand.New(rand.NewPCG(5, 6))
	for range 200000 {
		var b strings.Builder
		for range r.IntN(120) {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		s := b.String()
		if got, want := String(s), utf8.ValidString(s); got != want {
			t.Fatalf("String(%q) = %v, want %v", s, got, want)
		}
		if got := Bytes([]byte(s)); got != utf8.ValidString(s) {
			t.Fatalf("Bytes(%q) = %v", s, got)
		}
	}
}

func FuzzString(f *testing.F) {
	f.Add(strings.Repeat("Город Москва ", 10) + "\xd0")
	f.Add(strings.Repeat("漢字", 40))
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := String(s), utf8.ValidString(s); got != want {
			t.Fatalf("String(%q) = %v, want %v", s, got, want)
		}
	})
}

var texts = []struct{ name, text string }{
	{"cyrillic", strings.Repeat("== История ==\nГород [[Москва]] был основан в 1147 году «Юрием Долгоруким».<ref>{{cite web|url=http://example.org}}</ref>\n", 300)},
	{"cjk", strings.Repeat("== 歴史 ==\n東京は日本の首都であり、[[関東地方]]に位置する。<ref>{{cite web|url=http://example.org}}</ref>\n", 300)},
	{"latin", strings.Repeat("== History ==\nThe [[city]] was founded in 1820 by \"Müller\".<ref>{{cite web|url=http://example.org}}</ref>\n", 300)},
}

// BenchmarkString checks 30 KB pages in three scripts, beside the
// standard library's check.
func BenchmarkString(b *testing.B) {
	for _, c := range texts {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.text)))
			for b.Loop() {
				String(c.text)
			}
		})
		b.Run(c.name+"/utf8", func(b *testing.B) {
			b.SetBytes(int64(len(c.text)))
			for b.Loop() {
				utf8.ValidString(c.text)
			}
		})
	}
}
