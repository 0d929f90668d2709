// Package connlimit bounds how many connections a listener has open at
// once. Each open connection holds memory (its goroutine, its buffers, the
// headers being read), so a server that accepts every
// connection can be made to grow without end by clients that open many
// and send slowly.
package connlimit

import (
	"net"
	"sync"
)

// Listen returns l limited to n connections open at once (n at least 1).
// Accept waits while n are open; the connections beyond wait meanwhile in
// the kernel's queue, as they would for a busy server.
func Listen(l net.Listener, n int) net.Listener {
	return &listener{Listener: l, slots: make(chan struct{}, max(n, 1)), done: make(chan struct{})}
}

type listener struct {
	net.Listener
	slots     chan struct{} // one per open connection
	done      chan struct{} // closed by Close
	closeOnce sync.Once
}

func (l *listener) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &conn{Conn: c, release: func() { <-l.slots }}, nil
}

func (l *listener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// conn gives its slot back when it is closed (once, however often).
type conn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// CloseWrite half-closes a TCP connection, as net/http does to let a
// client read an error response before the connection goes.
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
