package follow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"sync"
	"time"
)

// DefaultStreamURL is Wikimedia's recentchange stream.
const DefaultStreamURL = "https://stream.wikimedia.org/v2/stream/recentchange"

// DefaultUserAgent names Vigil and where to reach its maintainers; set
// your own contact with UserAgent.
const DefaultUserAgent = "Vigil/dev (https://github.com/vigilwiki/vigil) Go-http-client"

// UserAgent builds a User-Agent in the form Wikimedia's policy asks for:
// the client, its version and a contact (an e-mail address or a URL).
func UserAgent(version, contact string) string {
	if version == "" {
		version = "dev"
	}
	return fmt.Sprintf("Vigil/%s (%s) Go-http-client", version, contact)
}

const defaultIdleTimeout = 2 * time.Minute

// maxServerWait caps how long a server's Retry-After (or SSE retry) makes
// a source wait.
const maxServerWait = 10 * time.Minute

// StreamConfig configures an EventStreams source.
type StreamConfig struct {
	// URL is the stream: EventStreams' /v2/stream/ and one or more stream
	// names joined by commas, e.g. ".../v2/stream/recentchange" or
	// ".../v2/stream/page-create,revision-create". Default
	// DefaultStreamURL. A page creation is in both recentchange and
	// page-create: follow one of them, or de-duplicate.
	URL string
	// Wikis are the wiki ids to keep (e.g. "enwiki"); empty keeps all.
	Wikis []string
	// LastEventID resumes after that event: an Event.Position.
	LastEventID string
	// UserAgent is sent with every request; default DefaultUserAgent.
	UserAgent string
	// Client makes the requests; default one without an overall timeout
	// (a stream lasts long).
	Client *http.Client
	Logger *slog.Logger
	// MinBackoff and MaxBackoff bound the delay between reconnections,
	// which doubles (with jitter) while connections fail; defaults 1 s
	// and 1 min.
	MinBackoff, MaxBackoff time.Duration
	// IdleTimeout reconnects when nothing arrives for that long; default
	// 2 min.
	IdleTimeout time.Duration
	// MaxLine bounds one line of the stream (default 1 MiB); a longer
	// event is logged and skipped.
	MaxLine int
}

// EventStreams follows a Server-Sent Events stream of Wikimedia's
// EventStreams service (or any EventGate stream of the recentchange,
// revision-create, page-delete or page-move schemas). It reconnects with
// Last-Event-ID after a failure or the end of a stream, drops canary
// events and the wikis not configured, and logs and skips events it
// cannot read. Event.Position is the SSE last event ID.
type EventStreams struct {
	cfg   StreamConfig
	wikis wikiSet
	log   *slog.Logger

	mu     sync.Mutex
	lastID string
}

var _ Source = (*EventStreams)(nil)

// NewEventStreams returns an EventStreams source.
func NewEventStreams(cfg StreamConfig) (*EventStreams, error) {
	if cfg.URL == "" {
		cfg.URL = DefaultStreamURL
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = DefaultUserAgent
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{}
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = defaultIdleTimeout
	}
	if _, err := http.NewRequest(http.MethodGet, cfg.URL, nil); err != nil {
		return nil, fmt.Errorf("eventstreams: url: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &EventStreams{cfg: cfg, wikis: newWikiSet(cfg.Wikis), log: log.With("source", SourceEventStreams),
		lastID: cfg.LastEventID}, nil
}

// LastEventID is where the source would resume: the id of the last event
// handled or skipped.
func (s *EventStreams) LastEventID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastID
}

func (s *EventStreams) setLastID(id string) {
	s.mu.Lock()
	s.lastID = id
	s.mu.Unlock()
}

// handlerError carries the handler's error out of a connection.
type handlerError struct{ err error }

func (e *handlerError) Error() string { return e.err.Error() }

// permanentError is a failure that reconnecting will not mend.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Run follows the stream until ctx is done (it returns ctx.Err()), the
// handler fails (it returns the handler's error, unwrapped) or the server
// refuses the request for good (a 4xx status other than 408 and 429).
func (s *EventStreams) Run(ctx context.Context, h Handler) error {
	bo := newBackoff(s.cfg.MinBackoff, s.cfg.MaxBackoff)
	for {
		res := s.connect(ctx, h)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var herr *handlerError
		if errors.As(res.err, &herr) {
			return herr.err
		}
		var perr *permanentError
		if errors.As(res.err, &perr) {
			return fmt.Errorf("eventstreams %s: %w", s.cfg.URL, perr.err)
		}
		if res.delivered {
			bo.reset()
		}
		d := max(bo.next(), min(res.wait, maxServerWait))
		s.log.Warn("eventstreams: reconnecting", "err", res.err, "delay", d, "last_event_id", s.LastEventID())
		if err := sleep(ctx, d); err != nil {
			return err
		}
	}
}

type connResult struct {
	delivered bool          // at least one event was read
	wait      time.Duration // the server asked to wait (Retry-After, SSE retry)
	err       error         // why the connection ended
}

// connect reads one connection to its end.
func (s *EventStreams) connect(ctx context.Context, h Handler) connResult {
	connCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// The idle timer also bounds the wait for the response's headers.
	errIdle := fmt.Errorf("nothing received for %s", s.cfg.IdleTimeout)
	idle := time.AfterFunc(s.cfg.IdleTimeout, func() { cancel(errIdle) })
	defer idle.Stop()
	req, err := http.NewRequestWithContext(connCtx, http.MethodGet, s.cfg.URL, nil)
	if err != nil {
		return connResult{err: &permanentError{err}}
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	req.Header.Set("User-Agent", s.cfg.UserAgent)
	if id := s.LastEventID(); id != "" {
		req.Header.Set("Last-Event-ID", id)
	}
	resp, err := s.cfg.Client.Do(req)
	if err != nil {
		if cause := context.Cause(connCtx); cause != nil && ctx.Err() == nil {
			err = cause
		}
		return connResult{err: fmt.Errorf("connect: %w", err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		err := fmt.Errorf("connect: HTTP %s", resp.Status)
		wait, _ := retryAfter(resp.Header, time.Now())
		if resp.StatusCode >= 400 && resp.StatusCode < 500 &&
			resp.StatusCode != http.StatusRequestTimeout && resp.StatusCode != http.StatusTooManyRequests {
			return connResult{err: &permanentError{err}}
		}
		return connResult{wait: wait, err: err}
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/event-stream" {
		return connResult{err: fmt.Errorf("connect: content type %q, not text/event-stream", mt)}
	}

	body := &idleReader{r: resp.Body, timer: idle, d: s.cfg.IdleTimeout}
	sc := newSSEScanner(body, s.LastEventID(), s.cfg.MaxLine, 0)
	res := connResult{}
	s.log.Info("eventstreams: connected", "url", s.cfg.URL, "last_event_id", s.LastEventID())
	for {
		msg, err := sc.Next()
		res.wait = sc.retry
		switch {
		case errors.Is(err, errSSETooLarge):
			s.log.Warn("eventstreams: skipped an event", "err", err)
			s.setLastID(sc.LastID())
			continue
		case errors.Is(err, io.EOF):
			res.err = errors.New("stream ended")
			return res
		case errors.Is(err, io.ErrUnexpectedEOF):
			res.err = errors.New("stream ended inside an event")
			return res
		case err != nil:
			if cause := context.Cause(connCtx); cause != nil && ctx.Err() == nil {
				err = cause
			}
			res.err = fmt.Errorf("read: %w", err)
			return res
		}
		res.delivered = true
		idle.Stop() // a slow handler is not an idle stream
		err = s.handle(ctx, msg, h)
		idle.Reset(s.cfg.IdleTimeout)
		if err != nil {
			res.err = &handlerError{err}
			return res
		}
		s.setLastID(msg.ID)
	}
}

// handle decodes one message and passes it on, unless it is to be
// skipped.
func (s *EventStreams) handle(ctx context.Context, msg sseMessage, h Handler) error {
	if msg.Event != "message" {
		s.log.Debug("eventstreams: skipped a non-message event", "event", msg.Event, "id", msg.ID)
		return nil
	}
	ev, err := DecodeEvent([]byte(msg.Data))
	switch {
	case errors.Is(err, ErrCanary):
		s.log.Debug("eventstreams: dropped a canary event", "id", msg.ID)
		return nil
	case err != nil:
		s.log.Warn("eventstreams: skipped an event", "err", err, "id", msg.ID, "data", clip(msg.Data, 200))
		return nil
	case !s.wikis.keep(ev.Wiki):
		return nil
	}
	ev.Source, ev.Position = SourceEventStreams, msg.ID
	return h(ctx, ev)
}

// idleReader pushes back an idle timer at every read.
type idleReader struct {
	r     io.Reader
	timer *time.Timer
	d     time.Duration
}

func (r *idleReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		r.timer.Reset(r.d)
	}
	return n, err
}

// clip shortens a string for a log line.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
