package follow

import (
	"context"
	"sync"
	"time"
)

// tokenBucket limits a rate of requests: it holds up to burst tokens,
// refilled at rate per second; each request takes one, waiting for it.
type tokenBucket struct {
	mu     sync.Mutex
	rate   float64 // tokens per second
	burst  float64
	tokens float64
	last   time.Time
	now    func() time.Time
}

func newTokenBucket(rate float64, burst int) *tokenBucket {
	burst = max(burst, 1)
	return &tokenBucket{rate: rate, burst: float64(burst), tokens: float64(burst), now: time.Now}
}

// reserve takes a token and returns how long to wait before using it.
func (b *tokenBucket) reserve() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if !b.last.IsZero() {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	b.tokens--
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(-b.tokens / b.rate * float64(time.Second))
}

// wait takes a token, waiting for it unless ctx is done first (the token
// is then lost, which only slows later requests a little).
func (b *tokenBucket) wait(ctx context.Context) error {
	if b == nil || b.rate <= 0 {
		return ctx.Err()
	}
	return sleep(ctx, b.reserve())
}
