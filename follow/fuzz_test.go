package follow

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"
)

// FuzzSSE checks the parser's invariants on any input: it ends, keeps to
// its limits, and reads a stream the same whatever the chunks it arrives
// in.
func FuzzSSE(f *testing.F) {
	for _, rel := range []string{"recentchange/sse-capture-2025-08-29.txt", "page-create/sse-capture-commonswiki-2025-09-06.txt"} {
		b := sample(f, rel)
		f.Add(b)
		f.Add(bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n")))
		f.Add(b[:len(b)/2])
	}
	for _, s := range []string{"", ":ok\n\n", "data: a\rdata: b\r\r", "id: 1\x00\ndata: x\n\n", "\xef\xbb\xbfdata:x\n\n",
		"retry: 10\nevent: e\ndata\n\n", "data: " + strings.Repeat("y", 300) + "\n\n", "id: 1\r\n\r\nid: 2\r"} {
		f.Add([]byte(s))
	}
	const maxLine, maxData = 256, 512
	f.Fuzz(func(t *testing.T, in []byte) {
		whole, skipped, end, sc := readAll(bytes.NewReader(in), "start", maxLine, maxData)
		if end != io.EOF && end != io.ErrUnexpectedEOF {
			t.Fatalf("end %v", end)
		}
		for _, m := range whole {
			if len(m.Data) > maxData || strings.ContainsRune(m.ID, 0) {
				t.Fatalf("message %q", m)
			}
		}
		if len(sc.data) > maxData || len(sc.line) > maxLine {
			t.Fatalf("buffers %d %d", len(sc.data), len(sc.line))
		}
		split, skipped2, end2, sc2 := readAll(iotest.HalfReader(iotest.OneByteReader(bytes.NewReader(in))), "start", maxLine, maxData)
		if !reflect.DeepEqual(whole, split) || len(skipped) != len(skipped2) || end != end2 || sc.LastID() != sc2.LastID() {
			t.Fatalf("chunking changed the result:\n%q %v\n%q %v", whole, end, split, end2)
		}
	})
}

// FuzzDecodeEvent checks DecodeEvent on any input: no panic, and an event
// it accepts has what every consumer needs and survives a JSON round trip.
func FuzzDecodeEvent(f *testing.F) {
	for _, rel := range []string{"recentchange/misc-2020-2021.jsonl", "recentchange/wikidata-2020-02-02.from-rust-tests.jsonl",
		"revision-create/misc-2021-2022.jsonl", "revision-score/itwiki-2021-08-27.jsonl",
		"local-mediawiki-1.39/rcfeed-udp-JSONRCFeedFormatter.jsonl"} {
		for _, l := range sampleLines(f, rel) {
			f.Add(l)
		}
	}
	names, _ := filepath.Glob(filepath.Join(samples, "protsack-mediawiki-eventstream-client", "*.json"))
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		var recs []struct{ Data json.RawMessage }
		if err := json.Unmarshal(b, &recs); err != nil {
			f.Fatal(err)
		}
		for _, r := range recs {
			f.Add([]byte(r.Data))
		}
	}
	for _, s := range []string{`{}`, `{"wiki":"w","type":6,"title":"T"}`, `{"meta":{"domain":"canary"}}`, `null`,
		`{"$schema":"/mediawiki/page/move/1.0.0","database":"w","page_title":"A:B","page_namespace":1,"prior_state":{"page_title":"C"}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		ev, err := DecodeEvent(in)
		if err != nil {
			if errors.Is(err, ErrCanary) && !bytes.Contains(in, []byte("canary")) && !bytes.Contains(in, []byte(`\u`)) {
				t.Fatalf("canary without canary: %q", in)
			}
			return
		}
		if ev.Wiki == "" || ev.Type == "" || ev.PrefixedTitle == "" {
			t.Fatalf("incomplete event %+v from %q", ev, in)
		}
		if ev.Namespace == 0 && ev.Title != ev.PrefixedTitle || !strings.HasSuffix(ev.PrefixedTitle, ev.Title) {
			t.Fatalf("title %q from %q", ev.Title, ev.PrefixedTitle)
		}
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		var back Event
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("unmarshal: %v", err)
		}
		if back.Wiki != ev.Wiki && utf8.ValidString(ev.Wiki) {
			t.Fatalf("round trip: %q != %q", back.Wiki, ev.Wiki)
		}
	})
}
