package cli

import (
	"bufio"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServeTimerSlack: vigil serve, as a process of its own, runs with its
// timer_slack (it starts itself again to get it on every thread, under
// the same process ID), and with 0 keeps the slack it was started
// with.
func TestServeTimerSlack(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	own := readSlack(t, "/proc/self/timerslack_ns")
	for _, tt := range []struct {
		setting string
		want    int
	}{
		{"300us", 300_000},
		{"0", own},
	} {
		t.Run(tt.setting, func(t *testing.T) {
			cmd := exec.Command(exe, "serve", "--data", filepath.Join(t.TempDir(), "data"), "--listen", "127.0.0.1:0")
			cmd.Env = append(os.Environ(), "VIGIL_TEST_AS_VIGIL=1", "VIGIL_TIMER_SLACK="+tt.setting, "VIGIL_SCREEN__WARM_ACTIONS=0")
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() {
				cmd.Process.Signal(syscall.SIGTERM)
				cmd.Wait()
			}()
			line, err := bufio.NewReader(out).ReadString('\n')
			if err != nil {
				t.Fatalf("vigil serve did not start: %v\n%s", err, stderr.String())
			}
			resp, err := http.Get(listenedURL(line) + "/healthz")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("/healthz: %s", resp.Status)
			}
			// The process that answers is the one started (execve keeps
			// the ID), and its first thread has the slack, which the others
			// take from the thread that starts them (the kernel shows no
			// other thread's).
			if got := readSlack(t, "/proc/"+strconv.Itoa(cmd.Process.Pid)+"/timerslack_ns"); got != tt.want {
				t.Errorf("timer slack %d ns, want %d", got, tt.want)
			}
		})
	}
}

func readSlack(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestServeTimerSlackNotTaken: when the restart that would give every
// thread the slack fails, vigil serve says so and serves all the same.
func TestServeTimerSlackNotTaken(t *testing.T) {
	// A slack no thread of this process has yet (an earlier run of this
	// test left its own on the thread it ran on).
	slack := fmt.Sprintf("%dns", 300_000+time.Now().UnixNano()%100_000)
	restarts := 0
	s := startServeWith(t, []string{"VIGIL_TIMER_SLACK=" + slack}, func() error {
		restarts++
		return errors.New("no restart in a test")
	})
	s.stop()
	if restarts != 1 {
		t.Errorf("%d restarts, want 1", restarts)
	}
	if log := s.log.String(); !strings.Contains(log, "timer_slack not taken") || !strings.Contains(log, "no restart in a test") {
		t.Errorf("the log does not say the slack was not taken, and why:\n%s", log)
	}
}
