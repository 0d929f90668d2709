package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilwiki/vigil"
	"github.com/vigilwiki/vigil/httpapi"
	"github.com/vigilwiki/vigil/screen"
	"github.com/vigilwiki/vigil/sqlite"
)

type env struct {
	srv    *httptest.Server
	tokens map[string]string // scope -> secret
	store  vigil.Store
}

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	f := &vigil.Filter{Wiki: "enwiki", Name: "Casino", Pattern: `added_lines irlike "casino"`, Enabled: true,
		Actions: map[string][]string{"disallow": {}}}
	f.Normalize()
	if err := s.CreateFilter(ctx, f, "t", ""); err != nil {
		t.Fatal(err)
	}
	e := screen.New(s, screen.Config{}, screen.Options{Recent: screen.RecentConfig{Disabled: true}})
	srv := httptest.NewServer(httpapi.NewServer(httpapi.Deps{Store: s, Engine: e}))
	t.Cleanup(srv.Close)
	en := &env{srv: srv, tokens: map[string]string{}, store: s}
	for _, scope := range vigil.Scopes {
		secret := httpapi.NewTokenSecret()
		if err := s.CreateToken(ctx, &vigil.Token{Name: "t-" + scope, Scopes: []string{scope}}, httpapi.HashToken(secret)); err != nil {
			t.Fatal(err)
		}
		en.tokens[scope] = secret
	}
	secret := httpapi.NewTokenSecret()
	if err := s.CreateToken(ctx, &vigil.Token{Name: "t-manager", Scopes: []string{vigil.ScopeManageFilters, vigil.ScopeReadProtected, vigil.ScopeManageBlocks}},
		httpapi.HashToken(secret)); err != nil {
		t.Fatal(err)
	}
	en.tokens[managerProtected] = secret
	return en
}

// managerProtected names the token with the manage-filters and
// read-protected scopes.
const managerProtected = "manage-filters+read-protected"

func (e *env) do(t testing.TB, method, path, scope string, body io.Reader, header ...string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, body)
	if scope != "" {
		req.Header.Set("Authorization", "Bearer "+e.tokens[scope])
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	data, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("%s %s: response is not JSON: %q", method, path, data)
	}
	return resp.StatusCode, out
}

func errorOf(body map[string]any) (code, message, field string) {
	e, _ := body["error"].(map[string]any)
	code, _ = e["code"].(string)
	message, _ = e["message"].(string)
	field, _ = e["field"].(string)
	return
}

const goodEdit = `{"wiki":"enwiki","action":"edit","performer":{"name":"192.0.2.1"},"page":{"id":1,"namespace":0,"title":"X"},
"old_wikitext":"a","new_wikitext":"a\nb"}`

// TestMetricsBounded: methods a client makes up do not each add a series
// to the request metric (anyone who reaches the port could grow it
// without end).
func TestMetricsBounded(t *testing.T) {
	e := newEnv(t)
	for i := range 50 {
		req, _ := http.NewRequest(fmt.Sprint("MADEUP", i), e.srv.URL+"/v1/nothing", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	resp, err := http.Get(e.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	series := 0
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "vigil_http_request_duration_seconds_count{") {
			series++
			if strings.Contains(line, "MADEUP") {
				t.Fatalf("a made-up method became a label: %s", line)
			}
		}
	}
	if !strings.Contains(string(data), `vigil_http_request_duration_seconds_count{method="other",route="unmatched",status="404"} 50`) {
		t.Errorf("the made-up methods are not counted together:\n%s", data)
	}
	if series > 3 {
		t.Errorf("%d series after 50 made-up methods", series)
	}
}

// TestScreenBadInput: every bad body gets a 4xx naming what is wrong and
// where; never a 500.
func TestScreenBadInput(t *testing.T) {
	e := newEnv(t)
	big := strings.NewReader(`{"wiki":"enwiki","action":"edit","new_wikitext":"` + strings.Repeat("a", 50<<20) + `"}`)
	tests := []struct {
		name   string
		body   io.Reader
		status int
		code   string
		want   string // in the message or the field
	}{
		{"malformed JSON", strings.NewReader(`{"wiki": "enwiki",`), 400, "invalid", "ends early, at line 1, column 19"},
		{"syntax error on line 2", strings.NewReader("{\"wiki\": \"enwiki\",\n \"action\" \"edit\"}"), 400, "invalid", "line 2, column 11"},
		{"wrong type", strings.NewReader(`{"wiki":"enwiki","action":"edit","performer":{"name":42}}`), 400, "invalid", "performer.name"},
		{"unknown field", strings.NewReader(`{"wiki":"enwiki","action":"edit","surprise":1}`), 400, "invalid", "surprise"},
		{"missing action", strings.NewReader(`{"wiki":"enwiki","performer":{"name":"192.0.2.1"}}`), 400, "invalid", "action"},
		{"unknown action", strings.NewReader(`{"wiki":"enwiki","action":"dance","performer":{"name":"192.0.2.1"}}`), 400, "invalid", "action"},
		{"missing page", strings.NewReader(`{"wiki":"enwiki","action":"edit","performer":{"name":"192.0.2.1"}}`), 400, "invalid", "page"},
		{"invalid UTF-8", strings.NewReader("{\"wiki\":\"enwiki\",\"action\":\"edit\",\"performer\":{\"name\":\"192.0.2.1\"},\"page\":{\"title\":\"X\"},\"summary\":\"\xff\xfe\"}"), 400, "invalid", "not valid UTF-8 at line 1, column 99"},
		{"empty body", strings.NewReader(""), 400, "invalid", "empty"},
		{"trailing data", strings.NewReader(goodEdit + `{}`), 400, "invalid", "after the JSON value"},
		{"not an object", strings.NewReader(`[1,2]`), 400, "invalid", "(body)"},
		{"50 MB body", big, 413, "too_large", "larger than"},
		{"unknown wiki", strings.NewReader(strings.Replace(goodEdit, "enwiki", "nosuchwiki", 1)), 400, "invalid", "wiki"},
		{"time in a wrong format", strings.NewReader(`{"wiki":"enwiki","action":"edit","time":"yesterday"}`), 400, "invalid", "(at line 1, column 41) time"},
		{"a field given twice", strings.NewReader(`{"wiki":"enwiki","wiki":"dewiki","action":"edit"}`), 400, "invalid", "given twice (at line 1, column 18) wiki"},
		{"nested wrong type", strings.NewReader(`{"wiki":"enwiki","action":"edit","page":{"namespace":"0"}}`), 400, "invalid", "expected int, found a JSON string (at line 1, column 54) page.namespace"},
		{"old text twice", strings.NewReader(strings.Replace(goodEdit, `"old_wikitext":"a"`, `"old_wikitext":"a","old_wikitext_delta":{"start":1,"middle":"","end":0}`, 1)), 400, "invalid", "not both"},
		{"old text delta overlaps", strings.NewReader(strings.Replace(goodEdit, `"old_wikitext":"a"`, `"old_wikitext_delta":{"start":2,"middle":"","end":2}`, 1)), 400, "invalid", "overlap"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := e.do(t, "POST", "/v1/screen", vigil.ScopeScreen, tt.body)
			code, msg, field := errorOf(body)
			if status != tt.status || code != tt.code || !strings.Contains(msg+" "+field, tt.want) {
				t.Errorf("%d %s %q field %q; want %d %s mentioning %q", status, code, msg, field, tt.status, tt.code, tt.want)
			}
		})
	}
	// And a good one, for contrast.
	status, body := e.do(t, "POST", "/v1/screen", vigil.ScopeScreen, strings.NewReader(goodEdit))
	if status != 200 || body["allowed"] != true {
		t.Fatalf("good edit: %d %v", status, body)
	}
}

func TestAuth(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		method, path, scope string
		status              int
	}{
		{"POST", "/v1/screen", "", 401},
		{"POST", "/v1/screen", vigil.ScopeReadLog, 403},
		{"GET", "/v1/log", vigil.ScopeScreen, 403},
		{"GET", "/v1/log", vigil.ScopeReadLog, 200},
		{"POST", "/v1/filters", vigil.ScopeReadLog, 403},
		{"GET", "/v1/filters", vigil.ScopeReadLog, 200},
		{"GET", "/v1/audit", vigil.ScopeReadLog, 403},
		{"GET", "/v1/audit", vigil.ScopeReadProtected, 200},
		{"GET", "/healthz", "", 200},
	}
	for _, tt := range tests {
		status, _ := e.do(t, tt.method, tt.path, tt.scope, strings.NewReader(goodEdit))
		if status != tt.status {
			t.Errorf("%s %s with %q: %d, want %d", tt.method, tt.path, tt.scope, status, tt.status)
		}
	}
	req, _ := http.NewRequest("GET", e.srv.URL+"/v1/log", nil)
	req.Header.Set("Authorization", "Bearer vgl_not-a-real-token")
	resp, _ := http.DefaultClient.Do(req)
	if resp.StatusCode != 401 {
		t.Errorf("unknown token: %d", resp.StatusCode)
	}
	resp.Body.Close()
}

// TestProtectedLogAudited: protected data needs the scope and a reason,
// and the read is in the audit log before the data is shown.
func TestProtectedLogAudited(t *testing.T) {
	e := newEnv(t)
	casino := strings.Replace(goodEdit, `"a\nb"`, `"a\ncasino"`, 1)
	casino = strings.Replace(casino, `"performer"`, `"ip":"192.0.2.1","user_agent":"curl/8","performer"`, 1)
	if status, body := e.do(t, "POST", "/v1/screen", vigil.ScopeScreen, strings.NewReader(casino)); status != 200 || body["allowed"] != false {
		t.Fatalf("screen: %d %v", status, body)
	}
	status, body := e.do(t, "GET", "/v1/log?protected=true", vigil.ScopeReadLog, nil, httpapi.ReasonHeader, "case 1")
	if status != 403 {
		t.Fatalf("protected read without the scope: %d %v", status, body)
	}
	status, body = e.do(t, "GET", "/v1/log?protected=true", vigil.ScopeReadProtected, nil)
	if _, _, field := errorOf(body); status != 400 || field != httpapi.ReasonHeader {
		t.Fatalf("protected read without a reason: %d %v", status, body)
	}
	status, body = e.do(t, "GET", "/v1/log?protected=true&wiki=enwiki", vigil.ScopeReadProtected, nil, httpapi.ReasonHeader, "T123 harassment case")
	entries, _ := body["entries"].([]any)
	if status != 200 || len(entries) != 1 {
		t.Fatalf("protected read: %d %v", status, body)
	}
	p, _ := entries[0].(map[string]any)["protected"].(map[string]any)
	if p["ip"] != "192.0.2.1" || p["user_agent"] != "curl/8" {
		t.Fatalf("protected data %v", p)
	}
	// Without protected=true the same token sees no protected data.
	_, body = e.do(t, "GET", "/v1/log", vigil.ScopeReadLog, nil)
	if entries, _ := body["entries"].([]any); entries[0].(map[string]any)["protected"] != nil {
		t.Fatal("protected data shown without asking")
	}
	audit, _ := e.store.ListAudit(context.Background(), 0, 10)
	if len(audit) != 1 || audit[0].Reason != "T123 harassment case" || audit[0].Token != "t-read-protected" ||
		!strings.Contains(audit[0].Resource, "wiki=enwiki") {
		t.Fatalf("audit %+v", audit)
	}
}

// TestScreenOldWikitextDelta: an edit whose old text comes as its
// differences from the new one is screened, and logged, as the same edit
// with the whole old text.
func TestScreenOldWikitextDelta(t *testing.T) {
	e := newEnv(t)
	// The page already mentions a casino; the filter looks at added lines.
	page := strings.Repeat("Some text of the article.\n", 200) + "A casino was built here in 1901.\n" + strings.Repeat("More text, with ü and 😀.\n", 200)
	edits := []struct {
		name    string
		added   string
		allowed bool
	}{
		{"a harmless line", "A new sentence about the town hall.\n", true},
		{"a casino line", "Visit the best online casino!\n", false},
	}
	for _, ed := range edits {
		newText := page[:len(page)/2] + ed.added + page[len(page)/2:]
		d := vigil.DeltaFrom(page, newText)
		if d.Start+d.End < len(page)-1 {
			t.Fatalf("%s: the delta shares only %d of %d bytes", ed.name, d.Start+d.End, len(page))
		}
		// The pre-save transform signed the text: new_pst too goes whole,
		// then as its delta.
		pst := newText + "[[User:Example|Example]] 12:00, 4 December 2026 (UTC)"
		var logged, loggedPST []string
		for _, old := range []map[string]any{{"old_wikitext": page, "new_pst": pst},
			{"old_wikitext_delta": d, "new_pst_delta": vigil.DeltaFrom(pst, newText)}} {
			a := map[string]any{"wiki": "enwiki", "action": "edit", "performer": map[string]any{"name": "192.0.2.1"},
				"page": map[string]any{"id": 7, "namespace": 0, "title": "Town"}, "new_wikitext": newText}
			maps.Copy(a, old)
			body, _ := json.Marshal(a)
			status, v := e.do(t, "POST", "/v1/screen", vigil.ScopeScreen, bytes.NewReader(body))
			if status != 200 || v["allowed"] != ed.allowed {
				t.Fatalf("%s with %v: %d %v; want allowed %v", ed.name, slices.Collect(maps.Keys(old)), status, v, ed.allowed)
			}
			if !ed.allowed {
				_, l := e.do(t, "GET", "/v1/log?limit=1", vigil.ScopeReadLog, nil)
				entry := l["entries"].([]any)[0].(map[string]any)
				old, _ := entry["vars"].(map[string]any)["old_wikitext"].(string)
				logged = append(logged, old)
				p, _ := entry["vars"].(map[string]any)["new_pst"].(string)
				loggedPST = append(loggedPST, p)
			}
		}
		if !ed.allowed && (len(loggedPST) != 2 || loggedPST[0] != pst || loggedPST[1] != pst) {
			t.Fatalf("%s: the abuse log kept new_pst %.80q; want both the signed text", ed.name, loggedPST)
		}
		// AbuseFilter's old_wikitext has no trailing newline.
		if want := strings.TrimRight(page, "\n"); !ed.allowed && (len(logged) != 2 || logged[0] != want || logged[1] != want) {
			t.Fatalf("%s: the abuse log kept old texts %.80q; want both the page, %d bytes", ed.name, logged, len(page))
		}
	}
}

// TestFilterTestProtected: testing a rule on the recent actions' IP
// addresses needs the read-protected scope and a reason, and is audited.
func TestFilterTestProtected(t *testing.T) {
	e := newEnv(t)
	body := func() io.Reader {
		return strings.NewReader(`{"wiki": "enwiki", "pattern": "user_unnamed_ip == '192.0.2.1'", "protected": true}`)
	}
	if status, b := e.do(t, "POST", "/v1/filters/test", vigil.ScopeManageFilters, body(), httpapi.ReasonHeader, "x"); status != 403 {
		t.Fatalf("without read-protected: %d %v", status, b)
	}
	if status, b := e.do(t, "POST", "/v1/filters/test", managerProtected, body()); status != 400 {
		t.Fatalf("without a reason: %d %v", status, b)
	}
	if status, b := e.do(t, "POST", "/v1/filters/test", managerProtected, body(), httpapi.ReasonHeader, "sock puppets, case 9"); status != 200 {
		t.Fatalf("with the right and a reason: %d %v", status, b)
	}
	audit, _ := e.store.ListAudit(context.Background(), 0, 10)
	if len(audit) != 1 || audit[0].Access != "recent.protected" || audit[0].Reason != "sock puppets, case 9" || audit[0].Token != "t-manager" {
		t.Fatalf("audit %+v", audit)
	}
}

// TestUnknownParameters: a typo in a query parameter is an error naming
// it, on every route that takes parameters.
func TestUnknownParameters(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{"/v1/filters?wik=enwiki", "/v1/audit?afer=3", "/v1/blocks?wiki=enwiki&target=x",
		"/v1/log?filtre=1", "/v1/filters?global=yes"} {
		status, body := e.do(t, "GET", path, managerProtected, nil, httpapi.ReasonHeader, "test")
		if _, _, field := errorOf(body); status != 400 || field == "" {
			t.Errorf("%s: %d %v", path, status, body)
		}
	}
	// A typo in ?mode= must not enforce what was meant to be observed.
	status, body := e.do(t, "POST", "/v1/screen?Mode=observe", vigil.ScopeScreen, strings.NewReader(goodEdit))
	if _, _, field := errorOf(body); status != 400 || field != "Mode" {
		t.Errorf("?Mode=observe: %d %v", status, body)
	}
}

func TestLogQueryBadParameters(t *testing.T) {
	e := newEnv(t)
	for _, q := range []string{"limit=9999", "limit=-1", "filter=x", "from=yesterday", "namespace=main", "bogus=1", "protected=maybe"} {
		status, body := e.do(t, "GET", "/v1/log?"+q, vigil.ScopeReadLog, nil)
		code, _, field := errorOf(body)
		if status != 400 || code != "invalid" || field == "" {
			t.Errorf("?%s: %d %v", q, status, body)
		}
	}
}

func TestFilterValidation(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		body, field, want string
	}{
		{`{"wiki":"enwiki","name":"x","pattern":"1 +","actions":{}}`, "pattern", "1:4: unexpected end of input (unexpectedtoken)"},
		{`{"wiki":"enwiki","name":"x","pattern":"nosuchvar","actions":{}}`, "pattern", "unrecognisedvar"},
		{`{"wiki":"enwiki","name":"x","pattern":"true","actions":{"throttle":["1","3","ip"]}}`, "actions.throttle[1]", "count,period"},
		{`{"wiki":"enwiki","name":"x","pattern":"true","actions":{"throttle":["1","3,60","planet"]}}`, "actions.throttle[2]", "planet"},
		{`{"wiki":"enwiki","name":"x","pattern":"true","actions":{"block":["blocktalk","soon","1 day"]}}`, "actions.block[1]", "soon"},
		{`{"wiki":"enwiki","name":"x","pattern":"true","actions":{"explode":[]}}`, "actions.explode", "unknown consequence"},
		{`{"wiki":"enwiki","name":"x","pattern":"true","actions":{"tag":[]}}`, "actions.tag", "at least one tag"},
		{`{"wiki":"en wiki","name":"x","pattern":"true","actions":{}}`, "wiki", "letters"},
		{`{"wiki":"enwiki","name":"","pattern":"true","actions":{}}`, "name", "needs a name"},
		{`{"wiki":"enwiki","name":"x","pattern":"true","privacy":"secret","actions":{}}`, "privacy", "public"},
	}
	for _, tt := range tests {
		status, body := e.do(t, "POST", "/v1/filters", vigil.ScopeManageFilters, strings.NewReader(tt.body))
		code, msg, field := errorOf(body)
		if status != 400 || code != "invalid" || field != tt.field || !strings.Contains(msg, tt.want) {
			t.Errorf("%s: %d %s field %q %q; want field %q mentioning %q", tt.body, status, code, field, msg, tt.field, tt.want)
		}
	}
	if fs, _ := e.store.ListFilters(context.Background(), vigil.FilterQuery{}); len(fs) != 1 {
		t.Fatalf("a refused filter was saved: %d filters", len(fs))
	}
}

// FuzzScreen sends any body to /v1/screen: the answer is JSON, 200 or a
// 4xx, never a 5xx.
func FuzzScreen(f *testing.F) {
	for _, s := range []string{goodEdit, `{}`, `{"wiki":"enwiki","action":"move","performer":{"name":"X","id":1},"page":{"title":"A"},"target":{"title":"B"}}`,
		`{"wiki":"enwiki","action":"createaccount","performer":{"name":"192.0.2.1"},"account_name":"Spammer"}`,
		`{"wiki":"enwiki","action":"upload","performer":{"name":"192.0.2.1"},"page":{"namespace":6,"title":"X.png"},"file":{"sha1":"0000000000000000000000000000000000000000","size":1,"mime":"image/png"}}`,
		`{"wiki":"enwiki","action":"edit","performer":{"name":"::1"},"page":{"title":"X","restrictions":{"edit":["sysop"]}},"new_links":["http://x"]}`,
		`{"wiki":"enwiki","action":"edit","performer":{"name":"192.0.2.1"},"page":{"title":"X"},"new_wikitext":"Grüße\nb","old_wikitext_delta":{"start":3,"middle":"ü","end":4}}`,
		"\xff", `{"wiki":1}`, `null`} {
		f.Add([]byte(s))
	}
	e := newEnv(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		req, _ := http.NewRequest("POST", e.srv.URL+"/v1/screen", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+e.tokens[vigil.ScopeScreen])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 500 || !json.Valid(data) {
			t.Fatalf("body %q: %d %s", body, resp.StatusCode, data)
		}
	})
}

// TestPrivateFilterHidden: the rule of a private filter, and of every
// older version once the filter is private, is hidden from a token that
// may only read; a manager sees it.
func TestPrivateFilterHidden(t *testing.T) {
	e := newEnv(t)
	status, f := e.do(t, "POST", "/v1/filters", vigil.ScopeManageFilters,
		strings.NewReader(`{"wiki":"enwiki","name":"LTA","pattern":"added_lines contains \"secret-1\"","enabled":true,"actions":{}}`))
	if status != 201 && status != 200 {
		t.Fatalf("create: %d %v", status, f)
	}
	id := fmt.Sprint(f["id"])
	status, f = e.do(t, "PUT", "/v1/filters/"+id, vigil.ScopeManageFilters,
		strings.NewReader(`{"wiki":"enwiki","name":"LTA","pattern":"added_lines contains \"secret-2\"","enabled":true,"privacy":"private","actions":{},"version":1}`))
	if status != 200 {
		t.Fatalf("update: %d %v", status, f)
	}
	for _, path := range []string{"/v1/filters/" + id, "/v1/filters/" + id + "/versions", "/v1/filters/" + id + "/versions/1",
		"/v1/filters/" + id + "/diff?from=1&to=2", "/v1/filters?wiki=enwiki"} {
		_, reader := e.raw(t, "GET", path, vigil.ScopeReadLog)
		_, manager := e.raw(t, "GET", path, vigil.ScopeManageFilters)
		if strings.Contains(reader, "secret-") {
			t.Errorf("%s shows a private rule to a reader: %s", path, reader)
		}
		if !strings.Contains(manager, "secret-") {
			t.Errorf("%s hides the rule from a manager: %s", path, manager)
		}
	}
}

// raw sends a request without a body and returns the status and the body.
func (e *env) raw(t testing.TB, method, path, scope string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+e.tokens[scope])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestBlocksAndUnblock: a block refuses the performer before filters run;
// it is listed, and lifting it (as the extension does when a wiki admin
// unblocks) lets the performer through again.
func TestBlocksAndUnblock(t *testing.T) {
	e := newEnv(t)
	if _, err := e.store.PutBlock(context.Background(), &vigil.Block{Wiki: "enwiki", Target: "192.0.2.1", Reason: "test",
		Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	// Targets are IP addresses: the list needs read-protected and a
	// reason, and is audited.
	if status, _ := e.do(t, "GET", "/v1/blocks?wiki=enwiki", vigil.ScopeReadLog, nil); status != 403 {
		t.Fatalf("a read-log token lists blocks: %d", status)
	}
	if status, _ := e.do(t, "GET", "/v1/blocks?wiki=enwiki", vigil.ScopeReadProtected, nil); status != 400 {
		t.Fatalf("blocks listed without a reason: %d", status)
	}
	status, body := e.do(t, "GET", "/v1/blocks?wiki=enwiki", vigil.ScopeReadProtected, nil, httpapi.ReasonHeader, "review")
	blocks, _ := body["blocks"].([]any)
	if status != 200 || len(blocks) != 1 || blocks[0].(map[string]any)["indefinite"] != true {
		t.Fatalf("blocks: %d %v", status, body)
	}
	if status, body := e.do(t, "POST", "/v1/screen", vigil.ScopeScreen, strings.NewReader(goodEdit)); status != 200 || body["allowed"] != false {
		t.Fatalf("blocked performer: %d %v", status, body)
	}
	// Lifting a block takes its own scope: a screen token may not.
	if status, _ := e.do(t, "POST", "/v1/blocks/unblock", vigil.ScopeScreen,
		strings.NewReader(`{"wiki":"enwiki","target":"192.0.2.1"}`)); status != 403 {
		t.Fatalf("a screen token lifted a block: %d", status)
	}
	unblock := func(body string) (int, map[string]any) {
		return e.do(t, "POST", "/v1/blocks/unblock", vigil.ScopeManageBlocks, strings.NewReader(body))
	}
	if status, body := unblock(`{"wiki":"enwiki"}`); status != 400 || body["error"].(map[string]any)["field"] != "target" {
		t.Fatalf("no target: %d %v", status, body)
	}
	if status, body := unblock(`{"wiki":"enwiki","target":"192.0.2.1","author":"Admin","reason":"false positive"}`); status != 200 {
		t.Fatalf("unblock: %d %v", status, body)
	}
	if status, body := e.do(t, "POST", "/v1/screen", vigil.ScopeScreen, strings.NewReader(goodEdit)); status != 200 || body["allowed"] != true {
		t.Fatalf("after the unblock: %d %v", status, body)
	}
	if status, _ := unblock(`{"wiki":"enwiki","target":"192.0.2.1"}`); status != 404 {
		t.Fatalf("second unblock: %d", status)
	}
	audit, _ := e.store.ListAudit(context.Background(), 0, 10)
	if len(audit) != 2 || audit[1].Access != "block.unblock" || !strings.Contains(audit[1].Resource, "target=192.0.2.1 by=Admin") ||
		audit[1].Reason != "false positive" {
		t.Fatalf("audit: %+v", audit)
	}
	if status, _ := e.do(t, "GET", "/v1/blocks?wiki=enwiki", vigil.ScopeScreen, nil); status != 403 {
		t.Fatalf("a screen token lists blocks: %d", status)
	}
}

// FuzzAPI sends arbitrary bodies and query strings to every route that
// takes input, with a token that may use them all: never a 5xx, always a
// JSON answer.
func FuzzAPI(f *testing.F) {
	seeds := []struct {
		route       uint8
		query, body string
	}{
		{0, "", `{"wiki":"enwiki","name":"x","pattern":"added_lines contains \"a\"","enabled":true,"actions":{"throttle":["1","3,60","ip"],"tag":["t"]}}`},
		{1, "", `{"wiki":"enwiki","name":"x","pattern":"1 == 1","actions":{},"version":1}`},
		{2, "", `{"wiki":"enwiki","pattern":"user_name rlike \"(a+)+$\"","limit":5}`},
		{3, "wiki=enwiki&filter=1&after=9&limit=3&from=2026-01-01T00:00:00Z", ""},
		{4, "from=1&to=2", ""},
		{5, "", `{"summary":"x"}`},
		{6, "", `{"version":1}`},
		{7, "", `{"wiki":"enwiki","target":"192.0.2.1"}`},
		{8, "wiki=enwiki", ""},
		{0, "", `{"wiki":"enwiki","name":"x","pattern":"(((","actions":{"block":["x","y","z"]}}`},
	}
	for _, s := range seeds {
		f.Add(s.route, s.query, []byte(s.body))
	}
	routes := []struct{ method, path string }{
		{"POST", "/v1/filters"}, {"PUT", "/v1/filters/1"}, {"POST", "/v1/filters/test"}, {"GET", "/v1/log"},
		{"GET", "/v1/filters/1/diff"}, {"POST", "/v1/filters/1/disable"}, {"POST", "/v1/filters/1/restore"},
		{"POST", "/v1/blocks/unblock"}, {"GET", "/v1/blocks"}, {"GET", "/v1/filters"}, {"GET", "/v1/audit"},
	}
	e := newEnv(f)
	f.Fuzz(func(t *testing.T, route uint8, query string, body []byte) {
		r := routes[int(route)%len(routes)]
		// Parameters as a client sends them: a raw space would make the
		// request line itself invalid, which net/http refuses before any
		// handler runs.
		params, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		req, err := http.NewRequest(r.method, e.srv.URL+r.path+"?"+params.Encode(), bytes.NewReader(body))
		if err != nil {
			return
		}
		req.Header.Set("Authorization", "Bearer "+e.tokens[managerProtected])
		req.Header.Set(httpapi.ReasonHeader, "fuzz")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return // a query Go's client refuses to send
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 500 || (resp.StatusCode != 404 && resp.StatusCode != 405 && !json.Valid(data)) {
			t.Fatalf("%s %s?%s %q: %d %s", r.method, r.path, query, body, resp.StatusCode, data)
		}
	})
}
