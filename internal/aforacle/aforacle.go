// Package aforacle runs the real AbuseFilter (the one Debian's mediawiki
// package ships) as an oracle for differential tests: expected results come
// from the reference implementation, never from the code under test.
//
// It needs php and Debian's mediawiki package (the README's test command
// installs them). Outside CI a test without them is skipped with a
// message; in CI (CI=true) that is a failure.
package aforacle

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
)

// Oracle is a running oracle process.
type Oracle struct {
	mu  sync.Mutex
	in  io.WriteCloser
	out *bufio.Reader
}

var (
	once    sync.Once
	shared  *Oracle
	initErr error
)

const mediawikiDir = "/usr/share/mediawiki"

// Get returns the process-wide oracle, starting it on first use.
func Get(t testing.TB) *Oracle {
	t.Helper()
	once.Do(func() { shared, initErr = start() })
	if initErr != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("AbuseFilter oracle unavailable in CI: %v", initErr)
		}
		t.Skipf("AbuseFilter oracle unavailable (run the README's test command to install it): %v", initErr)
	}
	return shared
}

// wikiDir is a scratch wiki for the oracle, created once and reused
// across runs; a lock file keeps concurrent test processes apart.
func wikiDir() (string, error) {
	dir := filepath.Join(os.TempDir(), "vigil-aforacle-wiki")
	settings := filepath.Join(dir, "LocalSettings.php")
	lock, err := os.OpenFile(dir+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", err
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if _, err := os.Stat(settings); err == nil {
		return dir, nil
	}
	os.RemoveAll(dir)
	for _, sub := range []string{"data", "images", "cache"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return "", err
		}
	}
	cmd := exec.Command("php", "maintenance/install.php", "--confpath="+dir, "--dbtype=sqlite",
		"--dbpath="+filepath.Join(dir, "data"), "--dbname=oracle_wiki", "--server=http://127.0.0.1:1",
		"--scriptpath=", "--lang=en", "--extensions=AbuseFilter", "--pass=Adm1nPassw0rd!2024", "OracleWiki", "Admin")
	cmd.Dir = mediawikiDir
	cmd.Env = append(os.Environ(), "MW_CONFIG_FILE="+settings)
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("install scratch wiki: %v\n%s", err, out)
	}
	extra := fmt.Sprintf("\n$wgUploadDirectory = %q; $wgCacheDirectory = %q; $wgShowExceptionDetails = true;\n",
		filepath.Join(dir, "images"), filepath.Join(dir, "cache"))
	f, err := os.OpenFile(settings, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := f.WriteString(extra); err != nil {
		return "", err
	}
	return dir, nil
}

func start() (*Oracle, error) {
	if _, err := exec.LookPath("php"); err != nil {
		return nil, fmt.Errorf("php is not installed")
	}
	if _, err := os.Stat(filepath.Join(mediawikiDir, "maintenance/runScript.php")); err != nil {
		return nil, fmt.Errorf("Debian's mediawiki package is not installed")
	}
	dir, err := wikiDir()
	if err != nil {
		return nil, err
	}
	_, self, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(self), "..", "..", "tools", "aforacle", "oracle.php")
	cmd := exec.Command("php", "maintenance/runScript.php", script)
	cmd.Dir = mediawikiDir
	equivset := filepath.Join(filepath.Dir(self), "..", "..", "rules", "equivset", "equivset.json")
	cmd.Env = append(os.Environ(), "MW_CONFIG_FILE="+filepath.Join(dir, "LocalSettings.php"),
		"AFORACLE_EQUIVSET="+equivset)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	o := &Oracle{in: in, out: bufio.NewReaderSize(out, 1<<20)}
	var probe struct{ Diff string }
	if err := o.Do(map[string]string{"op": "diff", "old": "a", "new": "b"}, &probe); err != nil {
		return nil, fmt.Errorf("oracle does not answer: %v", err)
	}
	return o, nil
}

// Do sends one request and decodes the answer into resp.
func (o *Oracle) Do(req, resp any) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	b, err := json.Marshal(req)
	if err != nil {
		return err
	}
	if _, err := o.in.Write(append(b, '\n')); err != nil {
		return err
	}
	for {
		line, err := o.out.ReadBytes('\n')
		if err != nil {
			return err
		}
		if len(line) > 0 && line[0] == '{' {
			return json.Unmarshal(line, resp)
		}
		// MediaWiki may print notices before the answer; skip them.
	}
}

// PHP returns the path of the php binary for tests that compare with PHP
// itself; like Get, it skips the test outside CI when php is missing and
// fails it in CI.
func PHP(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("php")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("php unavailable in CI: %v", err)
		}
		t.Skipf("php unavailable (run the README's test command to install it): %v", err)
	}
	return path
}
