// Package mwtest runs a real MediaWiki for end-to-end tests: Debian's
// mediawiki package (1.39, with AbuseFilter) on SQLite, served by PHP's
// built-in server on 127.0.0.1, in a test's temporary directory. See
// ../shared/docs/mediawiki-local.md. Outside CI a machine without php or
// MediaWiki skips the test with a message; in CI (CI=true) that fails it.
package mwtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// MediaWikiDir is where Debian installs MediaWiki's code.
const MediaWikiDir = "/usr/share/mediawiki"

// AdminPassword is the password of the wiki's "Admin" account.
const AdminPassword = "Adm1nPassw0rd!2024"

// Options shape the wiki.
type Options struct {
	// Extensions are loaded by install.php (e.g. AbuseFilter).
	Extensions []string
	// Settings is PHP appended to LocalSettings.php; the placeholder
	// {{DIR}} is replaced by the wiki's directory.
	Settings string
	// Workers is PHP_CLI_SERVER_WORKERS (default 4).
	Workers int
}

// Wiki is a running MediaWiki.
type Wiki struct {
	Dir  string // LocalSettings.php, the SQLite database, uploads
	URL  string // http://127.0.0.1:PORT
	API  string // URL + "/api.php"
	cmd  *exec.Cmd
	errs *os.File
}

// Require skips the test (or fails it in CI) when php or MediaWiki is
// missing.
func Require(t testing.TB) {
	t.Helper()
	var missing string
	if _, err := exec.LookPath("php"); err != nil {
		missing = "php"
	} else if _, err := os.Stat(filepath.Join(MediaWikiDir, "maintenance", "install.php")); err != nil {
		missing = "Debian's mediawiki package"
	}
	if missing == "" {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not installed (CI must have it: the README's test command installs it)", missing)
	}
	t.Skipf("%s is not installed: run the README's test command (./scripts/test) to install it", missing)
}

// Start installs a fresh wiki in a temporary directory and serves it until
// the test ends.
func Start(t testing.TB, opts Options) *Wiki {
	t.Helper()
	Require(t)
	dir := t.TempDir()
	port := FreePort(t)
	w := &Wiki{Dir: dir, URL: fmt.Sprintf("http://127.0.0.1:%d", port)}
	w.API = w.URL + "/api.php"
	for _, sub := range []string{"data", "images", "cache"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	settings := filepath.Join(dir, "LocalSettings.php")
	args := []string{"maintenance/install.php", "--confpath=" + dir, "--dbtype=sqlite", "--dbpath=" + filepath.Join(dir, "data"),
		"--dbname=my_wiki", "--server=" + w.URL, "--scriptpath=", "--lang=en", "--pass=" + AdminPassword}
	if len(opts.Extensions) > 0 {
		args = append(args, "--extensions="+strings.Join(opts.Extensions, ","))
	}
	args = append(args, "TestWiki", "Admin")
	install := exec.Command("php", args...)
	install.Dir = MediaWikiDir
	install.Env = append(os.Environ(), "MW_CONFIG_FILE="+settings)
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("install MediaWiki: %v\n%s", err, out)
	}
	extra := fmt.Sprintf(`
$wgUploadDirectory = %q; $wgCacheDirectory = %q; $wgUseImageMagick = false;
$wgShowExceptionDetails = true;
$wgBlacklistSettings = [ 'spam' => [ 'files' => [] ] ];
$wgRateLimits = [];
$wgPasswordAttemptThrottle = false;
`, filepath.Join(dir, "images"), filepath.Join(dir, "cache")) + strings.ReplaceAll(opts.Settings, "{{DIR}}", dir) + "\n"
	f, err := os.OpenFile(settings, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(extra); err != nil {
		t.Fatal(err)
	}
	f.Close()

	workers := opts.Workers
	if workers == 0 {
		workers = 4
	}
	w.errs, err = os.Create(filepath.Join(dir, "php-server.log"))
	if err != nil {
		t.Fatal(err)
	}
	w.cmd = exec.Command("php", "-S", fmt.Sprintf("127.0.0.1:%d", port), "-t", MediaWikiDir)
	w.cmd.Env = append(os.Environ(), "MW_CONFIG_FILE="+settings, fmt.Sprintf("PHP_CLI_SERVER_WORKERS=%d", workers))
	w.cmd.Stdout, w.cmd.Stderr = w.errs, w.errs
	// A process group of its own: stopping it ends the workers too.
	w.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(w.API + "?action=query&meta=siteinfo&format=json")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("MediaWiki did not answer at %s: %v\n%s", w.API, err, w.ServerLog())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return w
}

// Stop ends the PHP server and its workers (the group it started).
func (w *Wiki) Stop() {
	if w.cmd == nil || w.cmd.Process == nil {
		return
	}
	syscall.Kill(-w.cmd.Process.Pid, syscall.SIGKILL)
	w.cmd.Wait()
	w.cmd = nil
	w.errs.Close()
}

// ServerLog is what PHP's server printed (requests, PHP warnings).
func (w *Wiki) ServerLog() string {
	b, _ := os.ReadFile(filepath.Join(w.Dir, "php-server.log"))
	return string(b)
}

// PHP runs a maintenance script of the wiki (e.g. "createAndPromote.php").
func (w *Wiki) PHP(t testing.TB, script string, args ...string) string {
	t.Helper()
	cmd := exec.Command("php", append([]string{"maintenance/" + script}, args...)...)
	cmd.Dir = MediaWikiDir
	cmd.Env = append(os.Environ(), "MW_CONFIG_FILE="+filepath.Join(w.Dir, "LocalSettings.php"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", script, args, err, out)
	}
	return string(out)
}

// FreePort returns a TCP port free on 127.0.0.1 right now.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Session is a browser-like client of the wiki: it keeps cookies.
type Session struct {
	w    *Wiki
	http *http.Client
	csrf string
}

// Anonymous returns a logged-out session (its CSRF token is "+\").
func (w *Wiki) Anonymous() *Session {
	jar, _ := cookiejar.New(nil)
	return &Session{w: w, http: &http.Client{Jar: jar, Timeout: 60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}, csrf: `+\`}
}

// Login logs a user in with clientlogin and returns the session.
func (w *Wiki) Login(t testing.TB, user, password string) *Session {
	t.Helper()
	s := w.Anonymous()
	tok := s.Token(t, "login")
	r := s.Post(t, url.Values{"action": {"clientlogin"}, "username": {user}, "password": {password},
		"loginreturnurl": {w.URL + "/"}, "logintoken": {tok}})
	if status := Get(r, "clientlogin", "status"); status != "PASS" {
		t.Fatalf("login as %s: %v", user, r)
	}
	s.csrf = s.Token(t, "csrf")
	return s
}

// Token fetches a token of the given type (csrf, login, createaccount).
func (s *Session) Token(t testing.TB, kind string) string {
	t.Helper()
	r := s.Get(t, url.Values{"action": {"query"}, "meta": {"tokens"}, "type": {kind}})
	tok, _ := Get(r, "query", "tokens", kind+"token").(string)
	if tok == "" {
		t.Fatalf("no %s token: %v", kind, r)
	}
	return tok
}

// Get calls the API with GET and decodes the answer.
func (s *Session) Get(t testing.TB, params url.Values) map[string]any {
	t.Helper()
	params = withFormat(params)
	resp, err := s.http.Get(s.w.API + "?" + params.Encode())
	return decode(t, resp, err)
}

// Post calls the API with POST (with the session's CSRF token unless
// params has a token) and decodes the answer.
func (s *Session) Post(t testing.TB, params url.Values) map[string]any {
	t.Helper()
	params = withFormat(params)
	if params.Get("token") == "" && params.Get("logintoken") == "" && params.Get("createtoken") == "" {
		params.Set("token", s.csrf)
	}
	resp, err := s.http.PostForm(s.w.API, params)
	return decode(t, resp, err)
}

// Edit saves text on a page through the API.
func (s *Session) Edit(t testing.TB, title, text, summary string) map[string]any {
	t.Helper()
	return s.Post(t, url.Values{"action": {"edit"}, "title": {title}, "text": {text}, "summary": {summary}})
}

// PostForm posts a form to index.php and returns the status and the page.
func (s *Session) PostForm(t testing.TB, path string, form url.Values) (int, string) {
	t.Helper()
	resp, err := s.http.PostForm(s.w.URL+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Page fetches a page of index.php.
func (s *Session) Page(t testing.TB, path string) string {
	t.Helper()
	resp, err := s.http.Get(s.w.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func withFormat(p url.Values) url.Values {
	q := url.Values{}
	for k, v := range p {
		q[k] = v
	}
	q.Set("format", "json")
	q.Set("formatversion", "2")
	if q.Get("errorformat") == "" {
		q.Set("errorformat", "plaintext")
	}
	return q
}

func decode(t testing.TB, resp *http.Response, err error) map[string]any {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("the API answered %d, not JSON: %v\n%.2000s", resp.StatusCode, err, b)
	}
	return out
}

// Get digs into decoded JSON: Get(r, "edit", "result"); an int indexes an
// array. Missing keys give nil.
func Get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k < 0 || k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

// ErrorCode is the code of an API error answer ("" when none).
func ErrorCode(r map[string]any) string {
	if c, ok := Get(r, "errors", 0, "code").(string); ok {
		return c
	}
	c, _ := Get(r, "error", "code").(string)
	return c
}
