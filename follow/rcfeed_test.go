package follow

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func sendDatagrams(t *testing.T, to net.Addr, msgs ...[]byte) {
	t.Helper()
	conn, err := net.Dial("udp", to.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, m := range msgs {
		if _, err := conn.Write(m); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRCFeedUDP(t *testing.T) {
	lines := sampleLines(t, "local-mediawiki-1.39/rcfeed-udp-JSONRCFeedFormatter.jsonl")
	if len(lines) != 11 {
		t.Fatalf("%d lines", len(lines))
	}
	feed, err := ListenRCFeed(RCFeedConfig{Addr: "127.0.0.1:0", Wikis: []string{"my_wiki"}, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer feed.Close()
	other := strings.Replace(string(lines[0]), `"wiki":"my_wiki"`, `"wiki":"otherwiki"`, 1)
	canary := strings.Replace(string(lines[0]), `"server_url"`, `"meta":{"domain":"canary"},"server_url"`, 1)
	var msgs [][]byte
	msgs = append(msgs, []byte("not json"), []byte(canary), []byte(other))
	for _, l := range lines {
		msgs = append(msgs, append(l, '\n')) // MediaWiki adds no newline without a prefix; accept one
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	c := &collector{n: 11, cancel: cancel}
	done := make(chan error, 1)
	go func() { done <- feed.Run(ctx, c.handle) }()
	sendDatagrams(t, feed.Addr(), msgs...)
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v", err)
	}
	evs := c.got()
	if len(evs) != 11 {
		t.Fatalf("%d events, want 11", len(evs))
	}
	for i, ev := range evs {
		if ev.Wiki != "my_wiki" || ev.Source != SourceRCFeed || ev.Position == "" {
			t.Errorf("event %d: %+v", i, ev)
		}
	}
	if e := evs[1]; e.Type != TypeLog || e.LogType != "block" || e.Title != "127.0.0.3" || e.User != "Admin" ||
		e.Comment != "spam" || e.Position != "14" {
		t.Errorf("block: %+v", e)
	}
	if e := evs[4]; e.LogType != "newusers" || e.LogAction != "create" || e.Title != "NewSpammer1" {
		t.Errorf("newusers: %+v", e)
	}
	if e := evs[10]; e.Type != TypeCategorize || e.PrefixedTitle != "Category:Test" || e.Position != "24" {
		t.Errorf("categorize: %+v", e)
	}
	// The socket is closed when Run ends.
	if _, err := net.ListenPacket("udp", feed.Addr().String()); err != nil {
		t.Errorf("address still taken: %v", err)
	}
}

func TestRCFeedPrefixAndWikis(t *testing.T) {
	lines := sampleLines(t, "local-mediawiki-1.39/rcfeed-udp-JSONRCFeedFormatter.jsonl")
	feed, err := ListenRCFeed(RCFeedConfig{Addr: "127.0.0.1:0", Prefix: "mw", Wikis: []string{"my_wiki"}})
	if err != nil {
		t.Fatal(err)
	}
	defer feed.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	c := &collector{n: 1, cancel: cancel}
	done := make(chan error, 1)
	go func() { done <- feed.Run(ctx, c.handle) }()
	other := strings.Replace(string(lines[0]), `"wiki":"my_wiki"`, `"wiki":"otherwiki"`, 1)
	sendDatagrams(t, feed.Addr(), lines[2], []byte("mw "+other+"\n"), []byte("mw "+string(lines[2])+"\n"))
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v", err)
	}
	if evs := c.got(); len(evs) != 1 || evs[0].RCID != 15 || evs[0].User != "Admin" || !evs[0].Minor {
		t.Errorf("events %+v", evs)
	}
	if _, err := ListenRCFeed(RCFeedConfig{Addr: "127.0.0.1:99999"}); err == nil {
		t.Error("bad address accepted")
	}
}

// TestRCFeedSenders: datagrams from outside the allowed networks are
// dropped (UDP senders are not authenticated); loopback is allowed by
// default.
func TestRCFeedSenders(t *testing.T) {
	lines := sampleLines(t, "local-mediawiki-1.39/rcfeed-udp-JSONRCFeedFormatter.jsonl")
	for _, tt := range []struct {
		from []netip.Prefix
		want int
	}{{nil, 1}, {[]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, 0}} {
		feed, err := ListenRCFeed(RCFeedConfig{Addr: "127.0.0.1:0", From: tt.from, Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
		c := &collector{n: 1, cancel: cancel}
		done := make(chan error, 1)
		go func() { done <- feed.Run(ctx, c.handle) }()
		sendDatagrams(t, feed.Addr(), lines[0])
		<-done
		cancel()
		feed.Close()
		if got := len(c.got()); got != tt.want {
			t.Errorf("from %v: %d events, want %d", tt.from, got, tt.want)
		}
	}
}
