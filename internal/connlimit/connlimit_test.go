package connlimit_test

import (
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigilwiki/vigil/internal/connlimit"
)

// TestLimit: with two connections open, a third is not accepted until one
// of them closes; closing one twice frees one slot, not two.
func TestLimit(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := connlimit.Listen(inner, 2)
	accepted := make(chan net.Conn, 8)
	var n atomic.Int64
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				close(accepted)
				return
			}
			n.Add(1)
			accepted <- c
		}
	}()
	dial := func() net.Conn {
		c, err := net.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	for range 4 {
		dial() // the kernel completes the handshake; Accept decides
	}
	first := <-accepted
	<-accepted
	select {
	case <-accepted:
		t.Fatal("a third connection was accepted while two were open")
	case <-time.After(200 * time.Millisecond):
	}
	first.Close()
	first.Close() // a second Close must not free another slot
	select {
	case <-accepted:
	case <-time.After(5 * time.Second):
		t.Fatal("no connection accepted after one closed")
	}
	select {
	case <-accepted:
		t.Fatalf("%d accepted with two slots and one closed (twice)", n.Load())
	case <-time.After(200 * time.Millisecond):
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	for range accepted { // Accept returns once closed, even with no slot free
	}
}
