package textfunc

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// offsetsOf lists where each character of s starts, plus len(s), counting
// characters as mb_strlen does: the plain way Substr and Strpos once
// worked, which TestMatchesPHP checked against PHP, kept here as the
// reference for any start, length and offset.
func offsetsOf(s string) []int {
	var offs []int
	valid := utf8.ValidString(s)
	for i := 0; i < len(s); {
		offs = append(offs, i)
		if valid {
			_, size := utf8.DecodeRuneInString(s[i:])
			i += size
		} else {
			i += utf8Width(s[i])
		}
	}
	return append(offs, len(s))
}

func substrByOffsets(s string, start, length int64, hasLength bool) string {
	offs := offsetsOf(s)
	n := int64(len(offs) - 1)
	// mb_substr: a negative start counts from the end (at most back to the
	// first character), a negative length leaves that many characters off
	// the end, and a start past the end gives "".
	from := start
	if from < 0 {
		from = max(0, n+from)
	}
	to := n
	switch {
	case from > n:
		return ""
	case !hasLength:
	case length < 0:
		to = n + length
	default:
		to = from + min(length, n-from)
	}
	if to < from {
		return ""
	}
	return s[offs[from]:offs[to]]
}

func strposByOffsets(haystack, needle string, offset int64) int64 {
	if needle == "" {
		return -1
	}
	offs := offsetsOf(haystack)
	n := int64(len(offs) - 1)
	if offset > n || offset < 0 && offset+n < 0 {
		return -1
	}
	if offset < 0 {
		offset += n
	}
	i := strings.Index(haystack[offs[offset]:], needle)
	if i < 0 {
		return -1
	}
	pos := int64(0)
	for j := 0; j < offs[offset]+i; pos++ {
		_, size, _ := decodeMB(haystack[j:])
		j += size
	}
	return pos
}

// TestSubstrStrpos compares Substr and Strpos with the reference over
// texts of every kind (ASCII, multibyte, invalid UTF-8, truncated
// sequences) and every start, length and offset around their ends.
func TestSubstrStrpos(t *testing.T) {
	texts := []string{"", "a", "abcdef", "héllo wörld", "日本語テキスト", "a\xffb\xc3", "\xe2\x82", "x\xf0\x9f\x98\x80y", "ǅaǅ"}
	for _, s := range texts {
		n := int64(len(s)) + 2
		for start := -n; start <= n; start++ {
			for length := -n; length <= n; length++ {
				if got, want := Substr(s, start, length, true), substrByOffsets(s, start, length, true); got != want {
					t.Errorf("Substr(%q, %d, %d) = %q, want %q", s, start, length, got, want)
				}
			}
			if got, want := Substr(s, start, 0, false), substrByOffsets(s, start, 0, false); got != want {
				t.Errorf("Substr(%q, %d) = %q, want %q", s, start, got, want)
			}
			for _, needle := range []string{"a", "l", "ö", "語", "\xff", "y"} {
				if got, want := Strpos(s, needle, start), strposByOffsets(s, needle, start); got != want {
					t.Errorf("Strpos(%q, %q, %d) = %d, want %d", s, needle, start, got, want)
				}
			}
		}
	}
}

func FuzzSubstrStrpos(f *testing.F) {
	f.Add("héllo wörld", int64(2), int64(5), "l")
	f.Add("a\xffb\xc3", int64(-3), int64(-1), "b")
	f.Fuzz(func(t *testing.T, s string, start, length int64, needle string) {
		if got, want := Substr(s, start, length, true), substrByOffsets(s, start, length, true); got != want {
			t.Fatalf("Substr(%q, %d, %d) = %q, want %q", s, start, length, got, want)
		}
		if got, want := Substr(s, start, 0, false), substrByOffsets(s, start, 0, false); got != want {
			t.Fatalf("Substr(%q, %d) = %q, want %q", s, start, got, want)
		}
		if got, want := Strpos(s, needle, start), strposByOffsets(s, needle, start); got != want {
			t.Fatalf("Strpos(%q, %q, %d) = %d, want %d", s, needle, start, got, want)
		}
	})
}
