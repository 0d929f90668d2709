package httpapi

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
)

// checkUnquote compares unquote with the decoder's own unquoting of the
// JSON string literal lit, when the decoder accepts it.
func checkUnquote(t *testing.T, lit string) {
	t.Helper()
	want, err := jsontext.AppendUnquote(nil, []byte(lit))
	if err != nil {
		return // not a valid literal: the decoder refuses it before unquote runs
	}
	if got := unquote([]byte(lit)); got != string(want) {
		t.Fatalf("unquote(%q) = %q, want %q", lit, got, want)
	}
}

func TestUnquote(t *testing.T) {
	for _, lit := range []string{
		`""`, `"plain"`, `"\n"`, `"a\nb\"c\\d\/e"`, `"\b\f\r\t"`,
		`"\u003cref\u003e"`, `"\u00fcber"`, `"\u00FC"`, `"\ud83d\ude00"`, `"x\ud83d\ude00y"`,
		`"\u0000"`, `"München"`, `"\\u0041"`, `"\\"`, `"end\\"`, `"\"\"\""`,
		`"\ud800"`, `"\ud800x"`, `"\udc00"`, `"\ud800\u0041"`, // lone surrogates: refused by the decoder
	} {
		checkUnquote(t, lit)
	}
	// Random literals from a small alphabet heavy in escapes, as wikitext is.
	pieces := []string{`a`, `ü`, `😀`, `\n`, `\"`, `\\`, `\/`, `\t`, `\u003c`, `\u00e9`, `\ud83d\ude00`, `\ud83d`, `\u`, `<ref>`, ` `}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		var b strings.Builder
		b.WriteByte('"')
		for range r.IntN(12) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		b.WriteByte('"')
		checkUnquote(t, b.String())
	}
}

// TestUnquoteLong: a long text escaped by a JSON encoder, as a wikitext
// arrives, decodes back to itself through the whole decoder.
func TestUnquoteLong(t *testing.T) {
	text := strings.Repeat("== Section ==\n<ref>\"Quoted\" & cited</ref> Müller \\ tab\there 😀\n", 500)
	var a struct {
		Text string `json:"text"`
	}
	body, _ := jsontext.AppendQuote(nil, text)
	if err := decodeBytes([]byte(`{"text":`+string(body)+`}`), &a); err != nil {
		t.Fatal(err)
	}
	if a.Text != text {
		t.Fatalf("decoded text differs from the original (len %d vs %d)", len(a.Text), len(text))
	}
}

func FuzzUnquote(f *testing.F) {
	for _, s := range []string{`"a\nb"`, `"\u00fc"`, `"\ud83d\ude00"`, `"\\"`} {
		f.Add(s)
	}
	f.Fuzz(checkUnquote)
}
