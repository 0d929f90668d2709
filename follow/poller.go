package follow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// PollerConfig configures an Action API poller.
type PollerConfig struct {
	// APIURL is the wiki's api.php, e.g. "https://en.wikipedia.org/w/api.php".
	APIURL string
	// Wiki is the wiki id put in events; default the wiki's own
	// (meta=siteinfo's wikiid).
	Wiki string
	// After resumes after that position (an Event.Position,
	// "<RFC 3339 time>|<rcid>").
	After string
	// Start is where to begin without After; default now.
	Start time.Time
	// Interval is the pause between polls once caught up; default 5 s.
	Interval time.Duration
	// Overlap makes each poll look back that far before the newest change
	// seen, to catch changes committed late with an earlier timestamp;
	// those seen already are recognized by rcid. Default 10 s.
	Overlap time.Duration
	// Limit is rclimit, at most 500 (5000 with apihighlimits); default 500.
	Limit int
	// MaxLag is sent as maxlag (seconds); default 5, negative: not sent.
	MaxLag int
	// MinBackoff and MaxBackoff bound the delay between retries after
	// HTTP 429, 5xx, maxlag or network errors; defaults 1 s and 1 min.
	MinBackoff, MaxBackoff time.Duration
	UserAgent              string // default DefaultUserAgent
	Client                 *http.Client
	Logger                 *slog.Logger
}

// rcprop is what the poller asks of each change: what
// docs/mediawiki-local.md lists (rcprop=patrolled needs a patrol right).
const rcprop = "title|ids|sizes|flags|user|userid|comment|timestamp|tags|loginfo|sha1"

// Poller follows a wiki by polling list=recentchanges (rcdir=newer),
// following rccontinue, and de-duplicating by rcid. It waits and retries,
// without losing its position, on HTTP 429 (Retry-After), 5xx, maxlag
// errors and network errors. Event.Position is "<time>|<rcid>" of the
// newest change handled.
type Poller struct {
	cfg  PollerConfig
	api  *apiClient
	log  *slog.Logger
	site siteInfo

	mu    sync.Mutex // guards pos for Position
	pos   pollPosition
	since time.Time           // Start: polls look no further back
	floor int64               // rcids up to this were handled before a restart
	seen  map[int64]time.Time // rcids handled within the overlap window
}

var _ Source = (*Poller)(nil)

type pollPosition struct {
	ts   time.Time
	rcid int64
	// recent are the rcids handled within the overlap window: after a
	// restart, a change committed late with a lower rcid than the newest
	// is still recognized as new.
	recent []int64
}

func (p pollPosition) String() string {
	s := p.ts.UTC().Format(time.RFC3339) + "|" + strconv.FormatInt(p.rcid, 10)
	if len(p.recent) > 0 {
		ids := make([]string, len(p.recent))
		for i, id := range p.recent {
			ids[i] = strconv.FormatInt(id, 10)
		}
		s += "|" + strings.Join(ids, ",")
	}
	return s
}

// parsePollPosition reads "<RFC 3339 time>|<rcid>[|<rcid>,<rcid>...]".
func parsePollPosition(s string) (pollPosition, error) {
	ts, id, ok := strings.Cut(s, "|")
	if !ok {
		return pollPosition{}, fmt.Errorf("position %q is not <time>|<rcid>", s)
	}
	id, recent, _ := strings.Cut(id, "|")
	var ids []int64
	for _, r := range strings.Split(recent, ",") {
		if r == "" {
			continue
		}
		n, err := strconv.ParseInt(r, 10, 64)
		if err != nil || n < 0 {
			return pollPosition{}, fmt.Errorf("position %q: bad rcid %q", s, r)
		}
		ids = append(ids, n)
	}
	t, err := parseTime(ts)
	if err != nil {
		return pollPosition{}, fmt.Errorf("position %q: %w", s, err)
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n < 0 {
		return pollPosition{}, fmt.Errorf("position %q: bad rcid", s)
	}
	return pollPosition{ts: t, rcid: n, recent: ids}, nil
}

// NewPoller returns a poller; it checks the configuration only.
func NewPoller(cfg PollerConfig) (*Poller, error) {
	if cfg.APIURL == "" {
		return nil, errors.New("poller: no API URL")
	}
	if u, err := url.Parse(cfg.APIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("poller: API URL %q is not an http(s) URL", cfg.APIURL)
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 5 * time.Second
	}
	if cfg.Overlap < 0 {
		cfg.Overlap = 0
	} else if cfg.Overlap == 0 {
		cfg.Overlap = 10 * time.Second
	}
	if cfg.Limit <= 0 {
		cfg.Limit = 500
	}
	p := &Poller{cfg: cfg, seen: map[int64]time.Time{}}
	if cfg.After != "" {
		pos, err := parsePollPosition(cfg.After)
		if err != nil {
			return nil, fmt.Errorf("poller: %w", err)
		}
		p.pos = pos
		if pos.recent == nil {
			p.floor = pos.rcid // a position without the window's rcids
		}
		for _, id := range pos.recent {
			p.seen[id] = pos.ts
		}
	} else {
		p.pos.ts = cfg.Start
		if p.pos.ts.IsZero() {
			p.pos.ts = time.Now()
		}
		p.pos.ts = p.pos.ts.UTC().Truncate(time.Second)
		p.since = p.pos.ts
	}
	p.log = cfg.Logger
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	p.log = p.log.With("source", SourceAPI, "api", cfg.APIURL)
	p.api = newAPIClient(cfg.APIURL, cfg.UserAgent, cfg.Client, cfg.MaxLag, -1, cfg.MinBackoff, cfg.MaxBackoff, nil, p.log)
	return p, nil
}

// newAPIClient fills an apiClient's defaults.
func newAPIClient(apiURL, ua string, client *http.Client, maxLag, maxRetries int,
	minBackoff, maxBackoff time.Duration, limit *tokenBucket, log *slog.Logger) *apiClient {
	if ua == "" {
		ua = DefaultUserAgent
	}
	if client == nil {
		client = &http.Client{Timeout: defaultHTTPTimeout}
	}
	if maxLag == 0 {
		maxLag = defaultMaxLag
	}
	return &apiClient{url: apiURL, userAgent: ua, http: client, limit: limit, maxLag: maxLag,
		maxRetries: maxRetries, minBackoff: minBackoff, maxBackoff: maxBackoff, log: log}
}

// Position is where the poller would resume: that of the last change
// handled, or the start.
func (p *Poller) Position() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pos.String()
}

// Run polls until ctx is done (it returns ctx.Err()), the handler fails
// (its error is returned as is) or the API refuses the query for good.
// Run is not safe for concurrent use.
func (p *Poller) Run(ctx context.Context, h Handler) error {
	if err := p.siteInfo(ctx); err != nil {
		return err
	}
	for {
		if err := p.poll(ctx, h); err != nil {
			var herr *handlerError
			if errors.As(err, &herr) {
				return herr.err
			}
			return err
		}
		if err := sleep(ctx, p.cfg.Interval); err != nil {
			return err
		}
	}
}

type siteInfo struct {
	WikiID     string `json:"wikiid"`
	Server     string `json:"server"`
	ServerName string `json:"servername"`
	ScriptPath string `json:"scriptpath"`
}

// siteInfo learns the wiki's id and where it is, for the events.
func (p *Poller) siteInfo(ctx context.Context) error {
	var resp struct {
		Query struct {
			General siteInfo `json:"general"`
		} `json:"query"`
	}
	params := url.Values{"action": {"query"}, "meta": {"siteinfo"}, "siprop": {"general"}}
	if err := p.api.get(ctx, params, &resp); err != nil {
		return fmt.Errorf("poller: siteinfo: %w", err)
	}
	p.site = resp.Query.General
	if strings.HasPrefix(p.site.Server, "//") { // protocol-relative, as on Wikimedia wikis
		u, _ := url.Parse(p.cfg.APIURL)
		p.site.Server = u.Scheme + ":" + p.site.Server
	}
	if p.cfg.Wiki != "" {
		p.site.WikiID = p.cfg.Wiki
	}
	if p.site.WikiID == "" {
		return errors.New("poller: siteinfo has no wikiid; set Wiki")
	}
	return nil
}

// rcResponse is a list=recentchanges response (formatversion=2).
type rcResponse struct {
	Continue map[string]string `json:"continue"`
	Query    struct {
		RecentChanges []rcItem `json:"recentchanges"`
	} `json:"query"`
}

type rcItem struct {
	Type      string          `json:"type"`
	NS        int             `json:"ns"`
	Title     string          `json:"title"`
	PageID    int64           `json:"pageid"`
	RevID     int64           `json:"revid"`
	OldRevID  int64           `json:"old_revid"`
	RCID      int64           `json:"rcid"`
	User      string          `json:"user"`
	UserID    int64           `json:"userid"`
	Bot       bool            `json:"bot"`
	Minor     bool            `json:"minor"`
	OldLen    *int            `json:"oldlen"`
	NewLen    *int            `json:"newlen"`
	Timestamp string          `json:"timestamp"`
	Comment   string          `json:"comment"`
	Tags      []string        `json:"tags"`
	SHA1      string          `json:"sha1"`
	LogID     int64           `json:"logid"`
	LogType   string          `json:"logtype"`
	LogAction string          `json:"logaction"`
	LogParams json.RawMessage `json:"logparams"`
}

// poll reads every change from the position (less the overlap) on.
func (p *Poller) poll(ctx context.Context, h Handler) error {
	start := p.pos.ts.Add(-p.cfg.Overlap)
	if start.Before(p.since) {
		start = p.since
	}
	params := url.Values{
		"action": {"query"}, "list": {"recentchanges"}, "rcdir": {"newer"},
		"rclimit": {strconv.Itoa(p.cfg.Limit)}, "rcprop": {rcprop},
		"rcstart": {start.UTC().Format(time.RFC3339)},
	}
	for pages := 0; ; pages++ {
		var resp rcResponse
		if err := p.api.get(ctx, params, &resp); err != nil {
			return fmt.Errorf("poller: recentchanges: %w", err)
		}
		for _, it := range resp.Query.RecentChanges {
			if err := p.handle(ctx, it, h); err != nil {
				return err
			}
		}
		if len(resp.Continue) == 0 {
			break
		}
		for k, v := range resp.Continue {
			params.Set(k, v)
		}
	}
	for id, ts := range p.seen {
		if ts.Before(p.pos.ts.Add(-p.cfg.Overlap)) {
			delete(p.seen, id)
		}
	}
	return nil
}

func (p *Poller) handle(ctx context.Context, it rcItem, h Handler) error {
	if it.RCID <= p.floor {
		return nil
	}
	if _, ok := p.seen[it.RCID]; ok {
		return nil
	}
	ev, err := it.event()
	if err != nil {
		p.log.Warn("poller: skipped a change", "rcid", it.RCID, "err", err)
		p.seen[it.RCID] = p.pos.ts
		return nil
	}
	ev.Wiki, ev.ServerURL, ev.ServerName = p.site.WikiID, p.site.Server, p.site.ServerName
	ev.ScriptPath = strings.TrimSuffix(p.site.ScriptPath, "/")
	next := p.pos
	if ev.Timestamp.After(next.ts) {
		next.ts = ev.Timestamp
	}
	next.rcid = max(next.rcid, it.RCID)
	next.recent = []int64{it.RCID}
	for id, ts := range p.seen {
		if !ts.Before(next.ts.Add(-p.cfg.Overlap)) {
			next.recent = append(next.recent, id)
		}
	}
	slices.Sort(next.recent)
	ev.Position = next.String()
	if err := h(ctx, ev); err != nil {
		return &handlerError{err}
	}
	p.seen[it.RCID] = ev.Timestamp
	p.mu.Lock()
	p.pos = next
	p.mu.Unlock()
	return nil
}

// event converts one change; the poller adds the wiki.
func (it *rcItem) event() (Event, error) {
	t, err := parseTime(it.Timestamp)
	if err != nil {
		return Event{}, fmt.Errorf("timestamp: %w", err)
	}
	ev := Event{
		Type: it.Type, Namespace: it.NS, PrefixedTitle: it.Title, Title: splitTitle(it.NS, it.Title),
		PageID: it.PageID, RCID: it.RCID, NewRevID: it.RevID, OldRevID: it.OldRevID,
		User: it.User, UserID: it.UserID, Bot: it.Bot, Minor: it.Minor,
		Timestamp: t, Comment: it.Comment, Tags: it.Tags, SHA1: it.SHA1, Source: SourceAPI,
	}
	switch it.Type {
	case TypeEdit:
		ev.OldLen, ev.NewLen = it.OldLen, it.NewLen
	case TypeNew:
		ev.NewLen = it.NewLen // oldlen is 0 for a new page
	case TypeLog:
		ev.LogID, ev.LogType, ev.LogAction = it.LogID, it.LogType, it.LogAction
		if len(it.LogParams) > 0 && string(it.LogParams) != "null" {
			ev.LogParams = it.LogParams
		}
		if tg, ok := ev.MoveTarget(); ok {
			ev.Target = &tg
		}
	}
	if len(ev.Tags) == 0 {
		ev.Tags = nil
	}
	return ev, nil
}
