package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigilwiki/vigil"
	"github.com/vigilwiki/vigil/config"
	"github.com/vigilwiki/vigil/httpapi"
	"github.com/vigilwiki/vigil/internal/pgtest"
	"github.com/vigilwiki/vigil/screen"
)

// server is a running `vigil serve`.
type server struct {
	url    string
	token  string
	data   string
	client *httpapi.Client
	stop   func()
	log    *lockedBuffer // the server's standard error
}

// startServe runs `vigil serve` with extra arguments on a free port and a
// fresh data directory, and waits until it answers /healthz.
func startServe(t *testing.T, environ []string, args ...string) *server {
	t.Helper()
	return startServeWith(t, environ, nil, args...)
}

// startServeWith is startServe with Env.Reexec set to reexec.
func startServeWith(t *testing.T, environ []string, reexec func() error, args ...string) *server {
	t.Helper()
	data := t.TempDir()
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var stderr bytes.Buffer
	logBuf := &lockedBuffer{b: &stderr}
	env := Env{
		Args:    append([]string{"serve", "--data", data, "--listen", "127.0.0.1:0"}, args...),
		Getenv:  func(k string) string { return envLookup(environ, k) },
		Environ: func() []string { return environ },
		Stdin:   strings.NewReader(""), Stdout: pipeWriter{pw}, Stderr: logBuf,
		Reexec: reexec,
	}
	go func() { done <- Main(ctx, env); pw.Close() }()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("vigil serve did not start: %v\n%s", err, stderr.String())
	}
	go io.Copy(io.Discard, pr)
	base := listenedURL(line)
	tok, err := os.ReadFile(filepath.Join(data, "admin-token"))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	s := &server{url: base, token: strings.TrimSpace(string(tok)), data: data, log: logBuf}
	s.client = &httpapi.Client{BaseURL: base, Token: s.token}
	stopped := false
	s.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("vigil serve exited %d\n%s", code, stderr.String())
			}
		case <-time.After(30 * time.Second):
			t.Error("vigil serve did not shut down within 30s")
		}
	}
	t.Cleanup(s.stop)
	waitHealthy(t, base)
	return s
}

type lockedBuffer struct {
	mu chanMutex
	b  *bytes.Buffer
}

type chanMutex struct{ c chan struct{} }

func (m *chanMutex) lock() {
	if m.c == nil {
		m.c = make(chan struct{}, 1)
	}
	m.c <- struct{}{}
}
func (m *chanMutex) unlock() { <-m.c }

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.lock()
	defer l.mu.unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.lock()
	defer l.mu.unlock()
	return l.b.String()
}

func envLookup(environ []string, k string) string {
	for _, kv := range environ {
		if name, v, ok := strings.Cut(kv, "="); ok && name == k {
			return v
		}
	}
	return ""
}

func waitHealthy(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s/healthz did not answer", base)
}

// cli runs a vigil command against the server.
func (s *server) cli(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(context.Background(), Env{Args: args, Getenv: func(k string) string {
		switch k {
		case "VIGIL_URL":
			return s.url
		case "VIGIL_TOKEN":
			return s.token
		}
		return ""
	}, Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut})
	return out.String(), errOut.String(), code
}

// varsetAction turns a variable set of real-filters-verdicts.json into the
// action MediaWiki would send.
func varsetAction(t *testing.T, wiki string, vs map[string]any) *vigil.Action {
	t.Helper()
	str := func(k string) string { s, _ := vs[k].(string); return s }
	num := func(k string) int64 {
		n, _ := vs[k].(json.Number)
		i, _ := n.Int64()
		return i
	}
	strs := func(k string) []string {
		var out []string
		for _, x := range vs[k].([]any) {
			out = append(out, x.(string))
		}
		return out
	}
	ts, _ := strconv.ParseInt(str("timestamp"), 10, 64)
	now := time.Unix(ts, 0).UTC()
	a := &vigil.Action{Wiki: wiki, Action: str("action"), Time: now,
		Performer: vigil.Performer{Name: str("user_name"), Groups: strs("user_groups"), Rights: strs("user_rights")}}
	if vs["user_editcount"] != nil {
		n := num("user_editcount")
		a.Performer.EditCount = &n
		a.Performer.ID = 1000
		a.Performer.Type = "named"
		reg := now.Add(-time.Duration(num("user_age")) * time.Second)
		a.Performer.Registration = &reg
	} else {
		a.IP = a.Performer.Name
	}
	created := now.Add(-time.Duration(num("page_age")) * time.Second)
	a.Page = &vigil.Page{ID: num("page_id"), Namespace: int(num("page_namespace")), Title: str("page_title"), Created: &created}
	for _, k := range []struct {
		name string
		dst  **string
	}{{"summary", &a.Summary}, {"old_wikitext", &a.OldWikitext}, {"new_wikitext", &a.NewWikitext},
		{"old_content_model", &a.OldContentModel}, {"new_content_model", &a.NewContentModel}} {
		s := str(k.name)
		*k.dst = &s
	}
	a.OldLinks, a.NewLinks = strs("old_links"), strs("all_links")
	return a
}

// TestServeRealFilters imports the 450 real filters through `vigil filters
// import`, screens the six real variable sets as actions over HTTP, and
// compares the matches with the real AbuseFilter's verdicts, on SQLite and
// on PostgreSQL.
func TestServeRealFilters(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			var args []string
			if backend == "postgres" {
				args = append(args, "--db", pgtest.NewDatabase(t))
			}
			// AbuseFilter's verdicts come from each filter alone: no shared
			// condition limit.
			s := startServe(t, []string{"VIGIL_SCREEN__COND_LIMIT=1000000"}, args...)
			out, errOut, code := s.cli(t, "", "filters", "import", "--enable", "--log-only", shared+"/real-filters.jsonl")
			if code != 0 || !strings.Contains(out, "imported 444 filters, skipped 6") {
				t.Fatalf("import: exit %d\n%s\n%s", code, out, errOut)
			}
			filters, err := s.client.ListFilters(context.Background(), "", false)
			if err != nil {
				t.Fatal(err)
			}
			// Vigil's id of each AbuseFilter filter, from the import note.
			byAF := map[string]int64{}
			for _, f := range filters {
				var wiki string
				var afID int64
				if _, err := fmt.Sscanf(f.Notes, "Imported from %s filter %d.", &wiki, &afID); err == nil {
					byAF[fmt.Sprint(wiki, "/", afID)] = f.ID
				}
			}
			b, err := os.ReadFile(shared + "/real-filters-verdicts.json")
			if err != nil {
				t.Fatal(err)
			}
			var verdicts struct {
				Varsets map[string]map[string]any
				Results []struct {
					Wiki    string
					AFID    int64 `json:"af_id"`
					Results map[string]bool
				}
			}
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.UseNumber()
			if err := dec.Decode(&verdicts); err != nil {
				t.Fatal(err)
			}
			names := make([]string, 0, len(verdicts.Varsets))
			for n := range verdicts.Varsets {
				names = append(names, n)
			}
			sort.Strings(names)
			total, absorbed := 0, 0
			throttles := map[int64]bool{} // Vigil's ids of the filters imported with a throttle
			for _, f := range filters {
				if _, ok := f.Actions["throttle"]; ok {
					throttles[f.ID] = true
				}
			}
			for _, name := range names {
				for _, wiki := range []string{"enwiki", "dewiki"} {
					var want []int64
					for _, r := range verdicts.Results {
						if r.Wiki == wiki && r.Results[name] {
							want = append(want, byAF[fmt.Sprint(r.Wiki, "/", r.AFID)])
						}
					}
					v, err := s.client.Screen(context.Background(), varsetAction(t, wiki, verdicts.Varsets[name]))
					if err != nil {
						t.Fatalf("%s on %s: %v", name, wiki, err)
					}
					var got []int64
					for _, m := range v.Matches {
						got = append(got, m.ID)
						if !m.LogOnly {
							t.Errorf("%s: a log-only filter's match is not marked log-only: %+v", name, m)
						}
					}
					slices.Sort(got)
					slices.Sort(want)
					if len(v.Messages) != 0 || len(v.Tags) != 0 || v.Block != nil {
						t.Errorf("%s: log-only filters acted: %+v", name, v)
					}
					if !slices.Equal(got, want) || !v.Allowed {
						t.Errorf("%s on %s: matched %v, AbuseFilter %v (allowed %v)", name, wiki, got, want, v.Allowed)
					}
					total += len(got)
					for _, m := range v.Matches {
						if slices.Contains(v.Throttled, m.Filter) {
							absorbed++
							if !throttles[m.ID] {
								t.Errorf("%s: filter %d's match absorbed by a throttle it does not have", name, m.ID)
							}
						}
					}
				}
			}
			if total != 22 {
				t.Errorf("%d matches in all, want AbuseFilter's 22", total)
			}
			// Every match is in the abuse log but those a throttle absorbed
			// (as AbuseFilter's: a throttle counts the first matches of a
			// user without acting or logging).
			if absorbed == 0 {
				t.Error("no match absorbed by a throttle: the real filters have throttles (imported with AbuseFilter's defaults)")
			}
			page, err := s.client.QueryLog(context.Background(), url.Values{"limit": {"500"}})
			if err != nil || len(page.Entries) != total-absorbed {
				t.Fatalf("abuse log: %d entries (%v), want %d (%d matches, %d absorbed by throttles)", len(page.Entries), err, total-absorbed, total, absorbed)
			}
		})
	}
}

// TestServeConsequences exercises AbuseFilter's consequence rules through
// the HTTP API of a real server.
func TestServeConsequences(t *testing.T) {
	s := startServe(t, nil)
	ctx := context.Background()
	create := func(name, pattern string, actions map[string][]string) *vigil.Filter {
		f, err := s.client.CreateFilter(ctx, &httpapi.FilterInput{Wiki: "testwiki", Name: name, Pattern: pattern,
			Enabled: true, Actions: actions})
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	edit := func(ip, text, session string) *vigil.Action {
		return &vigil.Action{Wiki: "testwiki", Action: "edit", Performer: vigil.Performer{Name: ip}, IP: ip, Session: session,
			Page: &vigil.Page{ID: 3, Title: "Sandbox"}, OldWikitext: new(string), NewWikitext: &text}
	}
	screenIt := func(a *vigil.Action) *screen.Verdict {
		t.Helper()
		v, err := s.client.Screen(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	warn := create("Shouting", `added_lines rlike "[A-Z]{12}"`, map[string][]string{"warn": {}, "tag": {"caps"}})
	if v := screenIt(edit("192.0.2.10", "AAAAAAAAAAAAAAAA", "s1")); v.Allowed || v.Messages[0].Key != "abusefilter-warning" {
		t.Fatalf("warn: %+v", v)
	}
	if v := screenIt(edit("192.0.2.10", "AAAAAAAAAAAAAAAA", "s1")); !v.Allowed || !slices.Contains(v.Tags, "caps") {
		t.Fatalf("resubmission: %+v", v)
	}
	create("Throttled links", `added_lines contains "http"`, map[string][]string{"throttle": {"1", "1,600", "ip"}, "disallow": {}})
	if v := screenIt(edit("192.0.2.20", "http://a", "")); !v.Allowed || len(v.Throttled) != 1 {
		t.Fatalf("first throttled match: %+v", v)
	}
	if v := screenIt(edit("192.0.2.20", "http://b", "")); v.Allowed {
		t.Fatalf("second match past the throttle: %+v", v)
	}
	create("Block A", `added_lines contains "VANDAL"`, map[string][]string{"block": {"blocktalk", "2 hours", "2 hours"}})
	create("Block B", `added_lines contains "VANDAL"`, map[string][]string{"block": {"blocktalk", "1 week", "1 week"}, "disallow": {}})
	v := screenIt(edit("192.0.2.30", "VANDAL", ""))
	if v.Block == nil || v.Block.Indefinite || v.Block.Expiry.Sub(time.Now()) < 6*24*time.Hour || v.Allowed {
		t.Fatalf("longest block: %+v", v.Block)
	}
	if v := screenIt(edit("192.0.2.30", "harmless", "")); v.Blocked == nil || v.Allowed {
		t.Fatalf("blocked performer: %+v", v)
	}
	// The log: filter, action-taken and paging.
	page, err := s.client.QueryLog(ctx, url.Values{"filter": {fmt.Sprint(warn.ID)}})
	if err != nil || len(page.Entries) != 2 || fmt.Sprint(page.Entries[0].ActionsTaken) != "[tag]" || fmt.Sprint(page.Entries[1].ActionsTaken) != "[warn]" {
		t.Fatalf("log of the warn filter: %+v, %v", page, err)
	}
	page, _ = s.client.QueryLog(ctx, url.Values{"action_taken": {"block"}})
	if len(page.Entries) != 1 {
		t.Fatalf("log of blocks: %+v", page.Entries)
	}
	// Stats count what the filter saw.
	var st screen.FilterReport
	getJSON(t, s, "/v1/filters/"+fmt.Sprint(warn.ID)+"/stats", &st)
	if st.Checked < 5 || st.Matches != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func getJSON(t *testing.T, s *server, path string, out any) {
	t.Helper()
	req, _ := http.NewRequest("GET", s.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}

// TestServeFilterHistory: versions, conflicts, diff and restore.
func TestServeFilterHistory(t *testing.T) {
	s := startServe(t, nil)
	ctx := context.Background()
	f, err := s.client.CreateFilter(ctx, &httpapi.FilterInput{Wiki: "testwiki", Name: "v1", Pattern: `true`, Enabled: true,
		Actions: map[string][]string{"tag": {"x"}}, Summary: "first"})
	if err != nil {
		t.Fatal(err)
	}
	put := func(in any) (int, string) {
		b, _ := json.Marshal(in)
		req, _ := http.NewRequest("PUT", fmt.Sprintf("%s/v1/filters/%d", s.url, f.ID), bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+s.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	in := httpapi.FilterInput{Wiki: "testwiki", Name: "v2", Pattern: "user_name == \"X\"\n& true", Enabled: true,
		Actions: map[string][]string{"disallow": {}}, Version: 1, Summary: "second"}
	if code, body := put(in); code != 200 {
		t.Fatalf("update: %d %s", code, body)
	}
	if code, body := put(in); code != 409 || !strings.Contains(body, `"conflict"`) {
		t.Fatalf("stale update: %d %s", code, body)
	}
	bad := in
	bad.Version, bad.Pattern = 2, "user_name == "
	if code, body := put(bad); code != 400 || !strings.Contains(body, `"field":"pattern"`) || !strings.Contains(body, "1:14: unexpected end of input") {
		t.Fatalf("bad rule: %d %s", code, body)
	}
	var diff struct {
		Changes     []httpapi.FieldChange `json:"changes"`
		PatternDiff []string              `json:"pattern_diff"`
	}
	getJSON(t, s, fmt.Sprintf("/v1/filters/%d/diff?from=1&to=2", f.ID), &diff)
	var fields []string
	for _, c := range diff.Changes {
		fields = append(fields, c.Field)
	}
	if fmt.Sprint(fields) != "[name pattern actions.disallow actions.tag]" || fmt.Sprint(diff.PatternDiff) != `[-true +user_name == "X" +& true]` {
		t.Fatalf("diff %v %q", fields, diff.PatternDiff)
	}
	out, _, code := s.cli(t, "", "filters", "disable", fmt.Sprint(f.ID))
	if code != 0 || !strings.Contains(out, "version 3, enabled false") {
		t.Fatalf("disable: %s", out)
	}
	b, _ := json.Marshal(map[string]any{"version": 1})
	req, _ := http.NewRequest("POST", fmt.Sprintf("%s/v1/filters/%d/restore", s.url, f.ID), bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("restore: %v %v", err, resp.StatusCode)
	}
	resp.Body.Close()
	cur, _ := s.client.Filter(ctx, f.ID)
	if cur.Version != 4 || cur.Name != "v1" || cur.Pattern != "true" || !cur.Enabled {
		t.Fatalf("after restore %+v", cur)
	}
	out, _, _ = s.cli(t, "", "filters", "history", fmt.Sprint(f.ID))
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 5 || !strings.Contains(lines[1], "restore version 1") {
		t.Fatalf("history:\n%s", out)
	}
	// Export and re-import round trip through AbuseFilter's format.
	exported, _, code := s.cli(t, "", "filters", "export", "--wiki", "testwiki")
	if code != 0 || !strings.Contains(exported, `"data":{"rules":"true","name":"v1"`) {
		t.Fatalf("export: %s", exported)
	}
	out, _, code = s.cli(t, exported, "filters", "import", "--wiki", "otherwiki", "-")
	if code != 0 || !strings.Contains(out, "imported 1 filters") {
		t.Fatalf("re-import: %s", out)
	}
	others, _ := s.client.ListFilters(ctx, "otherwiki", false)
	if len(others) != 1 || others[0].Pattern != "true" || fmt.Sprint(others[0].Actions) != "map[tag:[x]]" {
		t.Fatalf("re-imported %+v", others)
	}
}

// TestServeDatabaseOutage kills PostgreSQL in the middle of a run of
// screened actions and starts it again: every action gets its verdict
// meanwhile, and every hit reaches the abuse log in the end.
func TestServeDatabaseOutage(t *testing.T) {
	pg := pgtest.StartServer(t)
	s := startServe(t, nil, "--db", pg.URL())
	ctx := context.Background()
	f, err := s.client.CreateFilter(ctx, &httpapi.FilterInput{Wiki: "testwiki", Name: "Everything", Pattern: `added_lines contains "x"`,
		Enabled: true, Actions: map[string][]string{"tag": {"seen"}}})
	if err != nil {
		t.Fatal(err)
	}
	const n = 300
	spooled := 0
	var notSpooled []string
	for i := range n {
		switch i {
		case 100:
			pg.Stop()
		case 200:
			pg.Start()
		}
		text := fmt.Sprintf("x %d", i)
		a := &vigil.Action{Wiki: "testwiki", Action: "edit", Performer: vigil.Performer{Name: fmt.Sprintf("192.0.2.%d", i%250+1)},
			Page: &vigil.Page{ID: 1, Title: "T"}, OldWikitext: new(string), NewWikitext: &text}
		v, err := s.client.Screen(ctx, a)
		if err != nil {
			t.Fatalf("action %d (database %s): %v", i, map[bool]string{true: "down", false: "up"}[i >= 100 && i < 200], err)
		}
		if len(v.Matches) != 1 || !slices.Contains(v.Tags, "seen") {
			t.Fatalf("action %d: verdict %+v", i, v)
		}
		if v.LogSpooled {
			spooled++
		} else if i >= 100 && i < 200 {
			notSpooled = append(notSpooled, fmt.Sprintf("%d (log id %d)", i, v.Matches[0].LogID))
		}
	}
	if spooled < 90 {
		t.Fatalf("only %d hits spooled while the database was down; not spooled: %v", spooled, notSpooled)
	}
	deadline := time.Now().Add(30 * time.Second)
	var count int
	for time.Now().Before(deadline) {
		count = 0
		q := url.Values{"filter": {fmt.Sprint(f.ID)}, "limit": {"500"}}
		page, err := s.client.QueryLog(ctx, q)
		if err == nil {
			count = len(page.Entries)
		}
		if count == n {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if count != n {
		t.Fatalf("%d of %d hits in the abuse log after the database came back", count, n)
	}
	t.Logf("%d hits spooled during the outage, all written afterwards", spooled)
}

// TestServeTour follows the README's tour on a fresh `vigil serve`: the
// sample filters refuse the spammy edit, the hit is in the log, and the IP
// address is only readable with the right scope and a reason, which the
// audit log records.
func TestServeTour(t *testing.T) {
	s := startServe(t, nil)
	// Before it listened, the server compiled the sample wiki's filters
	// and ran them over the default 1,000 actions.
	if log := s.log.String(); !strings.Contains(log, `"msg":"warmed up","sets":1,"actions":1000,`) {
		t.Errorf("no warm-up in the server's log:\n%s", log)
	}
	body := `{
    "wiki": "demowiki", "action": "edit",
    "performer": {"name": "203.0.113.7", "type": "ip"}, "ip": "203.0.113.7",
    "page": {"namespace": 0, "title": "Sandbox"},
    "old_wikitext": "Hello.", "new_wikitext": "Hello.\nBest online casino bonus here!", "summary": "update"}`
	req, _ := http.NewRequest("POST", s.url+"/v1/screen", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var v screen.Verdict
	err = json.NewDecoder(resp.Body).Decode(&v)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("screen: %d %v", resp.StatusCode, err)
	}
	if v.Allowed || len(v.Messages) != 1 || v.Messages[0].Key != "abusefilter-disallowed" ||
		v.Messages[0].Params[0] != "Casino and pharmacy spam" || !slices.Equal(v.Tags, []string{"spam"}) {
		t.Fatalf("verdict: %+v", v)
	}
	// Its parts' times: the log's durable write takes a disk sync.
	if v.LogMicroseconds <= 0 || v.FiltersMicroseconds+v.LogMicroseconds > v.DurationMicroseconds {
		t.Errorf("times: filters %d µs, log %d µs, all %d µs", v.FiltersMicroseconds, v.LogMicroseconds, v.DurationMicroseconds)
	}

	// Test before enabling: a new rule over the recent window (written
	// there within a second), and a proposed change to filter 1 against
	// its current rule.
	var testOut string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		testOut, _, _ = s.cli(t, `added_lines irlike "casino"`, "filters", "test", "--wiki", "demowiki", "--rule", "-")
		if strings.Contains(testOut, "1 actions checked, 1 matched") {
			break
		}
	}
	if !strings.Contains(testOut, "1 actions checked, 1 matched") || !strings.Contains(testOut, "203.0.113.7") {
		t.Fatalf("filters test: %s", testOut)
	}
	out, errOut, code := s.cli(t, `added_lines contains "no such text"`, "filters", "test", "--wiki", "demowiki", "--filter", "1", "--rule", "-")
	if code != 0 || !strings.Contains(out, "0 newly matched, 1 no longer matched") {
		t.Fatalf("filters test of a proposed change: %d %s %s", code, out, errOut)
	}

	// The filters' statistics and the request latencies are metrics.
	resp, err = http.Get(s.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`vigil_filter_checked_total{filter="1"} 1`, `vigil_filter_checked_total{filter="4"} 1`,
		`vigil_filter_matches_total{filter="1",wiki="demowiki"} 1`, `vigil_filter_conditions_total{filter="1"} `,
		`vigil_screen_actions_total{action="edit",outcome="refused",wiki="demowiki"} 1`,
		`vigil_http_request_duration_seconds_count{method="POST",route="POST /v1/screen",status="200"} 1`,
		`vigil_screen_phase_seconds_count{phase="filters",wiki="demowiki"} 1`,
		`vigil_screen_phase_seconds_count{phase="log",wiki="demowiki"} 1`,
		"\nvigil_protected_purged_total 0\n",                                        // nothing is 90 days old yet
		fmt.Sprintf("\ngo_gc_gogc_percent %d\n", config.Defaults()["gc_percent"])} { // gc_percent's default (the test gives serve no GOGC)
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if !regexp.MustCompile(`\nvigil_protected_purge_last_success_timestamp_seconds [1-9]`).Match(metrics) {
		t.Error("/metrics: no purge of expired protected data finished since the start")
	}

	out, errOut, code = s.cli(t, "", "log", "query", "--wiki", "demowiki")
	var e vigil.LogEntry
	if code != 0 || json.Unmarshal([]byte(out), &e) != nil {
		t.Fatalf("log query: %d %s %s", code, out, errOut)
	}
	var vars map[string]any
	json.Unmarshal(e.Vars, &vars)
	if e.PageTitle != "Sandbox" || !slices.Equal(e.ActionsTaken, []string{"disallow", "tag"}) || e.Protected != nil ||
		fmt.Sprint(vars["added_lines"]) != "[Best online casino bonus here!]" {
		t.Fatalf("log entry: %s", out)
	}
	if _, errOut, code := s.cli(t, "", "log", "query", "--protected"); code == 0 || !strings.Contains(errOut, "--reason") {
		t.Fatalf("protected without a reason: %d %s", code, errOut)
	}
	out, errOut, code = s.cli(t, "", "log", "query", "--protected", "--reason", "ticket 42: spam wave")
	e = vigil.LogEntry{}
	if code != 0 || json.Unmarshal([]byte(out), &e) != nil || e.Protected == nil || e.Protected.IP != "203.0.113.7" {
		t.Fatalf("protected log query: %d %s %s", code, out, errOut)
	}
	audit, err := s.client.Audit(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, a := range audit {
		found = found || a.Reason == "ticket 42: spam wave"
	}
	if !found {
		t.Fatalf("the protected read is not in the audit log: %+v", audit)
	}
}

func TestTokenCommands(t *testing.T) {
	data := t.TempDir()
	secret, errOut, code := run(t, "", "token", "create", "--data", data, "--name", "mediawiki-enwiki", "--scopes", "screen")
	if code != 0 || len(strings.TrimSpace(secret)) < 32 {
		t.Fatalf("create: %d %q %s", code, secret, errOut)
	}
	if _, errOut, code := run(t, "", "token", "create", "--data", data, "--name", "x", "--scopes", "screen,admin"); code == 0 ||
		!strings.Contains(errOut, `unknown scope "admin"`) {
		t.Fatalf("unknown scope: %d %s", code, errOut)
	}
	out, _, _ := run(t, "", "token", "list", "--data", data)
	if !regexp.MustCompile(`(?m)^1 +mediawiki-enwiki +screen +\S+ +active$`).MatchString(out) || strings.Contains(out, strings.TrimSpace(secret)) {
		t.Fatalf("list:\n%s", out)
	}
	if _, errOut, code := run(t, "", "token", "revoke", "--data", data, "1"); code != 0 {
		t.Fatalf("revoke: %s", errOut)
	}
	if out, _, _ := run(t, "", "token", "list", "--data", data); !strings.Contains(out, "revoked") {
		t.Fatalf("list after revoke:\n%s", out)
	}
	if _, errOut, code := run(t, "", "token", "revoke", "--data", data, "7"); code == 0 || !strings.Contains(errOut, "not found") {
		t.Fatalf("revoke of a missing token: %d %s", code, errOut)
	}
}

// TestReplay screens recorded recent changes (real events) in observe mode:
// the matches are logged as log-only with what the filter would have done,
// nothing is blocked, and --state resumes after the last line.
func TestReplay(t *testing.T) {
	s := startServe(t, nil)
	if _, err := s.client.CreateFilter(context.Background(), &httpapi.FilterInput{Wiki: "demowiki", Name: "Bots adding claims",
		Pattern: `user_name rlike "Bot$" & action == "edit"`, Enabled: true,
		Actions: map[string][]string{"disallow": {}}}); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(t.TempDir(), "state.json")
	events := "../../../shared/testdata/eventstreams/samples/recentchange/misc-2020-2021.jsonl"
	out, errOut, code := s.cli(t, "", "replay", events, "--as", "demowiki", "--no-fetch", "--state", state)
	if code != 0 || !strings.Contains(errOut, "screened 3 actions") {
		t.Fatalf("replay: %d %s %s", code, out, errOut)
	}
	// One alert line per matched action, and nothing else: a notifier
	// reads standard output as JSON lines.
	alerts := 0
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		var a struct {
			Wiki    string
			Matches []struct {
				Would []string
			}
		}
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatalf("standard output holds a line that is not JSON: %q (%v)", line, err)
		}
		if a.Wiki == "demowiki" && len(a.Matches) == 1 && slices.Equal(a.Matches[0].Would, []string{"disallow"}) {
			alerts++
		}
	}
	if alerts != 2 {
		t.Fatalf("%d alerts in:\n%s", alerts, out)
	}
	page, err := s.client.QueryLog(context.Background(), url.Values{"wiki": {"demowiki"}})
	if err != nil {
		t.Fatal(err)
	}
	var users []string
	for _, e := range page.Entries {
		if !e.LogOnly || !slices.Equal(e.ActionsTaken, []string{"disallow"}) {
			t.Errorf("entry %+v: want log-only with what it would have done", e)
		}
		users = append(users, e.Performer)
	}
	slices.Sort(users)
	if !slices.Equal(users, []string{"RudolphousBot", "SchlurcherBot"}) {
		t.Fatalf("matched %v", users)
	}
	// Resumed: nothing left to screen.
	if out, errOut, code := s.cli(t, "", "replay", events, "--as", "demowiki", "--no-fetch", "--state", state); code != 0 ||
		out != "" || !strings.Contains(errOut, "screened 0 actions") {
		t.Fatalf("resumed replay: %d %q %s", code, out, errOut)
	}
	// A line that is not an event is named.
	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	os.WriteFile(bad, []byte("{\"type\":\"edit\"}\nnot json\n"), 0o600)
	if _, errOut, code := s.cli(t, "", "replay", bad, "--no-fetch"); code == 0 || !strings.Contains(errOut, "bad.jsonl:") {
		t.Fatalf("bad line: %d %s", code, errOut)
	}
}

// TestFollowEventStreams follows a recorded Wikimedia EventStreams capture
// served over SSE: the wiki filter keeps commonswiki's changes, the edits
// are screened in observe mode, and the client reconnects with the last
// event's id (kept in --state too).
func TestFollowEventStreams(t *testing.T) {
	s := startServe(t, nil)
	if _, err := s.client.CreateFilter(context.Background(), &httpapi.FilterInput{Wiki: "demowiki", Name: "Every edit",
		Pattern: `action == "edit"`, Enabled: true, Actions: map[string][]string{"warn": {}}}); err != nil {
		t.Fatal(err)
	}
	capture, err := os.ReadFile("../../../shared/testdata/eventstreams/samples/recentchange/sse-capture-2025-08-29.txt")
	if err != nil {
		t.Fatal(err)
	}
	ids := regexp.MustCompile(`(?m)^id: (.*)$`).FindAllStringSubmatch(string(capture), -1)
	lastID := ids[len(ids)-1][1]
	resumed := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		if id := r.Header.Get("Last-Event-ID"); id != "" {
			select {
			case resumed <- id:
			default:
			}
			w.Write([]byte(":ok\n\n"))
			w.(http.Flusher).Flush()
			<-r.Context().Done()
			return
		}
		w.Write(capture) // then the connection ends, as a cut stream would
	}))
	defer srv.Close()

	state := filepath.Join(t.TempDir(), "state.json")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var out, errOut bytes.Buffer
	go func() {
		done <- Main(ctx, Env{Args: []string{"follow", "--source", "eventstreams", "--url", srv.URL, "--wikis", "commonswiki",
			"--as", "demowiki", "--no-fetch", "--state", state, "--server", s.url, "--token", s.token},
			Getenv: func(string) string { return "" }, Environ: func() []string { return nil },
			Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut})
	}()
	select {
	case id := <-resumed:
		if id != lastID {
			t.Errorf("reconnected with Last-Event-ID %s, want %s", id, lastID)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("no reconnection\n%s", errOut.String())
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("vigil follow exited %d\n%s", code, errOut.String())
	}
	if !strings.Contains(errOut.String(), "screened 3 actions") {
		t.Fatalf("output: %s\n%s", out.String(), errOut.String())
	}
	page, err := s.client.QueryLog(context.Background(), url.Values{"wiki": {"demowiki"}})
	if err != nil || len(page.Entries) != 3 {
		t.Fatalf("log: %v %v", page, err)
	}
	var users []string
	for _, e := range page.Entries {
		users = append(users, e.Performer)
		if !e.LogOnly || !slices.Equal(e.ActionsTaken, []string{"warn"}) {
			t.Errorf("entry %+v", e)
		}
	}
	slices.Sort(users)
	if !slices.Equal(users, []string{"GeographBot", "Mjroots", "S. DÉNIEL"}) {
		t.Fatalf("screened %v", users)
	}
	if st, _ := os.ReadFile(state); !strings.Contains(string(st), `"source":"eventstreams"`) {
		t.Fatalf("state: %s", st)
	}
}

// TestServeProcs: vigil serve runs one more P than it was given (a request
// waiting in the log's disk sync holds one), unless GOMAXPROCS is set, and
// gives the process its own setting back when it stops.
func TestServeProcs(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	for _, tt := range []struct {
		environ []string
		want    int
	}{
		{nil, before + 1},
		{[]string{"GOMAXPROCS=" + strconv.Itoa(before)}, before},
	} {
		s := startServe(t, tt.environ)
		resp, err := http.Get(s.url + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := fmt.Sprintf("\ngo_sched_gomaxprocs_threads %d\n", tt.want)
		if !strings.Contains(string(body), want) {
			t.Errorf("environment %q: /metrics lacks %q", tt.environ, strings.TrimSpace(want))
		}
		s.stop()
		if got := runtime.GOMAXPROCS(0); got != before {
			t.Fatalf("GOMAXPROCS %d after serve stopped, want %d", got, before)
		}
	}
}

// TestServeTestTimeLimit: a filter test that reaches the server's time
// limit answers with what it tested, and the command line says so.
func TestServeTestTimeLimit(t *testing.T) {
	s := startServe(t, []string{"VIGIL_SCREEN__TEST_TIME_LIMIT=1ns", "VIGIL_SCREEN__WARM_ACTIONS=0"})
	body := `{"wiki": "demowiki", "action": "edit", "performer": {"name": "203.0.113.7", "type": "ip"}, "ip": "203.0.113.7",
    "page": {"namespace": 0, "title": "Sandbox"}, "old_wikitext": "Hello.", "new_wikitext": "Hello, world.", "summary": "update"}`
	req, _ := http.NewRequest("POST", s.url+"/v1/screen", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// The action reaches the window within a second; until then the
	// window is empty and there is nothing to stop.
	const want = "the test reached the server's time limit (screen.test_time_limit): only the newest 0 actions were tested"
	var out string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		out, _, _ = s.cli(t, "true", "filters", "test", "--wiki", "demowiki", "--rule", "-")
		if strings.Contains(out, want) {
			break
		}
	}
	if !strings.HasPrefix(out, "0 actions checked") || !strings.Contains(out, want) {
		t.Fatalf("filters test: %s", out)
	}
}

// TestServeMaxConnections: with max_connections open, the server takes no
// further connection until one closes.
func TestServeMaxConnections(t *testing.T) {
	s := startServe(t, []string{"VIGIL_MAX_CONNECTIONS=2"})
	http.DefaultClient.CloseIdleConnections() // waitHealthy's, which holds a slot
	addr := strings.TrimPrefix(s.url, "http://")
	// healthy sends a request on c and reads the answer: c is accepted.
	healthy := func(c net.Conn, wait time.Duration) error {
		c.SetDeadline(time.Now().Add(wait))
		if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: vigil\r\n\r\n"); err != nil {
			return err
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
	var held []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		held = append(held, c)
	}
	for _, c := range held[:2] {
		if err := healthy(c, 10*time.Second); err != nil {
			t.Fatalf("one of the first two connections: %v", err)
		}
	}
	if err := healthy(held[2], 300*time.Millisecond); err == nil {
		t.Fatal("a third connection was served while two were open")
	}
	held[0].Close()
	// The waiting connection is taken now: its request (and this one) is
	// answered.
	if err := healthy(held[2], 10*time.Second); err != nil {
		t.Fatalf("the waiting connection was not served after one closed: %v", err)
	}
}
