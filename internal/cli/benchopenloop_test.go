package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// loopRecord is one call of the open loop's record.
type loopRecord struct {
	due, sent, at time.Time
	status        int
	body          string
	err           error
}

// newTestLoop is an open loop whose request k asks host for /k, and what
// it has recorded so far.
func newTestLoop(host string) (*openLoop, func() []loopRecord) {
	var (
		mu   sync.Mutex
		recs []loopRecord
		next atomic.Int64
	)
	l := &openLoop{
		request: func() []byte {
			return fmt.Appendf(nil, "POST /%d HTTP/1.1\r\nHost: %s\r\nContent-Length: 0\r\n\r\n", next.Add(1), host)
		},
		record: func(due, sent time.Time, status int, body []byte, err error) {
			mu.Lock()
			defer mu.Unlock()
			recs = append(recs, loopRecord{due: due, sent: sent, at: time.Now(), status: status, body: string(body), err: err})
		},
	}
	return l, func() []loopRecord {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(recs)
	}
}

// runOpenLoop runs an open loop of n requests interval apart against srv
// on conns connections; request k asks for /k, and the records come back
// in the order they were made.
func runOpenLoop(t *testing.T, srv *httptest.Server, conns, n int, interval time.Duration) []loopRecord {
	t.Helper()
	host := strings.TrimPrefix(srv.URL, "http://")
	l, records := newTestLoop(host)
	cs := make([]*benchConn, conns)
	for i := range cs {
		cs[i] = &benchConn{addr: host}
		if err := cs[i].dial(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cs[i].close)
		// As the warm-up's requests leave them (post).
		cs[i].conn.SetDeadline(time.Now().Add(50 * time.Millisecond))
	}
	from := time.Now().Add(10 * time.Millisecond)
	done := make(chan struct{})
	go func() {
		l.run(context.Background(), cs, from, from.Add(time.Duration(n)*interval), interval)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the open loop did not end")
	}
	recs := records()
	// Each due time once: from, from+interval, ...
	seen := map[time.Duration]int{}
	for _, r := range recs {
		seen[r.due.Sub(from)]++
	}
	for k := range n {
		if c := seen[time.Duration(k)*interval]; c != 1 {
			t.Errorf("request due at +%v recorded %d times", time.Duration(k)*interval, c)
		}
	}
	if len(recs) != n {
		t.Errorf("%d records, want %d", len(recs), n)
	}
	return recs
}

// echoPath answers each request with its path's number.
func echoPath(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	fmt.Fprint(w, strings.TrimPrefix(r.URL.Path, "/"))
}

// checkAnswered: every request answered, each answer once, none before
// the request was due or sent.
func checkAnswered(t *testing.T, recs []loopRecord) {
	t.Helper()
	bodies := map[string]bool{}
	for _, r := range recs {
		if r.err != nil || r.status != 200 {
			t.Errorf("due %v: status %d, error %v", r.due, r.status, r.err)
			continue
		}
		if bodies[r.body] {
			t.Errorf("answer %q recorded twice", r.body)
		}
		bodies[r.body] = true
		if r.sent.Before(r.due) || r.at.Before(r.sent) {
			t.Errorf("due %v, sent %v, answered %v: out of order", r.due, r.sent, r.at)
		}
	}
	for k := 1; k <= len(recs); k++ {
		if !bodies[strconv.Itoa(k)] {
			t.Errorf("no answer to request %d", k)
		}
	}
}

// TestOpenLoop: each request sent once at its time, its answer matched to
// it; and when the server is slower than the rate, requests wait for a
// connection and their latency counts from when they were due.
func TestOpenLoop(t *testing.T) {
	t.Run("on time", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(echoPath))
		defer srv.Close()
		checkAnswered(t, runOpenLoop(t, srv, 4, 100, 2*time.Millisecond))
	})
	t.Run("slower than the rate", func(t *testing.T) {
		var busy, most atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n := busy.Add(1)
			defer busy.Add(-1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			time.Sleep(30 * time.Millisecond)
			echoPath(w, r)
		}))
		defer srv.Close()
		// 12 requests 5 ms apart on 2 connections that each take 30 ms
		// a request: the last, due at 55 ms, is the sixth on its
		// connection, sent when the fifth is answered, at 5 + 5 × 30 ms:
		// about 100 ms late.
		recs := runOpenLoop(t, srv, 2, 12, 5*time.Millisecond)
		checkAnswered(t, recs)
		if m := most.Load(); m != 2 {
			t.Errorf("at most %d requests at the server at once, want 2 (one per connection)", m)
		}
		last := recs[0]
		for _, r := range recs {
			if r.due.After(last.due) {
				last = r
			}
		}
		if late := last.sent.Sub(last.due); late < 90*time.Millisecond {
			t.Errorf("the last request was sent %v after it was due; want over 90 ms, behind the answers before it", late)
		}
		if lat := last.at.Sub(last.due); lat < 120*time.Millisecond {
			t.Errorf("the last request's latency from when it was due: %v, want over 120 ms", lat)
		}
	})
}

// TestOpenLoopConnectionsClosed: connections the server closes, after an
// answer or while idle, are dialled again and nothing is lost.
func TestOpenLoopConnectionsClosed(t *testing.T) {
	t.Run("after an answer", func(t *testing.T) {
		var n atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1)%3 == 0 {
				w.Header().Set("Connection", "close")
			}
			echoPath(w, r)
		}))
		defer srv.Close()
		checkAnswered(t, runOpenLoop(t, srv, 3, 30, 2*time.Millisecond))
	})
	t.Run("while idle", func(t *testing.T) {
		srv := httptest.NewUnstartedServer(http.HandlerFunc(echoPath))
		srv.Config.IdleTimeout = 20 * time.Millisecond
		srv.Start()
		defer srv.Close()
		// Four connections taken in turn, one request each 50 ms: each
		// is idle 200 ms between requests, and the server closes it.
		checkAnswered(t, runOpenLoop(t, srv, 4, 8, 50*time.Millisecond))
	})
}

// TestOpenLoopNoAnswer: a server that stops answering ends the run after
// openLoopDrain, each request recorded once as failed.
func TestOpenLoopNoAnswer(t *testing.T) {
	saved := openLoopDrain
	openLoopDrain = 200 * time.Millisecond
	t.Cleanup(func() { openLoopDrain = saved })
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
	}))
	defer srv.Close()
	defer close(release)
	start := time.Now()
	recs := runOpenLoop(t, srv, 2, 5, time.Millisecond)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
	for _, r := range recs {
		if r.err == nil {
			t.Errorf("due %v: status %d with no error from a server that did not answer", r.due, r.status)
		}
	}
	var notSent int
	for _, r := range recs {
		if r.err == errNotSent {
			notSent++
		}
	}
	if notSent != 3 {
		t.Errorf("%d requests recorded as not sent, want 3 (5 due, 2 connections)", notSent)
	}
}

// TestOpenLoopUnconnected: a connection whose warm-up failed (post left it
// closed) is dialled again, not written to as it is.
func TestOpenLoopUnconnected(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(echoPath))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	l, records := newTestLoop(host)
	cs := []*benchConn{{addr: host}, {addr: host}}
	defer cs[0].close()
	defer cs[1].close()
	from := time.Now()
	l.run(context.Background(), cs, from, from.Add(10*time.Millisecond), time.Millisecond)
	recs := records()
	checkAnswered(t, recs)
	if len(recs) != 10 {
		t.Errorf("%d records, want 10", len(recs))
	}
}

// TestOpenLoopOneProcessor: with GOMAXPROCS=1 the pacer, which keeps its
// processor while it sleeps, must not leave the readers waiting for the
// runtime to preempt it (every 10 ms or so: a median latency of about
// 100 ms at 1,000/s against a fraction of a millisecond).
func TestOpenLoopOneProcessor(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	srv := httptest.NewServer(http.HandlerFunc(echoPath))
	defer srv.Close()
	recs := runOpenLoop(t, srv, 4, 300, time.Millisecond)
	checkAnswered(t, recs)
	lat := make([]time.Duration, len(recs))
	for i, r := range recs {
		lat[i] = r.at.Sub(r.due)
	}
	slices.Sort(lat)
	if median := lat[len(lat)/2]; median > 20*time.Millisecond {
		t.Errorf("median latency %v on one processor: the readers waited for the pacer", median)
	}
	if p := runtime.GOMAXPROCS(0); p != 1 {
		t.Errorf("GOMAXPROCS %d after the run, want it restored to 1", p)
	}
}

// failingWrites is a connection whose writes fail.
type failingWrites struct{ net.Conn }

func (failingWrites) Write([]byte) (int, error) { return 0, errors.New("write refused") }

// TestOpenLoopWriteFails: a request whose write fails is recorded as
// failed, with the write's error, and its connection is dialled again for
// the requests after it.
func TestOpenLoopWriteFails(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(echoPath))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	l, records := newTestLoop(host)
	c := &benchConn{addr: host}
	if err := c.dial(); err != nil {
		t.Fatal(err)
	}
	defer c.close()
	c.conn = failingWrites{c.conn}
	from := time.Now()
	l.run(context.Background(), []*benchConn{c}, from, from.Add(50*time.Millisecond), 10*time.Millisecond)
	recs := records()
	if len(recs) != 5 {
		t.Fatalf("%d records, want 5", len(recs))
	}
	slices.SortFunc(recs, func(a, b loopRecord) int { return a.due.Compare(b.due) })
	if recs[0].err == nil || !strings.Contains(recs[0].err.Error(), "write refused") {
		t.Errorf("the first request: status %d, error %v; want the write's error", recs[0].status, recs[0].err)
	}
	// Request 1 was never written; the server saw 2 to 5.
	for _, r := range recs[1:] {
		if r.err != nil || r.status != 200 || r.body == "1" {
			t.Errorf("due %v after the failed write: status %d, body %q, error %v", r.due, r.status, r.body, r.err)
		}
	}
}

// TestOpenLoopServerGone: when the server goes away mid-run, every
// request due is still recorded once, those after as failed, and the run
// ends.
func TestOpenLoopServerGone(t *testing.T) {
	saved := openLoopDrain
	openLoopDrain = 200 * time.Millisecond
	t.Cleanup(func() { openLoopDrain = saved })
	srv := httptest.NewServer(http.HandlerFunc(echoPath))
	time.AfterFunc(60*time.Millisecond, srv.Close)
	recs := runOpenLoop(t, srv, 2, 60, 2*time.Millisecond)
	var ok, failed int
	for _, r := range recs {
		if r.err == nil && r.status == 200 {
			ok++
		} else if r.err != nil {
			failed++
		}
	}
	if ok == 0 || failed == 0 || ok+failed != len(recs) {
		t.Errorf("%d answered, %d failed of %d; want some of each, and nothing else", ok, failed, len(recs))
	}
}

// TestOpenLoopCancelled: a cancelled run stops sending and returns at
// once, having recorded each request it made due.
func TestOpenLoopCancelled(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
	}))
	defer srv.Close()
	defer close(release)
	host := strings.TrimPrefix(srv.URL, "http://")
	l, records := newTestLoop(host)
	cs := []*benchConn{{addr: host}, {addr: host}}
	defer cs[0].close()
	defer cs[1].close()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	from := time.Now()
	l.run(ctx, cs, from, from.Add(time.Hour), 10*time.Millisecond)
	if d := time.Since(from); d > 10*time.Second {
		t.Errorf("the cancelled run took %v", d)
	}
	recs := records()
	if len(recs) < 3 || len(recs) > 20 {
		t.Errorf("%d records for about 50 ms at 100/s", len(recs))
	}
	due := map[time.Time]bool{}
	for _, r := range recs {
		if due[r.due] || r.err == nil {
			t.Errorf("due %v: recorded twice, or without the error of an answer that never came (%v)", r.due, r.err)
		}
		due[r.due] = true
	}
}
