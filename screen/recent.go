package screen

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/vigilwiki/vigil"
)

// RecentConfig sets the rolling window of screened actions that filters
// can be tested on before they are enabled.
type RecentConfig struct {
	MaxAge     time.Duration // default 7 days
	MaxActions int           // default 100,000
	Disabled   bool
	// KeepAll keeps every screened action, so that on a busy wiki the
	// window is only the newest MaxActions (minutes at 1,000 a second).
	// By default at most MaxActions per MaxAge are kept, as a uniform
	// sample when traffic is higher: the window spans MaxAge.
	KeepAll bool
	// MaxPerSecond caps how many actions a second go into the window
	// (default 5), whatever MaxActions per MaxAge would allow: encoding,
	// compressing and writing a burst of a thousand 50 KB actions took the
	// CPU that screening needed (at 1,000 actions a second the first second
	// after a start, when the budget is full, stalled for up to 0.6 s).
	MaxPerSecond float64
}

// recentWriter keeps the window: screened actions, without their
// protected fields, compressed, written in batches off the save path. It
// is a sample for testing: when the database falls behind, actions are
// skipped rather than slowing screening.
type recentWriter struct {
	store vigil.RecentStore
	cfg   RecentConfig
	log   *slog.Logger
	now   func() time.Time
	ch    chan *vigil.Action

	// Two token buckets: the budget, MaxActions per MaxAge in bursts of
	// up to 1,000; and the pace, MaxPerSecond in bursts of a second's worth.
	mu           sync.Mutex
	budget, pace bucket
	last         time.Time
}

func newRecentWriter(store vigil.RecentStore, cfg RecentConfig, log *slog.Logger, now func() time.Time) *recentWriter {
	if cfg.MaxAge == 0 {
		cfg.MaxAge = 7 * 24 * time.Hour
	}
	if cfg.MaxActions == 0 {
		cfg.MaxActions = 100000
	}
	if cfg.MaxPerSecond <= 0 {
		cfg.MaxPerSecond = 5
	}
	return &recentWriter{store: store, cfg: cfg, log: log, now: now, ch: make(chan *vigil.Action, 4096),
		budget: newBucket(float64(cfg.MaxActions)/cfg.MaxAge.Seconds(), float64(min(cfg.MaxActions, 1000))),
		pace:   newBucket(cfg.MaxPerSecond, max(cfg.MaxPerSecond, 1))}
}

// bucket is a token bucket, full at first.
type bucket struct{ tokens, rate, burst float64 }

func newBucket(rate, burst float64) bucket { return bucket{tokens: burst, rate: rate, burst: burst} }

func (b *bucket) refill(seconds float64) { b.tokens = min(b.burst, b.tokens+seconds*b.rate) }

// admit reports whether an action goes into the window.
func (w *recentWriter) admit() bool {
	if w.cfg.KeepAll {
		return true
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now()
	if !w.last.IsZero() && now.After(w.last) {
		dt := now.Sub(w.last).Seconds()
		w.budget.refill(dt)
		w.pace.refill(dt)
	}
	w.last = now
	if w.budget.tokens < 1 || w.pace.tokens < 1 {
		return false
	}
	w.budget.tokens--
	w.pace.tokens--
	return true
}

func (w *recentWriter) add(a *vigil.Action) {
	if w.cfg.Disabled || !w.admit() {
		return
	}
	select {
	case w.ch <- a:
	default: // full: skip this one
	}
}

func (w *recentWriter) run(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	prune := time.NewTicker(10 * time.Minute)
	defer prune.Stop()
	var batch []*vigil.RecentAction
	// A batch is written with a time limit of its own, not ctx's: a batch
	// that fills up as the writer stops was lost with a cancelled ctx.
	flush := func() {
		if len(batch) == 0 {
			return
		}
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := w.store.AppendRecent(fctx, batch); err != nil {
			w.log.Debug("recent actions not kept", "count", len(batch), "err", err)
		}
		batch = batch[:0]
	}
	for {
		select {
		case <-ctx.Done():
			// What is still queued goes in too.
			for more := true; more; {
				select {
				case a := <-w.ch:
					if r := encodeRecent(a); r != nil {
						batch = append(batch, r)
					}
				default:
					more = false
				}
			}
			flush()
			return
		case a := <-w.ch:
			if r := encodeRecent(a); r != nil {
				batch = append(batch, r)
			}
			if len(batch) >= 200 {
				flush()
			}
		case <-tick.C:
			flush()
		case <-prune.C:
			if err := w.store.PruneRecent(ctx, w.now().Add(-w.cfg.MaxAge), w.cfg.MaxActions); err != nil {
				w.log.Debug("recent actions not pruned", "err", err)
			}
		}
	}
}

// encodeRecent stores an action with its protected fields apart. The
// session key is not kept at all: no test needs it.
func encodeRecent(a *vigil.Action) *vigil.RecentAction {
	c := *a
	c.IP, c.UserAgent, c.Session = "", "", ""
	raw, err := json.Marshal(&c)
	if err != nil {
		return nil
	}
	r := &vigil.RecentAction{Wiki: a.Wiki, Time: a.Time, Payload: raw}
	if a.IP != "" || a.UserAgent != "" {
		p, err := json.Marshal(recentProtected{IP: a.IP, UserAgent: a.UserAgent})
		if err != nil {
			return nil
		}
		r.Protected = p
	}
	return r
}

type recentProtected struct {
	IP        string `json:"ip,omitempty"`
	UserAgent string `json:"user_agent,omitempty"`
}

// DecodeRecent reads an action kept in the window; with protected, its
// protected fields too (the caller has checked the right).
func DecodeRecent(r *vigil.RecentAction, protected bool) (*vigil.Action, error) {
	var a vigil.Action
	if err := json.Unmarshal(r.Payload, &a); err != nil {
		return nil, fmt.Errorf("recent action %d: %w", r.ID, err)
	}
	if protected && len(r.Protected) > 0 {
		var p recentProtected
		if err := json.Unmarshal(r.Protected, &p); err != nil {
			return nil, fmt.Errorf("recent action %d: protected fields: %w", r.ID, err)
		}
		a.IP, a.UserAgent = p.IP, p.UserAgent
	}
	return &a, nil
}
