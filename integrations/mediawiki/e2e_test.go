// Package mediawiki_test runs the Vigil extension in a real MediaWiki
// (Debian's 1.39, SQLite, PHP's built-in server) against a real `vigil
// serve`, and follows the same wiki from outside with `vigil follow`.
package mediawiki_test

import (
	"bufio"
	"context"
	"fmt"
	"html"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/vigilwiki/vigil"
	"github.com/vigilwiki/vigil/httpapi"
	"github.com/vigilwiki/vigil/internal/mwtest"
)

// vigilBin is the vigil binary built for these tests.
var vigilBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "vigil-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	vigilBin = filepath.Join(dir, "vigil")
	build := exec.Command("go", "build", "-o", vigilBin, "github.com/vigilwiki/vigil/cmd/vigil")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build vigil:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// vigilServer is a `vigil serve` process.
type vigilServer struct {
	t      testing.TB
	data   string
	config string
	addr   string
	cmd    *exec.Cmd
	admin  *httpapi.Client
}

func startVigil(t testing.TB) *vigilServer {
	t.Helper()
	v := &vigilServer{t: t, data: t.TempDir(), addr: fmt.Sprintf("127.0.0.1:%d", mwtest.FreePort(t))}
	v.config = filepath.Join(v.data, "vigil.yaml")
	os.WriteFile(v.config, []byte("wikis:\n  demowiki:\n    sitename: TestWiki\n"), 0o600)
	v.start()
	t.Cleanup(v.stop)
	tok, err := os.ReadFile(filepath.Join(v.data, "admin-token"))
	if err != nil {
		t.Fatal(err)
	}
	v.admin = &httpapi.Client{BaseURL: "http://" + v.addr, Token: strings.TrimSpace(string(tok))}
	return v
}

func (v *vigilServer) start() {
	v.t.Helper()
	v.cmd = exec.Command(vigilBin, "serve", "--config", v.config, "--data", v.data, "--listen", v.addr, "--log-level", "warn")
	stdout, _ := v.cmd.StdoutPipe()
	v.cmd.Stderr = os.Stderr
	if err := v.cmd.Start(); err != nil {
		v.t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "vigil: listening on") {
		v.t.Fatalf("vigil serve did not start: %q %v", line, err)
	}
}

// stop ends the server gracefully (SIGTERM) and waits for it.
func (v *vigilServer) stop() {
	if v.cmd == nil {
		return
	}
	v.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { v.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		v.cmd.Process.Kill()
		v.t.Error("vigil serve did not stop within 30 s")
	}
	v.cmd = nil
}

// vigil runs a vigil command (not serve) and returns its output.
func (v *vigilServer) vigil(args ...string) string {
	v.t.Helper()
	cmd := exec.Command(vigilBin, args...)
	cmd.Env = append(os.Environ(), "VIGIL_URL=http://"+v.addr, "VIGIL_TOKEN="+v.admin.Token)
	out, err := cmd.CombinedOutput()
	if err != nil {
		v.t.Fatalf("vigil %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func (v *vigilServer) filter(name, pattern string, actions map[string][]string, logOnly bool) {
	v.t.Helper()
	if _, err := v.admin.CreateFilter(context.Background(), &httpapi.FilterInput{Wiki: "demowiki", Name: name, Pattern: pattern,
		Enabled: true, LogOnly: logOnly, Actions: actions}); err != nil {
		v.t.Fatalf("filter %s: %v", name, err)
	}
}

// log returns the abuse log entries of a page, newest first.
func (v *vigilServer) log(page string) []*vigil.LogEntry {
	v.t.Helper()
	p, err := v.admin.QueryLog(context.Background(), url.Values{"wiki": {"demowiki"}, "page": {page}})
	if err != nil {
		v.t.Fatal(err)
	}
	return p.Entries
}

// extensionSettings loads the extension; the fail mode is read from a file
// at each request, so that the test can switch it without a restart.
func extensionSettings(v *vigilServer, token string, rcfeedPort int) string {
	ext, _ := filepath.Abs("Vigil/extension.json")
	return fmt.Sprintf(`
wfLoadExtension( 'Vigil', %q );
$wgVigilUrl = 'http://%s';
$wgVigilToken = %q;
$wgVigilWikiId = 'demowiki';
$wgVigilTimeout = 2.0;
$wgVigilFailMode = trim( (string)@file_get_contents( '{{DIR}}/failmode' ) ) ?: 'open';
$wgRCFeeds['vigil'] = [ 'formatter' => 'JSONRCFeedFormatter', 'uri' => 'udp://127.0.0.1:%d', 'omit_bots' => false ];
$wgDebugLogGroups['Vigil'] = '{{DIR}}/vigil-extension.log';
$wgJobRunRate = 0; // jobs run when the test runs them
`, ext, v.addr, token, rcfeedPort)
}

func wantError(t *testing.T, what string, r map[string]any, code, text string) {
	t.Helper()
	if got := mwtest.ErrorCode(r); got != code {
		t.Fatalf("%s: error code %q, want %q: %v", what, got, code, r)
	}
	if text != "" && !strings.Contains(fmt.Sprint(r), text) {
		t.Fatalf("%s: the error does not say %q: %v", what, text, r)
	}
}

func wantSaved(t *testing.T, what string, r map[string]any) {
	t.Helper()
	if mwtest.Get(r, "edit", "result") != "Success" {
		t.Fatalf("%s: not saved: %v", what, r)
	}
}

// lastChangeTags returns the tags of the newest recent change of a page.
func lastChangeTags(t *testing.T, s *mwtest.Session, title string) []string {
	t.Helper()
	r := s.Get(t, url.Values{"action": {"query"}, "list": {"recentchanges"}, "rctitle": {title}, "rcprop": {"tags|title"},
		"rclimit": {"1"}})
	var tags []string
	for _, x := range mwtest.Get(r, "query", "recentchanges", 0, "tags").([]any) {
		tags = append(tags, x.(string))
	}
	return tags
}

// TestMediaWikiExtension: the extension asks Vigil inside the save of
// edits, moves and account creations, and enforces the verdict.
func TestMediaWikiExtension(t *testing.T) {
	mwtest.Require(t)
	v := startVigil(t)
	token := strings.TrimSpace(v.vigil("token", "create", "--data", v.data, "--config", v.config, "--name", "mediawiki",
		"--scopes", "screen,manage-blocks"))
	// The sample filters (1 casino spam: disallow and tag; 2 shouting:
	// warn and tag; ...) and these:
	v.filter("Block test", `added_lines irlike "blockme-please"`, map[string][]string{"block": {"noTalkBlockSet", "1 day", "1 day"}}, false)
	v.filter("No moves to Forbidden", `action == "move" & moved_to_title rlike "Forbidden"`, map[string][]string{"disallow": {}}, false)
	v.filter("Spammer account names", `action == "createaccount" & account_name irlike "spammer"`,
		map[string][]string{"disallow": {}}, false)
	v.filter("Tag test", `added_lines irlike "tagme"`, map[string][]string{"tag": {"vigil-test-tag"}}, false)
	v.filter("Follow test", `added_lines contains "followme"`, map[string][]string{"disallow": {}}, true)

	rcfeed := mwtest.FreePort(t)
	w := mwtest.Start(t, mwtest.Options{Settings: extensionSettings(v, token, rcfeed)})

	// vigil follow on the wiki's RC feed, in the background.
	follow := exec.Command(vigilBin, "follow", "--source", "rcfeed", "--listen", fmt.Sprintf("127.0.0.1:%d", rcfeed),
		"--as", "demowiki", "--log-level", "warn", "--api", w.API)
	follow.Env = append(os.Environ(), "VIGIL_URL=http://"+v.addr, "VIGIL_TOKEN="+v.admin.Token)
	var followOut strings.Builder
	follow.Stdout, follow.Stderr = &followOut, &followOut
	if err := follow.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if follow.Process != nil {
			follow.Process.Kill()
			follow.Wait()
		}
	}()
	time.Sleep(300 * time.Millisecond) // listening before the first change

	anon := w.Anonymous()
	t.Run("spam refused with the filter's message", func(t *testing.T) {
		r := anon.Edit(t, "Sandbox", "Visit our online casino today", "test")
		wantError(t, "spam edit", r, "abusefilter-disallowed", "Casino and pharmacy spam")
		if e := v.log("Sandbox"); len(e) != 1 || e[0].Action != "edit" || !slices.Contains(e[0].ActionsTaken, "disallow") {
			t.Fatalf("abuse log of Sandbox: %+v", e)
		}
	})
	t.Run("warn, then the resubmission is saved with the tag", func(t *testing.T) {
		text := "HELLOOOOOOOOOOOOOOOOOOOOOOOOOOOO everyone"
		wantError(t, "first submission", anon.Edit(t, "Shout", text, "test"), "abusefilter-warning", "Shouting")
		wantSaved(t, "resubmission", anon.Edit(t, "Shout", text, "test"))
		if tags := lastChangeTags(t, anon, "Shout"); !slices.Contains(tags, "shouting") {
			t.Fatalf("tags of the saved change: %v", tags)
		}
	})
	t.Run("a tag filter's tag is on the recent change", func(t *testing.T) {
		wantSaved(t, "tagged edit", anon.Edit(t, "Tagged", "please tagme", "test"))
		if tags := lastChangeTags(t, anon, "Tagged"); !slices.Equal(tags, []string{"vigil-test-tag"}) {
			t.Fatalf("tags: %v", tags)
		}
	})
	admin := w.Login(t, "Admin", mwtest.AdminPassword)
	t.Run("a clean edit by a logged-in user passes", func(t *testing.T) {
		wantSaved(t, "clean edit", admin.Edit(t, "AdminPage", "A clean, well-sourced sentence.", "test"))
	})
	t.Run("an edit of a long page: the old text goes as its differences, and counts", func(t *testing.T) {
		// The extension sends the old text as old_wikitext_delta here (a
		// small change to a long page; TestCompactOldText checks when).
		// Were it lost, the page's "tagme" would count as added.
		page := strings.Repeat("A sentence of a long article, with ü and 😀.\n", 300) + "please tagme\n"
		wantSaved(t, "first version", admin.Edit(t, "LongPage", page, "test"))
		if tags := lastChangeTags(t, admin, "LongPage"); !slices.Equal(tags, []string{"vigil-test-tag"}) {
			t.Fatalf("tags of the first version: %v", tags)
		}
		wantSaved(t, "a small change", admin.Edit(t, "LongPage", "An opening sentence.\n"+page, "test"))
		if tags := lastChangeTags(t, admin, "LongPage"); len(tags) != 0 {
			t.Fatalf("tags of the small change: %v; the old text was not the page's", tags)
		}
	})
	t.Run("web form: warned, then saved on resubmission; tags declared", func(t *testing.T) {
		submit := func(text string) (int, string) {
			page := admin.Page(t, "/index.php?title=WebShout&action=edit")
			field := func(name string) string {
				m := regexp.MustCompile(`value="([^"]*)" name="` + name + `"|name="` + name + `"[^>]*value="([^"]*)"`).
					FindStringSubmatch(page)
				if m == nil {
					t.Fatalf("no %s in the edit form", name)
				}
				return html.UnescapeString(m[1] + m[2])
			}
			start := field("wpStarttime")
			return admin.PostForm(t, "/index.php?title=WebShout&action=submit", url.Values{"wpTextbox1": {text},
				"wpEditToken": {field("wpEditToken")}, "wpStarttime": {start}, "wpEdittime": {start},
				"wpUnicodeCheck": {"ℳ𝒲♥𝓊𝓃𝒾𝒸ℴ𝒹ℯ"}, "wpUltimateParam": {"1"}, "wpSave": {"Save"}})
		}
		text := "WEBSHOUTINGGGGGGGGGGGGGGGGGGGGGGGGG"
		if status, page := submit(text); status != 200 || !strings.Contains(page, "possibly harmful") ||
			!strings.Contains(page, "Shouting") {
			t.Fatalf("first submission: HTTP %d, no warning naming the filter", status)
		}
		if status, _ := submit(text); status != 302 {
			t.Fatalf("resubmission: HTTP %d, want a redirect to the saved page", status)
		}
		r := anon.Get(t, url.Values{"action": {"query"}, "list": {"tags"}, "tgprop": {"defined"}, "tglimit": {"500"}})
		defined := map[string]bool{}
		for _, tag := range mwtest.Get(r, "query", "tags").([]any) {
			m := tag.(map[string]any)
			defined[m["name"].(string)] = m["defined"] == true
		}
		if !defined["shouting"] || !defined["vigil-test-tag"] {
			t.Fatalf("Vigil's tags are not declared: %v", defined)
		}
	})
	t.Run("moves are screened", func(t *testing.T) {
		r := admin.Post(t, url.Values{"action": {"move"}, "from": {"AdminPage"}, "to": {"ForbiddenPlace"}, "reason": {"test"}})
		wantError(t, "move to Forbidden", r, "abusefilter-disallowed", "")
		r = admin.Post(t, url.Values{"action": {"move"}, "from": {"AdminPage"}, "to": {"AllowedPlace"}, "reason": {"test"}})
		if mwtest.Get(r, "move", "to") != "AllowedPlace" {
			t.Fatalf("allowed move: %v", r)
		}
		if e := v.log("AdminPage"); len(e) != 1 || e[0].Action != "move" {
			t.Fatalf("abuse log of the move: %+v", e)
		}
	})
	t.Run("account creations are screened", func(t *testing.T) {
		create := func(name string) map[string]any {
			s := w.Anonymous()
			return s.Post(t, url.Values{"action": {"createaccount"}, "username": {name}, "password": {"Sup3rS3cret!pw"},
				"retype": {"Sup3rS3cret!pw"}, "createreturnurl": {w.URL + "/"}, "createtoken": {s.Token(t, "createaccount")}})
		}
		if r := create("Spammer123"); mwtest.Get(r, "createaccount", "status") != "FAIL" ||
			mwtest.Get(r, "createaccount", "messagecode") != "abusefilter-disallowed" {
			t.Fatalf("Spammer123: %v", r)
		}
		if r := create("Goodfaith Newcomer"); mwtest.Get(r, "createaccount", "status") != "PASS" {
			t.Fatalf("a good-faith account: %v", r)
		}
		p, err := v.admin.QueryLog(context.Background(), url.Values{"wiki": {"demowiki"}, "filter": {"7"}})
		if err != nil || len(p.Entries) != 1 || p.Entries[0].Action != "createaccount" ||
			!strings.Contains(string(p.Entries[0].Vars), `"account_name":"Spammer123"`) {
			t.Fatalf("the refused account creation in the abuse log: %+v %v", p, err)
		}
	})
	t.Run("log-only filter: the edit is saved and the match logged", func(t *testing.T) {
		wantSaved(t, "log-only match", anon.Edit(t, "FollowPage", "please followme", "test"))
	})
	t.Run("fail open, then fail closed, with Vigil stopped", func(t *testing.T) {
		v.stop()
		wantSaved(t, "fail open", anon.Edit(t, "FailOpen", "saved although Vigil is down", "test"))
		os.WriteFile(filepath.Join(w.Dir, "failmode"), []byte("closed"), 0o644)
		wantError(t, "fail closed", anon.Edit(t, "FailClosed", "refused because Vigil is down", "test"), "vigil-unavailable", "")
		os.Remove(filepath.Join(w.Dir, "failmode"))
		v.start()
	})
	t.Run("a block filter blocks; MediaWiki refuses the next edit itself", func(t *testing.T) {
		wantError(t, "blocking edit", anon.Edit(t, "BlockPage", "blockme-please", "test"), "abusefilter-disallowed", "blocked")
		r := anon.Edit(t, "Innocent", "an innocent edit", "test")
		wantError(t, "next edit", r, "blocked", "")
		if fmt.Sprint(mwtest.Get(r, "errors", 0, "data", "blockinfo", "blockedby")) != "Vigil" {
			t.Fatalf("the block is not Vigil's: %v", r)
		}
		// A named account at the same address is not stopped: AbuseFilter's
		// blocks of addresses are soft.
		wantSaved(t, "named user at the blocked address", admin.Edit(t, "AfterBlock", "still welcome", "test"))
		// An administrator lifts the block on the wiki: Vigil lifts its own.
		r = admin.Post(t, url.Values{"action": {"unblock"}, "user": {"127.0.0.1"}, "reason": {"false positive"}})
		if mwtest.Get(r, "unblock", "user") != "127.0.0.1" {
			t.Fatalf("unblock: %v", r)
		}
		wantSaved(t, "after the unblock", anon.Edit(t, "Innocent", "an innocent edit", "test"))
	})
	t.Run("an unblock made while Vigil is down reaches it later (job queue)", func(t *testing.T) {
		wantError(t, "blocking edit", anon.Edit(t, "BlockPage", "blockme-please again", "test"), "abusefilter-disallowed", "blocked")
		v.stop()
		r := admin.Post(t, url.Values{"action": {"unblock"}, "user": {"127.0.0.1"}, "reason": {"appeal granted"}})
		if mwtest.Get(r, "unblock", "user") != "127.0.0.1" {
			t.Fatalf("unblock: %v", r)
		}
		v.start()
		// Vigil still has its block until the queued job tells it.
		wantError(t, "before the job", anon.Edit(t, "Innocent", "an innocent edit again", "test"), "abusefilter-disallowed", "")
		w.PHP(t, "runJobs.php", "--type", "vigilUnblock")
		wantSaved(t, "after the job", anon.Edit(t, "Innocent", "an innocent edit, third", "test"))
	})

	// vigil follow saw the saved changes on the RC feed and screened them
	// in observe mode: the log-only filter's match is there twice (in the
	// save, and observed), and the tag filter's observed match is log-only.
	deadline := time.Now().Add(20 * time.Second)
	for {
		follows := v.log("FollowPage")
		tagged := v.log("Tagged")
		if len(follows) == 2 && len(tagged) == 2 {
			for _, e := range append(follows, tagged[0]) {
				if !e.LogOnly {
					t.Errorf("entry %d of %s is not log-only: %+v", e.ID, e.PageTitle, e)
				}
			}
			if tagged[0].LogOnly && !strings.Contains(string(tagged[0].Vars), `"added_lines":["please tagme"]`) {
				t.Errorf("the followed edit's variables were not fetched from the wiki: %s", tagged[0].Vars)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("vigil follow did not screen the changes: FollowPage %d entries, Tagged %d\n%s", len(follows), len(tagged),
				followOut.String())
		}
		time.Sleep(200 * time.Millisecond)
	}

	// vigil follow polling list=recentchanges sees the same changes: one
	// more observed match of the log-only filter; its position is kept.
	state := filepath.Join(t.TempDir(), "follow-state.json")
	poll := exec.Command(vigilBin, "follow", "--source", "api", "--api", w.API, "--as", "demowiki", "--state", state,
		"--since", "1h", "--log-level", "warn")
	poll.Env = follow.Env
	var pollOut strings.Builder
	poll.Stdout, poll.Stderr = &pollOut, &pollOut
	if err := poll.Start(); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(30 * time.Second)
	for len(v.log("FollowPage")) < 3 {
		if time.Now().After(deadline) {
			poll.Process.Kill()
			poll.Wait()
			t.Fatalf("vigil follow --source api did not screen FollowPage: %d entries\n%s", len(v.log("FollowPage")), pollOut.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	poll.Process.Signal(syscall.SIGTERM)
	if err := poll.Wait(); err != nil {
		t.Fatalf("vigil follow --source api: %v\n%s", err, pollOut.String())
	}
	if st, err := os.ReadFile(state); err != nil || !strings.Contains(string(st), `"source":"api"`) {
		t.Fatalf("follow state: %s %v", st, err)
	}
	if !strings.Contains(pollOut.String(), "screened ") {
		t.Errorf("no summary from vigil follow: %s", pollOut.String())
	}

	if strings.Contains(w.ServerLog(), "PHP Fatal") || strings.Contains(w.ServerLog(), "PHP Warning") {
		t.Errorf("PHP errors:\n%s", w.ServerLog())
	}
}

// afFilter creates a filter in the wiki's AbuseFilter through its form
// (MediaWiki 1.39 has no API to write filters). fields are the form's
// own (wpFilterActionTag=1, wpFilterTags=..., ...).
func afFilter(t testing.TB, admin *mwtest.Session, name, rules string, fields url.Values) {
	t.Helper()
	page := admin.Page(t, "/index.php?title=Special:AbuseFilter/new")
	m := regexp.MustCompile(`name=['"]wpEditToken['"][^>]*value=['"]([^'"]+)['"]|value=['"]([^'"]+)['"][^>]*name=['"]wpEditToken['"]`).
		FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no edit token on Special:AbuseFilter/new")
	}
	form := url.Values{"wpEditToken": {html.UnescapeString(m[1] + m[2])}, "wpFilterDescription": {name}, "wpFilterRules": {rules},
		"wpFilterEnabled": {"1"}}
	for k, v := range fields {
		form[k] = v
	}
	status, body := admin.PostForm(t, "/index.php?title=Special:AbuseFilter/new", form)
	if status != 302 {
		t.Fatalf("create AbuseFilter filter %q: HTTP %d\n%.3000s", name, status, body)
	}
}

// TestImportFromWiki migrates a real wiki's filters, with their actions'
// parameters, through its API and filter pages; a bot password shows the
// hidden ones.
func TestImportFromWiki(t *testing.T) {
	mwtest.Require(t)
	v := startVigil(t)
	w := mwtest.Start(t, mwtest.Options{Extensions: []string{"AbuseFilter"}})
	admin := w.Login(t, "Admin", mwtest.AdminPassword)
	afFilter(t, admin, "Casino links", `added_lines irlike "casino"`, url.Values{"wpFilterActionDisallow": {"1"},
		"wpFilterActionTag": {"1"}, "wpFilterTags": {"af-spam"},
		"wpFilterActionThrottle": {"1"}, "wpFilterThrottleCount": {"3"}, "wpFilterThrottlePeriod": {"60"},
		"wpFilterThrottleGroups": {"ip"}})
	afFilter(t, admin, "Long-term abuser", `user_name == "Secret LTA"`, url.Values{"wpFilterHidden": {"1"},
		"wpFilterActionDisallow": {"1"}})
	w.PHP(t, "createAndPromote.php", "--sysop", "--bot", "Migrator", "Migr4tor!Passw0rd")
	w.PHP(t, "createBotPassword.php", "--appid", "vigil", "--grants", "basic,viewrestrictedlogs", "Migrator", "botpasswordforvigil0123456789abcd")
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte("botpasswordforvigil0123456789abcd\n"), 0o600)

	// Anonymous: the hidden filter is reported, not imported.
	out := v.vigil("filters", "import", "--from-wiki", w.API, "--wiki", "demowiki", "--log-only")
	if !strings.Contains(out, "imported 1 filters of my_wiki as demowiki, skipped 1") || !strings.Contains(out, "hidden") {
		t.Fatalf("anonymous import:\n%s", out)
	}
	out = v.vigil("filters", "import", "--from-wiki", w.API, "--wiki", "otherwiki", "--bot-user", "Migrator@vigil",
		"--bot-password-file", pw)
	if !strings.Contains(out, "imported 2 filters of my_wiki as otherwiki, skipped 0") {
		t.Fatalf("import with a bot password:\n%s", out)
	}
	filters, err := v.admin.ListFilters(context.Background(), "otherwiki", false)
	if err != nil || len(filters) != 2 {
		t.Fatalf("imported filters: %v %v", filters, err)
	}
	casino, lta := filters[0], filters[1]
	if casino.Name != "Casino links" || !slices.Equal(casino.Actions["tag"], []string{"af-spam"}) ||
		len(casino.Actions["throttle"]) != 3 || casino.Actions["throttle"][1] != "3,60" || casino.Actions["disallow"] == nil ||
		casino.Privacy != vigil.Public || !casino.Enabled {
		t.Fatalf("the casino filter: %+v", casino)
	}
	if lta.Pattern != `user_name == "Secret LTA"` || lta.Privacy == vigil.Public {
		t.Fatalf("the hidden filter: %+v", lta)
	}
}

// TestExtensionMisbehavingVigil: a Vigil that answers garbage, too slowly,
// with a 500, a cut-off verdict or the wrong shape never breaks a save
// beyond the fail mode: open saves, closed refuses with vigil-unavailable,
// and no PHP error reaches the wiki's log.
func TestExtensionMisbehavingVigil(t *testing.T) {
	mwtest.Require(t)
	answers := map[string]func(w http.ResponseWriter){
		"garbage":   func(w http.ResponseWriter) { w.Write([]byte("<html>not a verdict</html>")) },
		"500":       func(w http.ResponseWriter) { w.WriteHeader(500); w.Write([]byte(`{"error":{"code":"internal"}}`)) },
		"slow":      func(w http.ResponseWriter) { time.Sleep(3 * time.Second); w.Write([]byte(`{"allowed":true}`)) },
		"truncated": func(w http.ResponseWriter) { w.Write([]byte(`{"allowed":false,"messages":[{"key":"abuse`)) },
		"wrongtype": func(w http.ResponseWriter) { w.Write([]byte(`{"allowed":"no","messages":{}}`)) },
	}
	var mode atomic.Value
	mode.Store("garbage")
	var mu sync.Mutex
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		answer := answers[mode.Load().(string)]
		mu.Unlock()
		answer(w)
	}))
	defer fake.Close()
	ext, _ := filepath.Abs("Vigil/extension.json")
	w := mwtest.Start(t, mwtest.Options{Settings: fmt.Sprintf(`
wfLoadExtension( 'Vigil', %q );
$wgVigilUrl = %q;
$wgVigilToken = 'x';
$wgVigilWikiId = 'demowiki';
$wgVigilTimeout = 1.0;
$wgVigilFailMode = trim( (string)@file_get_contents( '{{DIR}}/failmode' ) ) ?: 'open';
`, ext, fake.URL)})
	anon := w.Anonymous()
	names := slices.Collect(maps.Keys(answers))
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			mode.Store(name)
			os.Remove(filepath.Join(w.Dir, "failmode"))
			wantSaved(t, "fail open", anon.Edit(t, "Open "+name, "text "+name, "test"))
			os.WriteFile(filepath.Join(w.Dir, "failmode"), []byte("closed"), 0o644)
			wantError(t, "fail closed", anon.Edit(t, "Closed "+name, "text "+name, "test"), "vigil-unavailable", "")
		})
	}
	// A verdict that asks to block someone else than the performer, or a
	// range that does not hold the request, blocks nobody.
	mu.Lock()
	mode.Store("foreign-block")
	answers["foreign-block"] = func(w http.ResponseWriter) {
		w.Write([]byte(`{"allowed":false,"messages":[{"key":"abusefilter-blocked-display","params":["x","1"],` +
			`"consequence":"block","code":"abusefilter-disallowed"}],"tags":[],"matches":[],"throttled":[],` +
			`"block":{"target":"Admin","indefinite":true,"reason":"forged"},` +
			`"range_blocks":[{"target":"10.0.0.0/8","reason":"forged"},{"target":"127.0.0.0/8","reason":"too wide"}]}`))
	}
	mu.Unlock()
	wantError(t, "forged block", anon.Edit(t, "Forged", "text", "test"), "abusefilter-disallowed", "")
	r := anon.Get(t, url.Values{"action": {"query"}, "list": {"blocks"}})
	if blocks := mwtest.Get(r, "query", "blocks").([]any); len(blocks) != 0 {
		t.Fatalf("a forged verdict placed blocks: %v", blocks)
	}
	if log := w.ServerLog(); strings.Contains(log, "PHP Fatal") || strings.Contains(log, "PHP Warning") ||
		strings.Contains(log, "Exception") {
		t.Errorf("PHP errors:\n%s", log)
	}
}
