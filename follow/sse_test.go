package follow

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// readAll parses a stream to its end: the messages, the errors met on the
// way (skipped events) and the final error.
func readAll(r io.Reader, lastID string, maxLine, maxData int) (msgs []sseMessage, skipped []error, end error, sc *sseScanner) {
	sc = newSSEScanner(r, lastID, maxLine, maxData)
	for {
		m, err := sc.Next()
		switch {
		case errors.Is(err, errSSETooLarge):
			skipped = append(skipped, err)
		case err != nil:
			return msgs, skipped, err, sc
		default:
			msgs = append(msgs, m)
		}
	}
}

func TestSSEParse(t *testing.T) {
	msg := func(event, data, id string) sseMessage { return sseMessage{Event: event, Data: data, ID: id} }
	for _, tc := range []struct {
		name   string
		in     string
		want   []sseMessage
		end    error
		lastID string
	}{
		{"LF", "event: message\nid: 1\ndata: {}\n\n", []sseMessage{msg("message", "{}", "1")}, io.EOF, "1"},
		{"CRLF", "event: message\r\nid: 1\r\ndata: {}\r\n\r\n", []sseMessage{msg("message", "{}", "1")}, io.EOF, "1"},
		{"CR", "id: 1\rdata: {}\r\r", []sseMessage{msg("message", "{}", "1")}, io.EOF, "1"},
		{"mixed ends", "id: 1\r\ndata: a\rdata: b\n\r\n", []sseMessage{msg("message", "a\nb", "1")}, io.EOF, "1"},
		{"comment and :ok", ":ok\n\n: keep-alive\ndata: x\n\n", []sseMessage{msg("message", "x", "")}, io.EOF, ""},
		{"multi-line data", "data: line 1\ndata:line 2\ndata\ndata:  two spaces\n\n",
			[]sseMessage{msg("message", "line 1\nline 2\n\n two spaces", "")}, io.EOF, ""},
		{"default type", "data: x\n\n", []sseMessage{msg("message", "x", "")}, io.EOF, ""},
		{"other type", "event: error\ndata: oops\n\ndata: next\n\n",
			[]sseMessage{msg("error", "oops", ""), msg("message", "next", "")}, io.EOF, ""},
		{"id persists", "id: a\ndata: 1\n\ndata: 2\n\nid\ndata: 3\n\n",
			[]sseMessage{msg("message", "1", "a"), msg("message", "2", "a"), msg("message", "3", "")}, io.EOF, ""},
		{"id with NUL ignored", "id: a\ndata: 1\n\nid: b\x00c\ndata: 2\n\n",
			[]sseMessage{msg("message", "1", "a"), msg("message", "2", "a")}, io.EOF, "a"},
		{"id-only event moves the id", "id: a\n\nid: b\n\n", nil, io.EOF, "b"},
		{"no data, no dispatch", "event: x\n\ndata: y\n\n", []sseMessage{msg("message", "y", "")}, io.EOF, ""},
		{"unknown fields", "foo: bar\nDATA: no\ndata: yes\n\n", []sseMessage{msg("message", "yes", "")}, io.EOF, ""},
		{"BOM", "\xef\xbb\xbfdata: x\n\n", []sseMessage{msg("message", "x", "")}, io.EOF, ""},
		{"cut inside an event", "id: 1\ndata: a\n\nid: 2\ndata: {\"trunc", []sseMessage{msg("message", "a", "1")},
			io.ErrUnexpectedEOF, "1"},
		{"cut after a field line", "data: a\n\nid: 2\ndata: b\n", []sseMessage{msg("message", "a", "")},
			io.ErrUnexpectedEOF, ""},
		{"no blank line at the end", "data: a\n", nil, io.ErrUnexpectedEOF, ""},
		{"empty", "", nil, io.EOF, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, r := range []struct {
				name string
				r    io.Reader
			}{{"whole", strings.NewReader(tc.in)}, {"bytewise", iotest.OneByteReader(strings.NewReader(tc.in))}} {
				got, skipped, end, sc := readAll(r.r, "", 0, 0)
				if !reflect.DeepEqual(got, tc.want) || len(skipped) > 0 || end != tc.end || sc.LastID() != tc.lastID {
					t.Errorf("%s: got %q skipped %v end %v last id %q; want %q end %v last id %q",
						r.name, got, skipped, end, sc.LastID(), tc.want, tc.end, tc.lastID)
				}
			}
		})
	}
}

func TestSSERetryAndResume(t *testing.T) {
	_, _, _, sc := readAll(strings.NewReader("retry: 2500\ndata: x\n\nretry: soon\n\n"), "", 0, 0)
	if sc.retry != 2500*time.Millisecond {
		t.Errorf("retry = %v", sc.retry)
	}
	// A resumed stream starts from the given id until the server sends one.
	got, _, _, _ := readAll(strings.NewReader("data: x\n\nid: 9\ndata: y\n\n"), "8", 0, 0)
	if got[0].ID != "8" || got[1].ID != "9" {
		t.Errorf("ids %q %q", got[0].ID, got[1].ID)
	}
}

// A line or an event beyond the limits is skipped, the parser keeps its
// place, and memory stays bounded.
func TestSSELimits(t *testing.T) {
	long := strings.Repeat("x", 5000)
	in := "id: 1\ndata: ok\n\n" +
		"id: 2\ndata: " + long + "\n\n" + // line too long
		"id: 3\ndata: " + long[:900] + "\ndata: " + long[:900] + "\n\n" + // data too large in sum
		"id: 4\ndata: after\n\n"
	for _, r := range []io.Reader{strings.NewReader(in), iotest.OneByteReader(strings.NewReader(in))} {
		got, skipped, end, sc := readAll(r, "", 1024, 1500)
		want := []sseMessage{{"message", "ok", "1"}, {"message", "after", "4"}}
		if !reflect.DeepEqual(got, want) || len(skipped) != 2 || end != io.EOF || sc.LastID() != "4" {
			t.Fatalf("got %q skipped %v end %v", got, skipped, end)
		}
		if !strings.Contains(skipped[0].Error(), `last event id "2"`) || !strings.Contains(skipped[1].Error(), `"3"`) {
			t.Errorf("skipped: %v", skipped)
		}
		if cap(sc.line) > 2048 {
			t.Errorf("line buffer grew to %d", cap(sc.line))
		}
	}
	// An endless line without an end is read without keeping it.
	r := io.MultiReader(strings.NewReader("data: "), io.LimitReader(infinite('x'), 10<<20), strings.NewReader("\n\ndata: y\n\n"))
	got, skipped, end, _ := readAll(r, "", 1<<16, 0)
	if len(got) != 1 || got[0].Data != "y" || len(skipped) != 1 || end != io.EOF {
		t.Errorf("got %q skipped %v end %v", got, skipped, end)
	}
}

type infinite byte

func (b infinite) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}
