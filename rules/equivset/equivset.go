// Package equivset normalises confusable characters with Wikimedia's
// Equivset data, as AbuseFilter's ccnorm, norm and ccnorm_contains_* do.
// The data (equivset.json, GPL-2.0-or-later, see COPYING) maps one code
// point to one code point, to "" (deleted) or to " ".
package equivset

import (
	_ "embed"
	"encoding/json"
	"strings"
	"sync"
	"unicode/utf8"
)

//go:embed equivset.json
var data []byte

const (
	unchanged = -1
	deleted   = -2
)

var (
	once  sync.Once
	table []int32 // code point -> replacement, unchanged or deleted
)

func load() {
	var m map[string]string
	if err := json.Unmarshal(data, &m); err != nil {
		panic("equivset: embedded data is corrupt: " + err.Error())
	}
	maxKey := rune(0)
	for k := range m {
		if r, size := utf8.DecodeRuneInString(k); size == len(k) && r > maxKey {
			maxKey = r
		}
	}
	table = make([]int32, maxKey+1)
	for i := range table {
		table[i] = unchanged
	}
	for k, v := range m {
		r, size := utf8.DecodeRuneInString(k)
		if size != len(k) || r == utf8.RuneError {
			continue // the "_readme" key
		}
		switch {
		case v == "":
			table[r] = deleted
		default:
			to, _ := utf8.DecodeRuneInString(v)
			table[r] = to
		}
	}
}

// Normalize replaces every character of s by its Equivset representative
// (ASCII letters become uppercase, "0" becomes "O", and so on). Bytes that
// are not valid UTF-8 pass through unchanged, as PHP's strtr leaves them.
func Normalize(s string) string {
	once.Do(load)
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if t := table[c]; t >= 0 {
				b.WriteByte(byte(t))
			} else if t == unchanged {
				b.WriteByte(c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteByte(c)
			i++
			continue
		}
		i += size
		if int(r) < len(table) {
			switch t := table[r]; {
			case t == deleted:
				continue
			case t >= 0:
				b.WriteRune(t)
				continue
			}
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Identity is a normaliser that changes nothing; AbuseFilter's parser tests
// run with it.
func Identity(s string) string { return s }
