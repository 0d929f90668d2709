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
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeAPI is an Action API on 127.0.0.1 whose answers the test writes.
type fakeAPI struct {
	srv    *httptest.Server
	mu     sync.Mutex
	reqs   []url.Values
	method []string
	ua     []string
	answer func(n int, w http.ResponseWriter, q url.Values)
}

func newFakeAPI(t *testing.T, answer func(n int, w http.ResponseWriter, q url.Values)) *fakeAPI {
	f := &fakeAPI{answer: answer}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		f.mu.Lock()
		n := len(f.reqs)
		f.reqs = append(f.reqs, r.Form)
		f.method = append(f.method, r.Method)
		f.ua = append(f.ua, r.Header.Get("User-Agent"))
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		f.answer(n, w, r.Form)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) requests() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reqs)
}

func (f *fakeAPI) fetcher(t *testing.T, cfg FetcherConfig) *Fetcher {
	t.Helper()
	cfg.APIURL = f.srv.URL + "/w/api.php"
	cfg.MinBackoff, cfg.MaxBackoff = time.Millisecond, 5*time.Millisecond
	cfg.Logger = testLogger(t)
	if cfg.Rate == 0 {
		cfg.Rate = -1
	}
	ft, err := NewFetcher(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return ft
}

// sandboxRevisions answers prop=revisions&revids=… from the revisions of
// samples/local-mediawiki-1.39/api-prop-revisions-sandbox.json, as
// MediaWiki groups them: under their page, unknown ids in badrevids.
func sandboxRevisions(t *testing.T) func(n int, w http.ResponseWriter, q url.Values) {
	var resp struct {
		Query struct {
			Pages []struct {
				PageID    int64             `json:"pageid"`
				NS        int               `json:"ns"`
				Title     string            `json:"title"`
				Revisions []json.RawMessage `json:"revisions"`
			} `json:"pages"`
		} `json:"query"`
	}
	if err := json.Unmarshal(sample(t, "local-mediawiki-1.39/api-prop-revisions-sandbox.json"), &resp); err != nil {
		t.Fatal(err)
	}
	page := resp.Query.Pages[0]
	revs := map[string]json.RawMessage{}
	for _, raw := range page.Revisions {
		var r struct{ RevID int64 }
		json.Unmarshal(raw, &r)
		revs[itoa(r.RevID)] = raw
	}
	return func(n int, w http.ResponseWriter, q url.Values) {
		if q.Get("prop") != "revisions" || q.Get("rvslots") != "main" || q.Get("rvprop") != "content|ids|timestamp|size|user|userid|sha1" {
			t.Errorf("request %v", q)
		}
		var found []json.RawMessage
		bad := map[string]any{}
		for _, id := range strings.Split(q.Get("revids"), "|") {
			if r, ok := revs[id]; ok {
				found = append(found, r)
			} else {
				bad[id] = map[string]any{"revid": json.Number(id), "missing": true}
			}
		}
		out := map[string]any{"batchcomplete": true}
		query := map[string]any{}
		if len(bad) > 0 {
			query["badrevids"] = bad
		}
		if len(found) > 0 {
			query["pages"] = []any{map[string]any{"pageid": page.PageID, "ns": page.NS, "title": page.Title, "revisions": found}}
		}
		out["query"] = query
		json.NewEncoder(w).Encode(out)
	}
}

func TestFetcherRevisionsBatchAndCache(t *testing.T) {
	api := newFakeAPI(t, sandboxRevisions(t))
	f := api.fetcher(t, FetcherConfig{UserAgent: UserAgent("", "ops@example.org")})
	ids := []int64{11, 12, 0, 11, -3}
	for id := int64(100); len(ids) < 104; id++ {
		ids = append(ids, id) // not on the wiki
	}
	got, err := f.Revisions(t.Context(), ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d revisions", len(got))
	}
	r := got[11]
	want := Revision{ID: 11, ParentID: 10, PageID: 2, Namespace: 0, PrefixedTitle: "Sandbox", User: "127.0.0.1", Size: 69,
		SHA1: "22aaeb84bfbd449039a1032b7b4c9a9550b7e3cc", ContentModel: "wikitext", ContentFormat: "text/x-wiki",
		Content:   "Hello from the Action API at 2026-11-21T23:44:42Z.\nRC feed test line.",
		Timestamp: mustTime(t, "2026-11-21T23:46:01Z")}
	if *r != want {
		t.Errorf("revision 11:\n%+v\nwant\n%+v", *r, want)
	}
	reqs := api.requests()
	// 101 distinct positive ids: batches of 50, 50 and 1.
	if len(reqs) != 3 {
		t.Fatalf("%d requests", len(reqs))
	}
	for i, n := range []int{50, 50, 1} {
		if got := len(strings.Split(reqs[i].Get("revids"), "|")); got != n || reqs[i].Get("maxlag") != "5" {
			t.Errorf("request %d: %d revids, maxlag %q", i, got, reqs[i].Get("maxlag"))
		}
	}
	if api.ua[0] != "Vigil/dev (ops@example.org) Go-http-client" {
		t.Errorf("User-Agent %q", api.ua[0])
	}
	// Found revisions are cached; missing ones are asked for again.
	got, err = f.Revisions(t.Context(), []int64{12, 11})
	if err != nil || len(got) != 2 || len(api.requests()) != 3 || got[12].Content != "Hello from the Action API at 2026-11-21T23:44:42Z.\nRC feed test line.\nadmin line" {
		t.Errorf("cached: %v, %d requests", err, len(api.requests()))
	}
	if r, ok, err := f.Revision(t.Context(), 100); ok || r != nil || err != nil || len(api.requests()) != 4 {
		t.Errorf("missing revision: %v %v %v", r, ok, err)
	}
}

// The real response of MediaWiki 1.39 with a missing revision.
func TestFetcherRevisionsRealResponse(t *testing.T) {
	body := testdata(t, "api-revisions-badrevids.json")
	api := newFakeAPI(t, func(n int, w http.ResponseWriter, q url.Values) { w.Write(body) })
	f := api.fetcher(t, FetcherConfig{})
	got, err := f.Revisions(t.Context(), []int64{2, 3, 999})
	if err != nil || len(got) != 2 {
		t.Fatalf("%v %v", got, err)
	}
	if r := got[3]; r.Content != "hello world" || r.ParentID != 2 || r.Size != 11 || r.User != "127.0.0.1" || r.PageID != 2 {
		t.Errorf("revision 3: %+v", r)
	}
}

func TestFetcherRevisionsContinuationAndHidden(t *testing.T) {
	api := newFakeAPI(t, func(n int, w http.ResponseWriter, q url.Values) {
		switch q.Get("rvcontinue") {
		case "":
			fmt.Fprint(w, `{"continue":{"rvcontinue":"8","continue":"||"},"query":{"pages":[{"pageid":2,"ns":0,"title":"Sandbox","revisions":[
				{"revid":7,"parentid":6,"user":"127.0.0.1","anon":true,"userid":0,"timestamp":"2026-11-21T23:45:38Z","size":164,"slots":{"main":{"contentmodel":"wikitext","contentformat":"text/x-wiki","texthidden":true}}}]}]}}`)
		case "8":
			fmt.Fprint(w, `{"batchcomplete":true,"query":{"pages":[{"pageid":5,"ns":0,"title":"Load test 1","revisions":[
				{"revid":8,"parentid":0,"user":"127.0.0.1","anon":true,"userid":0,"timestamp":"2026-11-21T23:45:38Z","size":6,"slots":{"main":{"contentmodel":"wikitext","contentformat":"text/x-wiki","content":"line 1"}}},
				{"revid":9,"parentid":0,"slots":{"main":{"textmissing":true}}}]}]}}`)
		}
	})
	got, err := api.fetcher(t, FetcherConfig{}).Revisions(t.Context(), []int64{7, 8, 9})
	if err != nil || len(got) != 2 || !got[7].TextHidden || got[7].Content != "" || got[8].Content != "line 1" || got[8].PrefixedTitle != "Load test 1" {
		t.Fatalf("%+v %v", got, err)
	}
	if reqs := api.requests(); len(reqs) != 2 || reqs[1].Get("revids") != "7|8|9" {
		t.Errorf("requests %v", reqs)
	}
}

// The real response of MediaWiki 1.39 to list=users|blocks.
func TestFetcherUsersRealResponse(t *testing.T) {
	body := testdata(t, "api-users-blocks.json")
	api := newFakeAPI(t, func(n int, w http.ResponseWriter, q url.Values) { w.Write(body) })
	f := api.fetcher(t, FetcherConfig{})
	names := []string{"Spammer", "127.0.0.5", "Admin", "127.0.0.6", "NoSuchUser", "Bad#Name"}
	got, err := f.Users(t.Context(), names)
	if err != nil || len(got) != 6 {
		t.Fatalf("%v %v", got, err)
	}
	q := api.requests()[0]
	if q.Get("list") != "users|blocks" || q.Get("ususers") != strings.Join(names, "|") || q.Get("bkusers") != "127.0.0.5|127.0.0.6" ||
		q.Get("usprop") != "groups|editcount|registration|rights|blockinfo|emailable" {
		t.Errorf("request %v", q)
	}
	sp := got["Spammer"]
	if sp.ID != 4 || *sp.EditCount != 0 || !sp.Registration.Equal(mustTime(t, "2026-11-22T04:22:06Z")) ||
		!slices.Equal(sp.Groups, []string{"*", "user", "autoconfirmed"}) || sp.Emailable == nil || *sp.Emailable || sp.IP {
		t.Errorf("Spammer: %+v", sp)
	}
	if b := sp.Block; b == nil || b.ID != 1 || b.By != "Admin" || b.Reason != "spam" || !b.NoCreate || b.Partial || b.AnonOnly ||
		!b.Expiry.Equal(mustTime(t, "2026-11-22T06:22:06Z")) || !b.Timestamp.Equal(mustTime(t, "2026-11-22T04:22:06Z")) {
		t.Errorf("Spammer's block: %+v", sp.Block)
	}
	ad := got["Admin"]
	if ad.ID != 1 || ad.Block != nil || !slices.Contains(ad.Groups, "sysop") || !slices.Contains(ad.Rights, "abusefilter-modify") {
		t.Errorf("Admin: %+v", ad)
	}
	if ip := got["127.0.0.5"]; !ip.IP || ip.Invalid || ip.Block == nil || ip.Block.ID != 2 || ip.Block.Reason != "vandal" ||
		!ip.Block.Expiry.Equal(mustTime(t, "2026-11-23T11:24:48Z")) || !slices.Equal(ip.Groups, []string{"*"}) {
		t.Errorf("127.0.0.5: %+v %+v", ip, ip.Block)
	}
	if ip := got["127.0.0.6"]; ip.Block == nil || ip.Block.Expiry != nil || ip.Block.Reason != "forever" { // "infinity"
		t.Errorf("127.0.0.6: %+v", ip.Block)
	}
	if u := got["NoSuchUser"]; !u.Missing || u.ID != 0 {
		t.Errorf("NoSuchUser: %+v", u)
	}
	if u := got["Bad#Name"]; !u.Invalid {
		t.Errorf("Bad#Name: %+v", u)
	}
	// Cached.
	if u, err := f.User(t.Context(), "Spammer"); err != nil || u != sp || len(api.requests()) != 1 {
		t.Errorf("cached: %v, %d requests", err, len(api.requests()))
	}
}

func TestFetcherUsersBatchTTLAndNames(t *testing.T) {
	api := newFakeAPI(t, func(n int, w http.ResponseWriter, q url.Values) {
		var users []map[string]any
		for _, name := range strings.Split(q.Get("ususers"), "|") {
			// MediaWiki answers with the canonical name.
			canon := strings.ReplaceAll(name, "_", " ")
			canon = strings.ToUpper(canon[:1]) + canon[1:]
			users = append(users, map[string]any{"userid": len(users) + 1, "name": canon, "editcount": 3,
				"registration": nil, "groups": []string{"*", "user"}})
		}
		json.NewEncoder(w).Encode(map[string]any{"batchcomplete": true, "query": map[string]any{"users": users}})
	})
	f := api.fetcher(t, FetcherConfig{UserTTL: time.Minute})
	var names []string
	for i := range 120 {
		names = append(names, fmt.Sprintf("user_%03d_%s", i, strings.Repeat("x", 40)))
	}
	got, err := f.Users(t.Context(), append(names, "", "a|b"))
	if err != nil || len(got) != 122 {
		t.Fatalf("%d users, %v", len(got), err)
	}
	if u := got[names[7]]; u.Name != "User 007 "+strings.Repeat("x", 40) || u.Registration != nil || *u.EditCount != 3 {
		t.Errorf("user: %+v", u)
	}
	if !got[""].Invalid || !got["a|b"].Invalid {
		t.Error("unaskable names not invalid")
	}
	reqs := api.requests()
	if len(reqs) != 3 || len(strings.Split(reqs[2].Get("ususers"), "|")) != 20 || reqs[0].Get("list") != "users" {
		t.Fatalf("%d requests", len(reqs))
	}
	// Long queries go by POST.
	if api.method[0] != http.MethodPost {
		t.Errorf("method %s", api.method[0])
	}
	// User facts expire.
	now := time.Now()
	f.users.now = func() time.Time { return now.Add(2 * time.Minute) }
	if _, err := f.User(t.Context(), names[0]); err != nil || len(api.requests()) != 4 {
		t.Errorf("after the TTL: %v, %d requests", err, len(api.requests()))
	}
}

func TestFetcherRetries(t *testing.T) {
	maxlag := testdata(t, "api-error-maxlag.json")
	revs := sandboxRevisions(t)
	api := newFakeAPI(t, func(n int, w http.ResponseWriter, q url.Values) {
		switch n {
		case 0:
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
		case 1:
			w.Header().Set("Retry-After", "0")
			w.Write(maxlag)
		case 2:
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			revs(n, w, q)
		}
	})
	f := api.fetcher(t, FetcherConfig{MaxLag: 3})
	got, err := f.Revisions(t.Context(), []int64{16})
	if err != nil || got[16] == nil || len(api.requests()) != 4 || api.requests()[0].Get("maxlag") != "3" {
		t.Fatalf("%v %v after %d requests", got, err, len(api.requests()))
	}

	// It gives up after MaxRetries.
	always := newFakeAPI(t, func(n int, w http.ResponseWriter, q url.Values) {
		w.Header().Set("Retry-After", "0")
		w.Write(maxlag)
	})
	_, err = always.fetcher(t, FetcherConfig{MaxRetries: 2, MaxLag: -1}).Revisions(t.Context(), []int64{1})
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Code != "maxlag" || len(always.requests()) != 3 || always.requests()[0].Has("maxlag") {
		t.Errorf("%v after %d requests", err, len(always.requests()))
	}
	// Without Retry-After, maxlag waits the lag it reports (here cut short).
	lagged := newFakeAPI(t, func(n int, w http.ResponseWriter, q url.Values) { w.Write(maxlag) })
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := lagged.fetcher(t, FetcherConfig{}).Revisions(ctx, []int64{1}); !errors.Is(err, context.DeadlineExceeded) ||
		len(lagged.requests()) != 1 || time.Since(start) > 2*time.Second {
		t.Errorf("%v after %d requests", err, len(lagged.requests()))
	}
	// Other API errors are not retried.
	bad := newFakeAPI(t, func(n int, w http.ResponseWriter, q url.Values) {
		fmt.Fprint(w, `{"error":{"code":"badinteger","info":"Invalid value \"abc\" for integer parameter \"revids\"."}}`)
	})
	if _, err := bad.fetcher(t, FetcherConfig{}).Revisions(t.Context(), []int64{1}); !errors.As(err, &apiErr) ||
		apiErr.Code != "badinteger" || len(bad.requests()) != 1 {
		t.Errorf("%v", err)
	}
}

func TestFetcherRateLimit(t *testing.T) {
	api := newFakeAPI(t, sandboxRevisions(t))
	f := api.fetcher(t, FetcherConfig{Rate: 50, Burst: 1, RevisionCache: -1})
	start := time.Now()
	for range 6 {
		if _, err := f.Revisions(t.Context(), []int64{2}); err != nil {
			t.Fatal(err)
		}
	}
	// One at once, then five at 50 per second.
	if d := time.Since(start); d < 90*time.Millisecond {
		t.Errorf("6 requests in %v", d)
	}
	if len(api.requests()) != 6 {
		t.Errorf("%d requests: the cache was off", len(api.requests()))
	}
	if _, err := NewFetcher(FetcherConfig{APIURL: "api.php"}); err == nil {
		t.Error("a relative API URL was accepted")
	}
}

func TestTokenBucket(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := newTokenBucket(10, 3)
	b.now = func() time.Time { return now }
	for i, want := range []time.Duration{0, 0, 0, 100 * time.Millisecond, 200 * time.Millisecond} {
		if got := b.reserve(); got != want {
			t.Errorf("reservation %d: %v, want %v", i, got, want)
		}
	}
	now = now.Add(time.Second) // refills, up to the burst
	for i, want := range []time.Duration{0, 0, 0, 100 * time.Millisecond} {
		if got := b.reserve(); got != want {
			t.Errorf("after a second, reservation %d: %v, want %v", i, got, want)
		}
	}
}

func TestLRU(t *testing.T) {
	c := newLRU[int, string](2, 0)
	c.add(1, "a")
	c.add(2, "b")
	c.get(1)      // 2 is now the least recently used
	c.add(3, "c") // evicts 2
	if _, ok := c.get(2); ok {
		t.Error("2 kept")
	}
	if v, ok := c.get(1); !ok || v != "a" || c.len() != 2 {
		t.Errorf("1: %q %v, len %d", v, ok, c.len())
	}
	c.add(1, "A")
	if v, _ := c.get(1); v != "A" || c.len() != 2 {
		t.Errorf("update: %q", v)
	}
	now := time.Now()
	ttl := newLRU[string, int](10, time.Second)
	ttl.now = func() time.Time { return now }
	ttl.add("x", 1)
	now = now.Add(time.Second)
	if _, ok := ttl.get("x"); ok || ttl.len() != 0 {
		t.Error("expired entry returned")
	}
	off := newLRU[int, int](0, 0)
	off.add(1, 1)
	if _, ok := off.get(1); ok {
		t.Error("a cache of size 0 kept an entry")
	}
}
