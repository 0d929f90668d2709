package httpapi

import (
	"encoding/json"
	"reflect"
	"testing"

	jsonv2 "github.com/go-json-experiment/json"

	"github.com/vigilwiki/vigil"
	"github.com/vigilwiki/vigil/internal/workload"
)

// decodeSlow is the whole-body decode, without the wikitext fast path.
func decodeSlow(body []byte) (vigil.Action, error) {
	if err := checkBody(body); err != nil {
		return vigil.Action{}, err
	}
	var a vigil.Action
	if err := jsonv2.Unmarshal(body, &a, jsonv2.RejectUnknownMembers(true), fastStrings); err != nil {
		return vigil.Action{}, jsonError(body, err)
	}
	return a, nil
}

// checkDecodeAction: decodeBytes (with the fast path) gives what the whole
// decoder gives, value or error, for body.
func checkDecodeAction(t *testing.T, body string) {
	t.Helper()
	var got vigil.Action
	gotErr := decodeBytes([]byte(body), &got)
	want, wantErr := decodeSlow([]byte(body))
	if gotErr != nil || wantErr != nil {
		if (gotErr == nil) != (wantErr == nil) || gotErr.Error() != wantErr.Error() {
			t.Fatalf("body %.200q:\n got error %v\nwant error %v", body, gotErr, wantErr)
		}
		return
	}
	if !reflect.DeepEqual(got, want) {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		t.Fatalf("body %.200q:\n got %.300s\nwant %.300s", body, g, w)
	}
}

// deltaBody gives the old text as old_wikitext_delta.
const deltaBody = `{"new_wikitext":"a\nb\nc","old_wikitext_delta":{"start":2,"middle":"x\ny","end":2}}`

var decodeActionCases = []string{
	`{"wiki":"w","action":"edit","performer":{"name":"A"},"old_wikitext":"a\nb","new_wikitext":"a\nb\nc"}`,
	`{"new_wikitext":"x","wiki":"w","old_wikitext":"y"}`, // reversed order
	` { "wiki" : "w" , "new_wikitext" : "\u003cref\u003e \"q\" \\ \/ \b\f\r\t \u00e9" } `,
	`{"new_wikitext":"😀 \ud83d\ude00"}`,        // a surrogate pair: left to the decoder
	`{"new_wikitext":"\ud800"}`,                // a lone surrogate: refused
	`{"new_wikitext":"a","new_wikitext":"b"}`,  // given twice
	`{"new_wikitext":"a","old_wikitext":null}`, // null
	`{"new_wikitext":5}`,            // wrong type
	`{"new_wikitext":"tab	inside"}`, // a raw control character
	`{"new_wikitext":"bad \x escape"}`,
	`{"new_wikitext":"\u12G4"}`,
	`{"new_wikitext":"unterminated}`,
	`{"new_wikitext":"a"`,
	`{"new_wikitext":"a"} trailing`,
	`{"new_wikitext":"a",}`,
	`{"nope":1,"new_wikitext":"a"}`, // unknown field
	`{"new_\u0077ikitext":"a"}`,     // an escaped name
	`{"performer":{"name":"A","groups":["x","y"],"edit_count":3},"page":{"title":"T","namespace":0},"new_wikitext":"z"}`,
	`{"performer":{"name":"A\"}"},"new_wikitext":"z"}`, // a quote and brace inside a nested string
	`{"performer":{"name":"A"]],"new_wikitext":"z"}`,
	`{"new_wikitext":""}`,
	deltaBody, // the old text by its differences
	`{"old_wikitext_delta":{"start":"2"},"new_wikitext":"a"}`,            // wrong type
	`{"old_wikitext_delta":{"start":1,"surprise":0},"new_wikitext":"a"}`, // unknown field
	`{}`, `[]`, `"x"`, ``, `{"new_wikitext":"a"}{}`,
}

func TestDecodeActionAgrees(t *testing.T) {
	for _, body := range decodeActionCases {
		checkDecodeAction(t, body)
	}
	g := workload.New("enwiki", 7, 20)
	for range 50 {
		b, err := json.Marshal(g.Next())
		if err != nil {
			t.Fatal(err)
		}
		checkDecodeAction(t, string(b))
	}
}

// TestDecodeActionFastPath: the fast path does run for ordinary actions
// (a test that it agrees would pass if it never ran).
func TestDecodeActionFastPath(t *testing.T) {
	for _, body := range []string{decodeActionCases[0], decodeActionCases[1], decodeActionCases[2], deltaBody} {
		var a vigil.Action
		if !decodeAction([]byte(body), &a) {
			t.Errorf("the fast path refused %q", body)
		}
	}
}

func FuzzDecodeAction(f *testing.F) {
	for _, body := range decodeActionCases {
		f.Add(body)
	}
	f.Fuzz(checkDecodeAction)
}

// TestQuoteEnd: the bound that sizes an unquoted text is the literal's
// closing quote, past escaped quotes and escaped backslashes.
func TestQuoteEnd(t *testing.T) {
	tests := []struct {
		in   string
		from int
		want int
	}{
		{`abc"`, 0, 3},
		{`a\"b"`, 0, 4},   // an escaped quote does not end it
		{`a\\"b"`, 0, 3},  // an escaped backslash before a quote does
		{`a\\\"b"`, 0, 6}, // three backslashes: the quote is escaped
		{`\n\n"x`, 0, 4},
		{`no quote`, 0, 8}, // unterminated: the whole rest
		{`"x\"y"`, 1, 5},
	}
	for _, tt := range tests {
		if got := quoteEnd([]byte(tt.in), tt.from); got != tt.want {
			t.Errorf("quoteEnd(%q, %d) = %d, want %d", tt.in, tt.from, got, tt.want)
		}
	}
}
