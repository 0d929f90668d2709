package follow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// APIError is an error the Action API answered with.
type APIError struct {
	Code string `json:"code"`
	Info string `json:"info"`
}

func (e *APIError) Error() string { return "api error " + e.Code + ": " + e.Info }

// Defaults of the Action API client.
const (
	defaultMaxLag      = 5 // seconds; Wikimedia asks bots for 5
	defaultMaxRetries  = 5
	maxAPIResponse     = 64 << 20
	maxGETQueryLength  = 2000 // longer queries are POSTed
	defaultHTTPTimeout = time.Minute
)

// apiClient calls one wiki's Action API: format=json&formatversion=2,
// maxlag, a User-Agent, a rate limit, and retries with back-off on HTTP
// 429 and 5xx, maxlag and network errors, honouring Retry-After.
type apiClient struct {
	url        string
	userAgent  string
	http       *http.Client
	limit      *tokenBucket // nil: no limit
	maxLag     int          // 0: not sent
	maxRetries int          // < 0: retry for ever
	minBackoff time.Duration
	maxBackoff time.Duration
	log        *slog.Logger
}

// get calls the API with params and decodes the response into out. It
// returns an *APIError for an error response other than maxlag.
func (c *apiClient) get(ctx context.Context, params url.Values, out any) error {
	q := url.Values{}
	for k, v := range params {
		q[k] = v
	}
	q.Set("format", "json")
	q.Set("formatversion", "2")
	if c.maxLag > 0 {
		q.Set("maxlag", strconv.Itoa(c.maxLag))
	}
	bo := newBackoff(c.minBackoff, c.maxBackoff)
	for attempt := 0; ; attempt++ {
		if err := c.limit.wait(ctx); err != nil {
			return err
		}
		wait, err := c.do(ctx, q, out)
		if err == nil {
			return nil
		}
		var perr *permanentError
		if errors.As(err, &perr) {
			return perr.err
		}
		if ctx.Err() != nil {
			return err
		}
		if c.maxRetries >= 0 && attempt >= c.maxRetries {
			return fmt.Errorf("%w (gave up after %d attempts)", err, attempt+1)
		}
		d := max(bo.next(), min(wait, maxServerWait))
		c.log.Warn("api: retrying", "err", err, "delay", d, "attempt", attempt+1)
		if err := sleep(ctx, d); err != nil {
			return err
		}
	}
}

// do makes one request. A retryable failure comes with how long the
// server asked to wait; any other error is a *permanentError.
func (c *apiClient) do(ctx context.Context, q url.Values, out any) (time.Duration, error) {
	enc := q.Encode()
	var req *http.Request
	var err error
	if len(enc) > maxGETQueryLength {
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, c.url, strings.NewReader(enc))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	} else {
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, c.url+"?"+enc, nil)
	}
	if err != nil {
		return 0, &permanentError{fmt.Errorf("api %s: %w", c.url, err)}
	}
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("api %s: %w", c.url, err)
	}
	defer resp.Body.Close()
	wait, hasWait := retryAfter(resp.Header, time.Now())
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAPIResponse+1))
	if err != nil {
		return wait, fmt.Errorf("api %s: read: %w", c.url, err)
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode == http.StatusRequestTimeout,
		resp.StatusCode >= 500:
		return wait, fmt.Errorf("api %s: HTTP %s", c.url, resp.Status)
	case resp.StatusCode != http.StatusOK:
		return 0, &permanentError{fmt.Errorf("api %s: HTTP %s", c.url, resp.Status)}
	case len(body) > maxAPIResponse:
		return 0, &permanentError{fmt.Errorf("api %s: response over %d bytes", c.url, maxAPIResponse)}
	}
	var e struct {
		Error *struct {
			APIError
			Lag float64 `json:"lag"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		// A proxy's HTML error page, or a response cut short.
		return wait, fmt.Errorf("api %s: decode: %w", c.url, err)
	}
	if e.Error != nil {
		if e.Error.Code == "maxlag" {
			if !hasWait {
				wait = time.Duration(e.Error.Lag * float64(time.Second))
			}
			return wait, fmt.Errorf("api %s: %w", c.url, &e.Error.APIError)
		}
		if e.Error.Code == "ratelimited" {
			return wait, fmt.Errorf("api %s: %w", c.url, &e.Error.APIError)
		}
		return 0, &permanentError{fmt.Errorf("api %s: %w", c.url, &e.Error.APIError)}
	}
	if err := json.Unmarshal(body, out); err != nil {
		return 0, &permanentError{fmt.Errorf("api %s: decode: %w", c.url, err)}
	}
	return 0, nil
}
