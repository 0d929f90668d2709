package follow

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func replay(t *testing.T, src *File) ([]Event, error) {
	t.Helper()
	c := &collector{}
	err := src.Run(t.Context(), c.handle)
	return c.got(), err
}

func TestFileReplaySamples(t *testing.T) {
	for _, tc := range []struct {
		file  string
		count int
		first string // title of the first event
	}{
		{"recentchange/misc-2020-2021.jsonl", 3, "Abydos-Bold-hieroglyph-O10A.png"},
		{"recentchange/wikidata-2020-02-02.from-rust-tests.jsonl", 5, "Q26212910"},
		{"revision-create/misc-2021-2022.jsonl", 2, "Peter I. Vardy/sandbox"},
		{"local-mediawiki-1.39/rcfeed-udp-JSONRCFeedFormatter.jsonl", 11, "Sandbox"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			src, err := NewFile(filepath.Join(samples, tc.file), FileConfig{})
			if err != nil {
				t.Fatal(err)
			}
			evs, err := replay(t, src)
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != tc.count || evs[0].Title != tc.first || evs[0].Position != "line:1" ||
				evs[len(evs)-1].Position != "line:"+itoa(int64(tc.count)) || evs[0].Source != SourceFile {
				t.Errorf("%d events, first %+v", len(evs), evs[0])
			}
		})
	}
	// revision-score is a schema a replay cannot use: the error names the line.
	src, _ := NewFile(filepath.Join(samples, "revision-score/itwiki-2021-08-27.jsonl"), FileConfig{})
	if _, err := replay(t, src); err == nil || !strings.Contains(err.Error(), "itwiki-2021-08-27.jsonl:1: unknown event schema") {
		t.Errorf("revision-score: %v", err)
	}
}

func TestFileReplayErrorsAndResume(t *testing.T) {
	lines := sampleLines(t, "recentchange/wikidata-2020-02-02.from-rust-tests.jsonl")
	canary := strings.Replace(string(lines[0]), `"domain":"www.wikidata.org"`, `"domain":"canary"`, 1)
	content := string(lines[0]) + "\n\n" + canary + "\r\n" + string(lines[1]) + "\n{\"wiki\":\"x\",\"type\":\n" +
		string(lines[2]) + "\n" + strings.Repeat(" ", maxEventBytes+10) + "\n" + string(lines[4]) // no final newline
	path := filepath.Join(t.TempDir(), "events.jsonl")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	src, _ := NewFile(path, FileConfig{})
	evs, err := replay(t, src)
	if err == nil || !strings.HasSuffix(err.Error(), "events.jsonl:5: decode event: unexpected end of JSON input") || len(evs) != 2 {
		t.Fatalf("error %v after %d events", err, len(evs))
	}
	src, _ = NewFile(path, FileConfig{SkipBad: true, Logger: testLogger(t)})
	evs, err = replay(t, src)
	var pos []string
	for _, ev := range evs {
		pos = append(pos, ev.Position)
	}
	if err != nil || strings.Join(pos, " ") != "line:1 line:4 line:6 line:8" {
		t.Fatalf("skipping: %v, positions %v", err, pos)
	}
	if evs[3].Type != TypeNew || evs[3].NewRevID != 1108521371 {
		t.Errorf("last line: %+v", evs[3])
	}
	// Resume after line 4; keep only one wiki.
	src, _ = NewFile(path, FileConfig{After: "line:4", SkipBad: true, Wikis: []string{"wikidatawiki"}})
	if evs, err = replay(t, src); err != nil || len(evs) != 2 || evs[0].Position != "line:6" {
		t.Fatalf("resume: %v %+v", err, evs)
	}
	src, _ = NewFile(path, FileConfig{Wikis: []string{"enwiki"}, SkipBad: true})
	if evs, _ = replay(t, src); len(evs) != 0 {
		t.Errorf("wiki filter let %d events through", len(evs))
	}
	if _, err := NewFile(path, FileConfig{After: "4"}); err == nil {
		t.Error("bad position accepted")
	}
	src, _ = NewFile(filepath.Join(t.TempDir(), "missing.jsonl"), FileConfig{})
	if _, err := replay(t, src); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	// The handler's error stops the replay as is.
	boom := errors.New("boom")
	src, _ = NewReader("stdin", strings.NewReader(content), FileConfig{SkipBad: true})
	if err := src.Run(t.Context(), func(context.Context, Event) error { return boom }); err != boom {
		t.Errorf("handler error: %v", err)
	}
}
