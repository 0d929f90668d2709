package cli

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"sync"
	"time"
)

// openLoop sends requests at fixed intervals whatever the server does (an
// open loop: a slow server cannot slow the load down and so hide its
// latency). The pacer writes each request itself, on the connection free
// the longest, and each connection has a reader that takes its answers and
// passes the connection on. So a request costs the load generator no
// hand-over from one goroutine to another, which on a virtual machine is a
// thread woken up: with a channel to 64 senders the load generator spent
// about 140 µs of CPU per request at 1,000/s, sharing the server's two cores
// (docs/performance.md, twenty-eighth session).
type openLoop struct {
	request func() []byte // the next request, whole
	// record is called once for each request due, from when it was due,
	// when it was sent and how it was answered (err when it was not).
	record func(due, sent time.Time, status int, body []byte, err error)

	mu      sync.Mutex
	conns   []*loopConn
	free    []*loopConn // oldest first: every connection is kept in use
	pending []time.Time // due while no connection was free
	closing bool
	// inflight counts the requests due and not yet recorded.
	inflight sync.WaitGroup
}

// loopConn is a connection of the open loop and the request it carries.
type loopConn struct {
	benchConn
	busy      bool // a request was sent and its answer not yet read
	due, sent time.Time
	sendErr   error // the request's write failed
}

// errNotSent is recorded for requests still waiting for a connection when
// the run ends.
var errNotSent = errors.New("not sent: no connection was free")

// openLoopDrain is how long the run waits for the answers to the last
// requests before it counts them as failed.
var openLoopDrain = 30 * time.Second

// run sends a request due at from, from+interval, ... up to end, on conns
// (used by nothing else; those not connected are dialled), and returns when
// each one has been recorded.
func (l *openLoop) run(ctx context.Context, conns []*benchConn, from, end time.Time, interval time.Duration) {
	// The pacer keeps its processor while it sleeps (sleepUntil): one
	// more for the run, or with one alone (GOMAXPROCS=1, or a container's
	// single CPU) the readers would run only when the runtime preempts
	// the pacer, every 10 ms or so.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + 1))
	var readers sync.WaitGroup
	for _, bc := range conns {
		if bc.conn == nil && bc.dial() != nil {
			continue // its warm-up failed, and it cannot be dialled again
		}
		c := &loopConn{benchConn: *bc}
		// No deadline for reading: a reader waits as long as its
		// connection is idle (post leaves one).
		c.conn.SetReadDeadline(time.Time{})
		l.conns = append(l.conns, c)
		l.free = append(l.free, c)
		readers.Add(1)
		go func() {
			defer readers.Done()
			l.read(c)
		}()
	}
	for t := from; t.Before(end) && ctx.Err() == nil; t = t.Add(interval) {
		sleepUntil(t)
		l.inflight.Add(1)
		l.start(nil, t)
	}
	drained := make(chan struct{})
	go func() { l.inflight.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-ctx.Done():
	case <-time.After(openLoopDrain):
	}
	// The readers still waiting for an answer record an error.
	l.mu.Lock()
	l.closing = true
	pending := l.pending
	l.pending = nil
	for _, c := range l.conns {
		c.conn.Close()
	}
	l.mu.Unlock()
	for _, t := range pending {
		l.record(t, t, 0, nil, errNotSent)
		l.inflight.Done()
	}
	readers.Wait()
	<-drained
}

// start sends the request due at t on c, or on the connection free the
// longest when c is nil; with none free, the request waits for the first
// connection whose answer comes.
func (l *openLoop) start(c *loopConn, t time.Time) {
	l.mu.Lock()
	if c == nil {
		if len(l.free) == 0 {
			l.pending = append(l.pending, t)
			l.mu.Unlock()
			return
		}
		c = l.free[0]
		l.free = l.free[1:]
	}
	c.busy, c.due, c.sent, c.sendErr = true, t, time.Now(), nil
	conn := c.conn
	l.mu.Unlock()
	conn.SetWriteDeadline(time.Now().Add(30 * time.Second))
	if _, err := conn.Write(l.request()); err != nil {
		// The reader sees the connection fail and records the error.
		l.mu.Lock()
		if c.busy && c.due.Equal(t) {
			c.sendErr = err
		}
		l.mu.Unlock()
		conn.Close()
	}
}

// release passes a connection whose answer has come on to the oldest
// request waiting, or back to the free ones.
func (l *openLoop) release(c *loopConn) {
	l.mu.Lock()
	if len(l.pending) > 0 {
		t := l.pending[0]
		l.pending = l.pending[1:]
		l.mu.Unlock()
		l.start(c, t)
		return
	}
	l.free = append(l.free, c)
	l.mu.Unlock()
}

// read takes c's answers until the run ends. A connection that fails is
// dialled again; one that cannot be is left out of the run. A connection the
// server closes while idle, just as the pacer writes to it, fails that
// request: rare with `vigil serve`, which keeps idle connections 2 minutes.
// The connection is passed on before the answer is recorded, so that a
// request waiting for one does not wait for the recording too.
func (l *openLoop) read(c *loopConn) {
	for {
		status, body, keep, err := c.receive()
		l.mu.Lock()
		busy, due, sent := c.busy, c.due, c.sent
		if c.sendErr != nil {
			err = c.sendErr
		}
		c.busy = false
		closing := l.closing
		if !keep && !busy {
			// The server closed an idle connection: the pacer must not
			// pick it while it is dialled again.
			l.free = slices.DeleteFunc(l.free, func(f *loopConn) bool { return f == c })
		}
		l.mu.Unlock()
		done := func() {
			if busy {
				l.record(due, sent, status, body, err)
				l.inflight.Done()
			}
		}
		if closing {
			done()
			return
		}
		if !keep {
			c.conn.Close()
			fresh := benchConn{addr: c.addr}
			derr := fresh.dial()
			l.mu.Lock()
			if derr != nil {
				l.conns = slices.DeleteFunc(l.conns, func(f *loopConn) bool { return f == c })
			} else {
				c.conn, c.br = fresh.conn, fresh.br
				if l.closing {
					c.conn.Close()
				}
			}
			l.mu.Unlock()
			if derr != nil {
				done()
				return
			}
		}
		if busy || !keep {
			l.release(c)
		}
		done()
	}
}
