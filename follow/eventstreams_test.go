package follow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeStreams is an EventStreams server on 127.0.0.1: each connection is
// answered by serve with its number (from 0).
type fakeStreams struct {
	srv   *httptest.Server
	mu    sync.Mutex
	reqs  []*http.Request
	serve func(n int, w http.ResponseWriter, r *http.Request)
}

func newFakeStreams(t *testing.T, serve func(n int, w http.ResponseWriter, r *http.Request)) *fakeStreams {
	f := &fakeStreams{serve: serve}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		n := len(f.reqs)
		f.reqs = append(f.reqs, r)
		f.mu.Unlock()
		f.serve(n, w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeStreams) requests() []*http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*http.Request(nil), f.reqs...)
}

func (f *fakeStreams) source(t *testing.T, cfg StreamConfig) *EventStreams {
	t.Helper()
	cfg.URL = f.srv.URL + "/v2/stream/recentchange"
	cfg.MinBackoff, cfg.MaxBackoff = time.Millisecond, 5*time.Millisecond
	cfg.Logger = testLogger(t)
	s, err := NewEventStreams(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// writeSSE answers with a complete stream body.
func writeSSE(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	io.WriteString(w, body)
}

// cutConnection answers with the beginning of a stream and drops the TCP
// connection, as a proxy or a crash would.
func cutConnection(t *testing.T, w http.ResponseWriter, body string) {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		t.Error(err)
		return
	}
	defer conn.Close()
	buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
	fmt.Fprintf(buf, "%x\r\n%s\r\n", len(body), body)
	buf.Flush()
}

// captureBlocks splits an SSE capture into its blocks (":ok", then one
// block per event), each with its ending blank line.
func captureBlocks(t *testing.T, rel string) []string {
	var out []string
	for _, b := range strings.SplitAfter(string(sample(t, rel)), "\n\n") {
		if b != "" {
			out = append(out, b)
		}
	}
	return out
}

func idOf(block string) string {
	for _, l := range strings.Split(block, "\n") {
		if id, ok := strings.CutPrefix(l, "id: "); ok {
			return id
		}
	}
	return ""
}

func TestEventStreamsReconnectMidEvent(t *testing.T) {
	blocks := captureBlocks(t, "recentchange/sse-capture-2025-08-29.txt")
	if len(blocks) != 10 { // ":ok" and 9 events
		t.Fatalf("%d blocks", len(blocks))
	}
	// The first connection dies in the middle of the fifth event's data.
	fifth := blocks[5]
	cut := strings.Join(blocks[:5], "") + fifth[:strings.Index(fifth, "data: ")+120]
	fs := newFakeStreams(t, func(n int, w http.ResponseWriter, r *http.Request) {
		switch n {
		case 0:
			cutConnection(t, w, cut)
		case 1:
			writeSSE(w, ":ok\n\n"+strings.Join(blocks[5:], ""))
		default:
			writeSSE(w, ":ok\n\n")
		}
	})
	src := fs.source(t, StreamConfig{UserAgent: UserAgent("1.2", "vigil@example.org")})
	evs, err := runFor(t, src, 9, 5*time.Second)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v", err)
	}
	if len(evs) != 9 {
		t.Fatalf("%d events, want 9", len(evs))
	}
	seen := map[string]bool{}
	for i, ev := range evs {
		if ev.Position != idOf(blocks[i+1]) || ev.Source != SourceEventStreams || seen[ev.MetaID] {
			t.Errorf("event %d: position %s meta id %s", i, ev.Position, ev.MetaID)
		}
		seen[ev.MetaID] = true
	}
	reqs := fs.requests()
	if len(reqs) < 2 {
		t.Fatalf("%d connections", len(reqs))
	}
	if got := reqs[0].Header.Get("Last-Event-ID"); got != "" {
		t.Errorf("first connection sent Last-Event-ID %q", got)
	}
	if got, want := reqs[1].Header.Get("Last-Event-ID"), idOf(blocks[4]); got != want {
		t.Errorf("reconnection sent Last-Event-ID %q, want %q", got, want)
	}
	for _, r := range reqs {
		if ua := r.Header.Get("User-Agent"); ua != "Vigil/1.2 (vigil@example.org) Go-http-client" {
			t.Errorf("User-Agent %q", ua)
		}
		if r.Header.Get("Accept") != "text/event-stream" || r.URL.Path != "/v2/stream/recentchange" {
			t.Errorf("request %s %v", r.URL, r.Header)
		}
	}
	if got := src.LastEventID(); got != idOf(blocks[9]) {
		t.Errorf("LastEventID %s", got)
	}
}

func TestEventStreamsFilterCanaryAndBadEvents(t *testing.T) {
	blocks := captureBlocks(t, "recentchange/sse-capture-2025-08-29.txt")
	canary := strings.Replace(blocks[1], `"domain":"mg.wiktionary.org"`, `"domain":"canary"`, 1)
	canary = strings.Replace(canary, "id: [", "id: [{\"canary\":1},", 1)
	if !strings.Contains(canary, `"canary"`) {
		t.Fatal("no canary made")
	}
	stream := ":ok\n\n" + canary +
		"event: message\nid: bad-json\ndata: {\"$schema\":\"/mediawiki/recentchange/1.0.0\",\"wiki\":\n\n" +
		"event: message\nid: score\ndata: " + string(sampleLines(t, "revision-score/itwiki-2021-08-27.jsonl")[0]) + "\n\n" +
		"event: error\nid: other-type\ndata: {}\n\n" +
		strings.Join(blocks[2:], "")
	fs := newFakeStreams(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 0 {
			writeSSE(w, stream)
			return
		}
		// Skipped events still move the position.
		if got, want := r.Header.Get("Last-Event-ID"), idOf(blocks[9]); got != want {
			t.Errorf("Last-Event-ID %q, want %q", got, want)
		}
		writeSSE(w, ":ok\n\n")
	})
	// Two wikis of the stream; the canary is of mgwiktionary.
	src := fs.source(t, StreamConfig{Wikis: []string{"mgwiktionary", "commonswiki"}})
	ctx, cancel := context.WithCancel(t.Context())
	c := &collector{}
	go func() {
		for len(fs.requests()) < 2 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	if err := src.Run(ctx, c.handle); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	evs := c.got()
	var titles []string
	for _, ev := range evs {
		if ev.Wiki != "mgwiktionary" && ev.Wiki != "commonswiki" {
			t.Errorf("wiki %s not filtered", ev.Wiki)
		}
		titles = append(titles, ev.Title)
	}
	// Of the 8 events after the canary: 3 commonswiki and 3 mgwiktionary.
	if len(evs) != 6 || evs[0].Title != "Fallen giant - geograph.org.uk - 1676905.jpg" || evs[5].Title != "arponeaban" {
		t.Errorf("%d events: %q", len(evs), titles)
	}
}

func TestEventStreamsResumeAndHandlerError(t *testing.T) {
	blocks := captureBlocks(t, "recentchange/sse-capture-2025-08-29.txt")
	fs := newFakeStreams(t, func(n int, w http.ResponseWriter, r *http.Request) {
		writeSSE(w, strings.Join(blocks[3:], ""))
	})
	src := fs.source(t, StreamConfig{LastEventID: idOf(blocks[2])})
	boom := errors.New("boom")
	var n int
	err := src.Run(t.Context(), func(ctx context.Context, ev Event) error {
		if n++; n == 2 {
			return boom
		}
		return nil
	})
	if err != boom {
		t.Fatalf("Run: %v, want the handler's error", err)
	}
	if got := fs.requests()[0].Header.Get("Last-Event-ID"); got != idOf(blocks[2]) {
		t.Errorf("resumed with %q", got)
	}
	// The failed event is not passed: resuming repeats it.
	if got := src.LastEventID(); got != idOf(blocks[3]) {
		t.Errorf("LastEventID %q, want %q", got, idOf(blocks[3]))
	}
}

func TestEventStreamsHTTPErrors(t *testing.T) {
	t.Run("4xx is final", func(t *testing.T) {
		fs := newFakeStreams(t, func(n int, w http.ResponseWriter, r *http.Request) {
			http.Error(w, "no such stream", http.StatusBadRequest)
		})
		err := fs.source(t, StreamConfig{}).Run(t.Context(), func(context.Context, Event) error { return nil })
		if err == nil || !strings.Contains(err.Error(), "400") || len(fs.requests()) != 1 {
			t.Fatalf("Run: %v after %d requests", err, len(fs.requests()))
		}
	})
	t.Run("429, 503, wrong type and idle are retried", func(t *testing.T) {
		blocks := captureBlocks(t, "recentchange/sse-capture-2025-08-29.txt")
		fs := newFakeStreams(t, func(n int, w http.ResponseWriter, r *http.Request) {
			switch n {
			case 0:
				w.Header().Set("Retry-After", "0")
				http.Error(w, "slow down", http.StatusTooManyRequests)
			case 1:
				http.Error(w, "down", http.StatusServiceUnavailable)
			case 2:
				w.Header().Set("Content-Type", "text/html")
				io.WriteString(w, "<html>maintenance</html>")
			case 3: // says nothing for longer than the idle timeout
				writeSSE(w, ":ok\n\n")
				w.(http.Flusher).Flush()
				select {
				case <-r.Context().Done():
				case <-time.After(5 * time.Second):
				}
			case 4: // sends no headers
				select {
				case <-r.Context().Done():
				case <-time.After(5 * time.Second):
				}
			default:
				writeSSE(w, strings.Join(blocks[:2], ""))
			}
		})
		src := fs.source(t, StreamConfig{IdleTimeout: 100 * time.Millisecond})
		evs, err := runFor(t, src, 1, 5*time.Second)
		if !errors.Is(err, context.Canceled) || len(evs) != 1 || len(fs.requests()) != 6 {
			t.Fatalf("Run: %v, %d events after %d requests", err, len(evs), len(fs.requests()))
		}
	})
}

func TestBackoff(t *testing.T) {
	b := newBackoff(100*time.Millisecond, time.Second)
	for i, hi := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		hi *= time.Millisecond
		if i == 4 || i == 5 {
			hi = time.Second
		}
		d := b.next()
		if d < hi/2 || d > hi {
			t.Errorf("attempt %d: %v not in [%v, %v]", i, d, hi/2, hi)
		}
	}
	b.reset()
	if d := b.next(); d > 100*time.Millisecond {
		t.Errorf("after reset: %v", d)
	}
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		v    string
		want time.Duration
		ok   bool
	}{{"5", 5 * time.Second, true}, {"", 0, false}, {"soon", 0, false},
		{"Sun, 22 Nov 2026 00:00:30 GMT", 30 * time.Second, true}, {"-3", 0, true}} {
		h := http.Header{}
		if tc.v != "" {
			h.Set("Retry-After", tc.v)
		}
		if d, ok := retryAfter(h, now); d != tc.want || ok != tc.ok {
			t.Errorf("Retry-After %q: %v %v", tc.v, d, ok)
		}
	}
}

// A handler slower than the idle timeout does not make the stream idle.
func TestEventStreamsSlowHandler(t *testing.T) {
	blocks := captureBlocks(t, "recentchange/sse-capture-2025-08-29.txt")
	fs := newFakeStreams(t, func(n int, w http.ResponseWriter, r *http.Request) {
		writeSSE(w, strings.Join(blocks[:4], ""))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	src := fs.source(t, StreamConfig{IdleTimeout: 50 * time.Millisecond})
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	n := 0
	err := src.Run(ctx, func(context.Context, Event) error {
		time.Sleep(80 * time.Millisecond)
		if n++; n == 3 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || len(fs.requests()) != 1 {
		t.Fatalf("Run: %v after %d connections", err, len(fs.requests()))
	}
}
