package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/vigilwiki/vigil"
	"github.com/vigilwiki/vigil/screen"
)

// Client calls a Vigil server; the command line uses it.
type Client struct {
	BaseURL string // e.g. http://127.0.0.1:8780
	Token   string
	HTTP    *http.Client
	// Reason is sent with every request (X-Vigil-Reason): reads of
	// protected data need one, and it goes to the audit log.
	Reason string
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	return c.doWithin(ctx, time.Minute, method, path, in, out)
}

// doWithin is do giving up after timeout when c.HTTP is not set.
func (c *Client) doWithin(ctx context.Context, timeout time.Duration, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	if c.Reason != "" {
		req.Header.Set(ReasonHeader, c.Reason)
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: timeout}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return &vigil.Error{Code: vigil.EUNAVAILABLE, Message: fmt.Sprintf("cannot reach Vigil at %s: %v", c.BaseURL, err)}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var eb errorBody
		if json.Unmarshal(data, &eb) == nil && eb.Error.Code != "" {
			return &vigil.Error{Code: eb.Error.Code, Message: eb.Error.Message, Field: eb.Error.Field}
		}
		return fmt.Errorf("%s %s: HTTP %d", method, path, resp.StatusCode)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// Screen screens an action.
func (c *Client) Screen(ctx context.Context, a *vigil.Action) (*screen.Verdict, error) {
	var v screen.Verdict
	return &v, c.do(ctx, http.MethodPost, "/v1/screen", compacted(a), &v)
}

// compacted is a copy of a that carries its old text as a delta where that
// leaves out at least half of it, and its new_pst too (Action.CompactTexts).
func compacted(a *vigil.Action) *vigil.Action {
	c := *a
	c.CompactTexts()
	return &c
}

// Observe screens an action that already happened: matches are logged
// with what they would have done, nothing is enforced.
func (c *Client) Observe(ctx context.Context, a *vigil.Action) (*screen.Verdict, error) {
	var v screen.Verdict
	return &v, c.do(ctx, http.MethodPost, "/v1/screen?mode=observe", compacted(a), &v)
}

// ListFilters lists filters (of a wiki, or all when wiki is "").
func (c *Client) ListFilters(ctx context.Context, wiki string, withDeleted bool) ([]*vigil.Filter, error) {
	q := url.Values{}
	if wiki != "" {
		q.Set("wiki", wiki)
	}
	if withDeleted {
		q.Set("deleted", "true")
	}
	var out struct{ Filters []*vigil.Filter }
	return out.Filters, c.do(ctx, http.MethodGet, "/v1/filters?"+q.Encode(), nil, &out)
}

// CreateFilter saves a new filter.
func (c *Client) CreateFilter(ctx context.Context, in *FilterInput) (*vigil.Filter, error) {
	var f vigil.Filter
	return &f, c.do(ctx, http.MethodPost, "/v1/filters", in, &f)
}

// Filter returns one filter.
func (c *Client) Filter(ctx context.Context, id int64) (*vigil.Filter, error) {
	var f vigil.Filter
	return &f, c.do(ctx, http.MethodGet, "/v1/filters/"+strconv.FormatInt(id, 10), nil, &f)
}

// SetFilterState enables, disables or deletes a filter.
func (c *Client) SetFilterState(ctx context.Context, id int64, op, summary string) (*vigil.Filter, error) {
	var f vigil.Filter
	path := "/v1/filters/" + strconv.FormatInt(id, 10)
	method := http.MethodPost
	if op == "delete" {
		method = http.MethodDelete
	} else {
		path += "/" + op
	}
	return &f, c.do(ctx, method, path, stateChange{Summary: summary}, &f)
}

// FilterHistory returns a filter's versions, newest first.
func (c *Client) FilterHistory(ctx context.Context, id int64) ([]*vigil.FilterVersion, error) {
	var out struct{ Versions []*vigil.FilterVersion }
	return out.Versions, c.do(ctx, http.MethodGet, "/v1/filters/"+strconv.FormatInt(id, 10)+"/versions", nil, &out)
}

// LogPage is one page of the abuse log.
type LogPage struct {
	Entries []*vigil.LogEntry `json:"entries"`
	Next    string            `json:"next"`
}

// QueryLog reads the abuse log with GET /v1/log's parameters.
func (c *Client) QueryLog(ctx context.Context, params url.Values) (*LogPage, error) {
	var p LogPage
	return &p, c.do(ctx, http.MethodGet, "/v1/log?"+params.Encode(), nil, &p)
}

// TestFilter runs a rule or a filter version over the recent window
// (POST /v1/filters/test). A test may wait for its turn and then run, each
// for up to the server's screen.test_time_limit (30 s by default): the
// request may take minutes.
func (c *Client) TestFilter(ctx context.Context, in any) (*screen.TestResult, error) {
	var out screen.TestResult
	return &out, c.doWithin(ctx, 5*time.Minute, http.MethodPost, "/v1/filters/test", in, &out)
}

// Audit reads the audit log of protected reads, oldest first, after the
// entry with id after.
func (c *Client) Audit(ctx context.Context, after int64) ([]*vigil.AuditEntry, error) {
	var out struct {
		Entries []*vigil.AuditEntry `json:"entries"`
	}
	return out.Entries, c.do(ctx, http.MethodGet, "/v1/audit?after="+strconv.FormatInt(after, 10), nil, &out)
}
