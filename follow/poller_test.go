package follow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeWiki answers meta=siteinfo and list=recentchanges (rcdir=newer,
// rcstart, rccontinue, rclimit) as MediaWiki 1.39 does, from the changes
// of samples/local-mediawiki-1.39/api-list-recentchanges-all.json.
type fakeWiki struct {
	t     *testing.T
	srv   *httptest.Server
	mu    sync.Mutex
	items []fakeRC
	rcReq []url.Values // list=recentchanges requests
	ua    []string
	// intercept may answer a list=recentchanges request (n counts them
	// from 0) instead of the wiki; it returns true when it did.
	intercept func(n int, w http.ResponseWriter, q url.Values) bool
}

type fakeRC struct {
	ts   time.Time
	rcid int64
	raw  json.RawMessage
}

func newFakeWiki(t *testing.T) *fakeWiki {
	var all struct {
		Query struct {
			RecentChanges []json.RawMessage `json:"recentchanges"`
		} `json:"query"`
	}
	if err := json.Unmarshal(sample(t, "local-mediawiki-1.39/api-list-recentchanges-all.json"), &all); err != nil {
		t.Fatal(err)
	}
	f := &fakeWiki{t: t}
	for _, raw := range all.Query.RecentChanges {
		f.add(raw)
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeWiki) add(raw json.RawMessage) {
	var it struct {
		RCID      int64  `json:"rcid"`
		Timestamp string `json:"timestamp"`
	}
	if err := json.Unmarshal(raw, &it); err != nil {
		f.t.Fatal(err)
	}
	ts, _ := time.Parse(time.RFC3339, it.Timestamp)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.items = append(f.items, fakeRC{ts: ts, rcid: it.RCID, raw: raw})
	slices.SortFunc(f.items, func(a, b fakeRC) int {
		if c := a.ts.Compare(b.ts); c != 0 {
			return c
		}
		return int(a.rcid - b.rcid)
	})
}

const tsMW = "20060102150405"

func (f *fakeWiki) serve(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	q := r.Form
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	f.mu.Lock()
	f.ua = append(f.ua, r.Header.Get("User-Agent"))
	if q.Get("meta") == "siteinfo" {
		f.mu.Unlock()
		fmt.Fprint(w, `{"batchcomplete":true,"query":{"general":{"mainpage":"Main Page","wikiid":"my_wiki","server":"http://127.0.0.1:8080","servername":"127.0.0.1","scriptpath":""}}}`)
		return
	}
	if q.Get("list") != "recentchanges" || q.Get("rcdir") != "newer" || q.Get("format") != "json" || q.Get("formatversion") != "2" {
		f.mu.Unlock()
		f.t.Errorf("unexpected request %v", q)
		return
	}
	n := len(f.rcReq)
	f.rcReq = append(f.rcReq, q)
	items := slices.Clone(f.items)
	intercept := f.intercept
	f.mu.Unlock()
	if intercept != nil && intercept(n, w, q) {
		return
	}
	start, err := time.Parse(time.RFC3339, q.Get("rcstart"))
	if err != nil {
		f.t.Errorf("rcstart %q", q.Get("rcstart"))
	}
	limit, _ := strconv.Atoi(q.Get("rclimit"))
	var cts time.Time
	var cid int64
	if c := q.Get("rccontinue"); c != "" {
		ts, id, _ := strings.Cut(c, "|")
		cts, _ = time.Parse(tsMW, ts)
		cid, _ = strconv.ParseInt(id, 10, 64)
	}
	var out []json.RawMessage
	resp := map[string]any{"batchcomplete": true}
	for _, it := range items {
		if it.ts.Before(start) || (!cts.IsZero() && (it.ts.Before(cts) || it.ts.Equal(cts) && it.rcid < cid)) {
			continue
		}
		if len(out) == limit {
			resp["continue"] = map[string]string{"rccontinue": it.ts.Format(tsMW) + "|" + itoa(it.rcid), "continue": "-||"}
			break
		}
		out = append(out, it.raw)
	}
	resp["query"] = map[string]any{"recentchanges": out}
	json.NewEncoder(w).Encode(resp)
}

func (f *fakeWiki) requests() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.rcReq)
}

// polls counts the polls begun (requests without rccontinue).
func (f *fakeWiki) polls() int {
	n := 0
	for _, q := range f.requests() {
		if q.Get("rccontinue") == "" {
			n++
		}
	}
	return n
}

func (f *fakeWiki) poller(t *testing.T, cfg PollerConfig) *Poller {
	t.Helper()
	cfg.APIURL = f.srv.URL + "/api.php"
	cfg.Interval = time.Millisecond
	cfg.MinBackoff, cfg.MaxBackoff = time.Millisecond, 5*time.Millisecond
	cfg.Logger = testLogger(t)
	if cfg.Limit == 0 {
		cfg.Limit = 5
	}
	p, err := NewPoller(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// runPolls runs the poller until it has begun the given number of polls.
func runPolls(t *testing.T, f *fakeWiki, p *Poller, polls int) ([]Event, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	go func() {
		for f.polls() < polls && ctx.Err() == nil {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	c := &collector{}
	err := p.Run(ctx, c.handle)
	if ctx.Err() == context.DeadlineExceeded {
		t.Fatal("timed out")
	}
	return c.got(), err
}

var allRCIDs = []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17, 18, 19, 20, 21, 22, 23, 24}

func rcids(evs []Event) []int64 {
	var out []int64
	for _, ev := range evs {
		out = append(out, ev.RCID)
	}
	return out
}

func TestPollerContinuationAndDedup(t *testing.T) {
	f := newFakeWiki(t)
	p := f.poller(t, PollerConfig{Start: mustTime(t, "2026-11-21T23:44:00Z")})
	evs, err := runPolls(t, f, p, 4)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v", err)
	}
	if got := rcids(evs); !slices.Equal(got, allRCIDs) {
		t.Fatalf("rcids %v, want %v", got, allRCIDs)
	}
	reqs := f.requests()
	if len(reqs) < 5+3 { // 23 changes by 5: 5 requests, then polls looking back over the overlap
		t.Errorf("%d requests", len(reqs))
	}
	q := reqs[0]
	if q.Get("rcstart") != "2026-11-21T23:44:00Z" || q.Get("rclimit") != "5" || q.Get("maxlag") != "5" ||
		q.Get("rcprop") != "title|ids|sizes|flags|user|userid|comment|timestamp|tags|loginfo|sha1" {
		t.Errorf("first request %v", q)
	}
	if q := reqs[1]; q.Get("rccontinue") != "20261121234534|6" || q.Get("rcstart") != "2026-11-21T23:44:00Z" {
		t.Errorf("second request %v", q)
	}
	// Later polls start at the newest change less the overlap.
	if q := reqs[len(reqs)-1]; q.Get("rcstart") != "2026-11-21T23:48:03Z" {
		t.Errorf("last request %v", q)
	}
	if ua := f.ua[0]; ua != DefaultUserAgent {
		t.Errorf("User-Agent %q", ua)
	}

	// Positions only move forward and end at the newest change.
	for i := 1; i < len(evs); i++ {
		if evs[i].Position < evs[i-1].Position && !strings.HasPrefix(evs[i].Position, evs[i-1].Position[:20]) {
			t.Errorf("position went back: %s after %s", evs[i].Position, evs[i-1].Position)
		}
	}
	if got := p.Position(); got != "2026-11-21T23:48:13Z|24|20,21,22,23,24" { // the last 10 s's rcids too
		t.Errorf("Position %s", got)
	}
	e := evs[2]
	checkEvent(t, e, Event{Wiki: "my_wiki", Type: TypeEdit, Title: "Sandbox", PrefixedTitle: "Sandbox", PageID: 2,
		RCID: 3, OldRevID: 2, NewRevID: 3, User: "127.0.0.1", Comment: "anon ok edit",
		ServerURL: "http://127.0.0.1:8080", ServerName: "127.0.0.1", Timestamp: mustTime(t, "2026-11-21T23:45:00Z")})
	if *e.OldLen != 50 || *e.NewLen != 82 || e.UserID != 0 || !slices.Equal(e.Tags, []string{"mw-reverted"}) ||
		e.SHA1 != "2945de10a392ed118d0cd89bbc3e5f72f7b769d9" || e.Source != SourceAPI || e.APIURL() != "http://127.0.0.1:8080/api.php" ||
		e.Position != "2026-11-21T23:45:00Z|3|3" {
		t.Errorf("edit: %+v", e)
	}
	if e := evs[0]; e.Type != TypeNew || e.OldLen != nil || *e.NewLen != 755 || e.User != "MediaWiki default" || e.UserID != 2 {
		t.Errorf("new page: %+v", e)
	}
	move := evs[17] // rcid 19
	if move.LogType != "move" || move.Target == nil || move.Target.PrefixedTitle != "Moved page" || *move.Target.Namespace != 0 ||
		move.LogID != 16 || move.Title != "Brand new page" || move.User != "Admin" {
		t.Errorf("move: %+v", move)
	}
	if e := evs[9]; e.LogType != "block" || e.Bot != true || e.User != "TSBot" || e.PrefixedTitle != "User:127.0.0.2" || e.Title != "127.0.0.2" {
		t.Errorf("block by a bot: %+v", e)
	}
}

// A change committed late, with a timestamp before the newest one seen,
// is found by the overlap, once.
func TestPollerLateChange(t *testing.T) {
	f := newFakeWiki(t)
	p := f.poller(t, PollerConfig{Start: mustTime(t, "2026-11-21T23:44:00Z")})
	added := false
	f.intercept = func(n int, w http.ResponseWriter, q url.Values) bool {
		if !added && f.polls() == 2 {
			added = true
			f.add(json.RawMessage(`{"type":"edit","ns":0,"title":"Late","pageid":9,"revid":30,"old_revid":29,"rcid":25,"user":"Late","userid":7,"bot":false,"new":false,"minor":false,"oldlen":1,"newlen":2,"timestamp":"2026-11-21T23:48:10Z","comment":"late","tags":[]}`))
		}
		return false
	}
	evs, err := runPolls(t, f, p, 5)
	if !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	want := append(slices.Clone(allRCIDs), 25)
	if got := rcids(evs); !slices.Equal(got, want) {
		t.Fatalf("rcids %v", got)
	}
	if got := p.Position(); got != "2026-11-21T23:48:13Z|25|20,21,22,23,24,25" {
		t.Errorf("Position %s", got)
	}
}

// TestPollerResumeKeepsTheWindow: a change committed late, with a lower
// rcid than the newest handled, is still new after a restart, because the
// position keeps the rcids handled within the overlap.
func TestPollerResumeKeepsTheWindow(t *testing.T) {
	f := newFakeWiki(t)
	// 22 was not seen before the restart (committed late).
	p := f.poller(t, PollerConfig{After: "2026-11-21T23:48:13Z|24|20,21,23,24"})
	evs, err := runPolls(t, f, p, 2)
	if !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if got := rcids(evs); !slices.Equal(got, []int64{22}) {
		t.Fatalf("rcids %v, want only the late 22", got)
	}
}

func TestPollerResume(t *testing.T) {
	f := newFakeWiki(t)
	p := f.poller(t, PollerConfig{After: "2026-11-21T23:46:01Z|14", Wiki: "testwiki"})
	evs, err := runPolls(t, f, p, 2)
	if !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if got := rcids(evs); !slices.Equal(got, []int64{15, 17, 18, 19, 20, 21, 22, 23, 24}) {
		t.Fatalf("rcids %v", got)
	}
	if evs[0].Wiki != "testwiki" {
		t.Errorf("wiki %s", evs[0].Wiki)
	}
	if q := f.requests()[0]; q.Get("rcstart") != "2026-11-21T23:45:51Z" {
		t.Errorf("rcstart %s", q.Get("rcstart"))
	}
	for _, bad := range []string{"14", "yesterday|14", "2026-11-21T23:46:01Z|x"} {
		if _, err := NewPoller(PollerConfig{APIURL: "http://127.0.0.1/api.php", After: bad}); err == nil {
			t.Errorf("position %q accepted", bad)
		}
	}
	if _, err := NewPoller(PollerConfig{APIURL: "ftp://x/api.php"}); err == nil {
		t.Error("ftp accepted")
	}
}

// 429, maxlag and 5xx answers are waited out and retried; the position
// holds.
func TestPollerRetries(t *testing.T) {
	f := newFakeWiki(t)
	maxlag := testdata(t, "api-error-maxlag.json")
	f.intercept = func(n int, w http.ResponseWriter, q url.Values) bool {
		switch n {
		case 0:
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
		case 2: // the second page
			w.Header().Set("Retry-After", "0")
			w.Header().Set("X-Database-Lag", "7")
			w.Header().Set("MediaWiki-API-Error", "maxlag")
			w.Write(maxlag)
		case 4:
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprint(w, "<html>502</html>")
		case 5:
			fmt.Fprint(w, `{"batchcomplete":true,"query":{"recentch`) // cut short
		default:
			return false
		}
		return true
	}
	p := f.poller(t, PollerConfig{Start: mustTime(t, "2026-11-21T23:44:00Z")})
	evs, err := runPolls(t, f, p, 4)
	if !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if got := rcids(evs); !slices.Equal(got, allRCIDs) {
		t.Fatalf("rcids %v", got)
	}
	reqs := f.requests()
	if reqs[3].Get("rccontinue") != "20261121234534|6" || reqs[2].Get("rccontinue") != "20261121234534|6" {
		t.Errorf("the retried request changed: %v / %v", reqs[2], reqs[3])
	}
}

func TestPollerFailures(t *testing.T) {
	t.Run("API error", func(t *testing.T) {
		f := newFakeWiki(t)
		f.intercept = func(n int, w http.ResponseWriter, q url.Values) bool {
			fmt.Fprint(w, `{"error":{"code":"badcontinue","info":"Invalid continue param.","docref":"See api.php."}}`)
			return true
		}
		err := f.poller(t, PollerConfig{}).Run(t.Context(), func(context.Context, Event) error { return nil })
		var apiErr *APIError
		if !errors.As(err, &apiErr) || apiErr.Code != "badcontinue" || len(f.requests()) != 1 {
			t.Fatalf("Run: %v", err)
		}
	})
	t.Run("handler error", func(t *testing.T) {
		f := newFakeWiki(t)
		p := f.poller(t, PollerConfig{Start: mustTime(t, "2026-11-21T23:44:00Z")})
		boom := errors.New("boom")
		err := p.Run(t.Context(), func(_ context.Context, ev Event) error {
			if ev.RCID == 4 {
				return boom
			}
			return nil
		})
		if err != boom || p.Position() != "2026-11-21T23:45:00Z|3|3" {
			t.Fatalf("Run: %v at %s", err, p.Position())
		}
	})
}

// The continuation sample decodes as the poller reads it.
func TestRecentChangesContinueSample(t *testing.T) {
	var resp rcResponse
	if err := json.Unmarshal(sample(t, "local-mediawiki-1.39/api-list-recentchanges-continue.json"), &resp); err != nil {
		t.Fatal(err)
	}
	if resp.Continue["rccontinue"] != "20261121234510|4" || resp.Continue["continue"] != "-||" || len(resp.Query.RecentChanges) != 3 {
		t.Fatalf("%+v", resp)
	}
	it := resp.Query.RecentChanges[2]
	ev, err := it.event()
	if err != nil || ev.Type != TypeEdit || ev.User != "127.0.0.1" || ev.OldRevID != 2 || ev.NewRevID != 3 || ev.RCID != 3 ||
		ev.OldLen != nil || !ev.Timestamp.Equal(mustTime(t, "2026-11-21T23:45:00Z")) { // no rcprop=sizes there
		t.Errorf("%+v %v", ev, err)
	}
}
