package follow

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
)

// RCFeedConfig configures an RC feed source.
type RCFeedConfig struct {
	// Addr is the UDP address to listen on, e.g. "127.0.0.1:9391": the
	// host and port of $wgRCFeeds[...]['uri'] = 'udp://HOST:PORT'.
	Addr string
	// Prefix is the feed's prefix, if its URI has one
	// ('udp://HOST:PORT/PREFIX'): MediaWiki then starts every line with
	// "PREFIX ".
	Prefix string
	// Wikis are the wiki ids to keep; empty keeps all.
	Wikis []string
	// From are the networks datagrams may come from (the wiki's servers);
	// others are dropped: UDP senders are not authenticated. Default:
	// loopback only.
	From   []netip.Prefix
	Logger *slog.Logger
}

// RCFeed receives MediaWiki's RC feed: one datagram per recent change,
// formatted by JSONRCFeedFormatter ($wgRCFeeds with 'formatter' =>
// 'JSONRCFeedFormatter'). UDP loses what arrives while nobody listens, so
// there is no resuming: Event.Position is the rcid, for information.
type RCFeed struct {
	conn   net.PacketConn
	prefix []byte
	wikis  wikiSet
	from   []netip.Prefix
	log    *slog.Logger
}

var _ Source = (*RCFeed)(nil)

// ListenRCFeed binds the UDP address at once, so that no datagram sent
// after it returns is lost; Run reads them. Close releases the socket.
func ListenRCFeed(cfg RCFeedConfig) (*RCFeed, error) {
	conn, err := net.ListenPacket("udp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("rc feed: listen: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	from := cfg.From
	if len(from) == 0 {
		from = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	}
	f := &RCFeed{conn: conn, wikis: newWikiSet(cfg.Wikis), from: from, log: log.With("source", SourceRCFeed)}
	if cfg.Prefix != "" {
		f.prefix = []byte(cfg.Prefix + " ")
	}
	return f, nil
}

// Addr is the address listened on (useful with port 0).
func (f *RCFeed) Addr() net.Addr { return f.conn.LocalAddr() }

// Close releases the socket; a running Run returns.
func (f *RCFeed) Close() error { return f.conn.Close() }

// Run reads datagrams until ctx is done (then it closes the socket and
// returns ctx.Err()) or the handler fails. A datagram it cannot read is
// logged and skipped.
func (f *RCFeed) Run(ctx context.Context, h Handler) error {
	stop := context.AfterFunc(ctx, func() { f.conn.Close() })
	defer stop()
	buf := make([]byte, 64<<10) // MediaWiki's UDPTransport sends at most 65507 bytes
	for {
		n, from, err := f.conn.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("rc feed: %w", err)
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("rc feed: read: %w", err)
		}
		if !f.allowed(from) {
			f.log.Warn("rc feed: dropped a datagram from an address not allowed", "from", from.String())
			continue
		}
		ev, err := f.decode(buf[:n])
		switch {
		case errors.Is(err, ErrCanary):
			continue
		case err != nil:
			f.log.Warn("rc feed: skipped a datagram", "err", err, "from", from.String(), "bytes", n,
				"data", clip(string(buf[:min(n, 200)]), 200))
			continue
		case !f.wikis.keep(ev.Wiki):
			continue
		}
		if err := h(ctx, ev); err != nil {
			return err
		}
	}
}

// allowed reports whether a datagram's sender is in From.
func (f *RCFeed) allowed(from net.Addr) bool {
	ua, ok := from.(*net.UDPAddr)
	if !ok {
		return false
	}
	ip, ok := netip.AddrFromSlice(ua.IP)
	if !ok {
		return false
	}
	ip = ip.Unmap()
	for _, p := range f.from {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// decode reads one datagram.
func (f *RCFeed) decode(b []byte) (Event, error) {
	b = bytes.TrimSpace(b)
	if f.prefix != nil {
		if !bytes.HasPrefix(b, f.prefix) {
			return Event{}, fmt.Errorf("no prefix %q", f.prefix)
		}
		b = b[len(f.prefix):]
	}
	ev, err := DecodeEvent(b)
	if err != nil {
		return Event{}, err
	}
	ev.Source = SourceRCFeed
	if ev.RCID != 0 {
		ev.Position = strconv.FormatInt(ev.RCID, 10)
	}
	return ev, nil
}
