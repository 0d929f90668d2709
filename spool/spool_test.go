package spool

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestAppendDrain(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s.Pending() {
		t.Fatal("a new spool has records")
	}
	for i := range 3 {
		if err := s.Append([][]byte{[]byte(fmt.Sprintf(`{"n":%d}`, i))}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Append([][]byte{[]byte("a\nb")}); err == nil {
		t.Fatal("a record with a newline was accepted")
	}
	// A failing consumer keeps everything.
	if err := s.Drain(func([][]byte) error { return errors.New("db down") }); err == nil || !s.Pending() {
		t.Fatalf("drain with a failing consumer: %v, pending %v", err, s.Pending())
	}
	// Records written meanwhile land in a later segment.
	s.Append([][]byte{[]byte(`{"n":3}`)})
	// A reopened spool (after a crash) sees them all, in order.
	s.Close()
	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	if err := s.Drain(func(rs [][]byte) error {
		for _, r := range rs {
			got = append(got, string(r))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != `[{"n":0} {"n":1} {"n":2} {"n":3}]` || s.Pending() {
		t.Fatalf("drained %v, pending %v", got, s.Pending())
	}
}

// TestTornWrite: a segment whose last line was cut by a crash loses only
// that line, which was never acknowledged.
func TestTornWrite(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "segment-1.jsonl"), []byte("{\"a\":1}\n{\"b\":"), 0o600)
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got [][]byte
	s.Drain(func(rs [][]byte) error { got = rs; return nil })
	if len(got) != 1 || string(got[0]) != `{"a":1}` {
		t.Fatalf("got %q", got)
	}
	// New appends after reopening do not reuse the old segment's number.
	s.Append([][]byte{[]byte("x")})
	if _, err := os.Stat(filepath.Join(dir, "segment-2.jsonl")); err != nil {
		t.Fatal(err)
	}
}
