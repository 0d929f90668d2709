package cli

import (
	"context"
	"encoding/json"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary stand in for vigil when a test starts it
// as a child process (bench screen's server).
func TestMain(m *testing.M) {
	if os.Getenv("VIGIL_TEST_AS_VIGIL") == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := Main(ctx, Env{Args: os.Args[1:], Getenv: os.Getenv, Environ: os.Environ, Stdin: os.Stdin,
			Stdout: os.Stdout, Stderr: os.Stderr})
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// TestBenchScreen runs a short load test in both of its set-ups and checks
// that requests were answered, matched as the workload's spam and
// vandalism should be, and that CPU is accounted to the right side.
func TestBenchScreen(t *testing.T) {
	t.Setenv("VIGIL_TEST_AS_VIGIL", "1")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	saved := benchServerCommand
	benchServerCommand = func() (string, []string, error) { return exe, []string{"serve"}, nil }
	t.Cleanup(func() { benchServerCommand = saved })

	for _, mode := range []string{"child", "in-process"} {
		t.Run(mode, func(t *testing.T) {
			args := []string{"bench", "screen", "--filters", shared + "/real-filters.jsonl", "--duration", "2s", "--rate", "100", "--json"}
			if mode == "in-process" {
				args = append(args, "--in-process")
			}
			out, errOut, code := run(t, "", args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var res ScreenBenchResult
			if err := json.Unmarshal([]byte(out), &res); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			if res.Filters != 137 || res.Requests < 150 || res.Errors != 0 {
				t.Errorf("filters %d, requests %d, errors %d; want 137 filters, about 200 requests, no errors (stderr %s)",
					res.Filters, res.Requests, res.Errors, errOut)
			}
			// A fifth to a half of the workload's edits are spam,
			// vandalism or by new users whom log-only filters note.
			if res.MatchesPerAction < 0.2 || res.MatchesPerAction > 3 {
				t.Errorf("matches per action %.2f", res.MatchesPerAction)
			}
			if res.MedianMS <= 0 || res.P99MS < res.MedianMS || res.CPUPerActionUS <= 0 {
				t.Errorf("median %.2f ms, p99 %.2f ms, CPU %.0f µs", res.MedianMS, res.P99MS, res.CPUPerActionUS)
			}
			child := res.ServerCPUPerActionUS > 0 && res.LoadCPUPerActionUS > 0
			if child != (mode == "child") {
				t.Errorf("server CPU %.0f µs, load CPU %.0f µs per action", res.ServerCPUPerActionUS, res.LoadCPUPerActionUS)
			}
			if len(res.Memory) < 2 || res.Memory[0].RSSMB <= 0 || res.Memory[0].HeapMB <= 0 {
				t.Errorf("memory samples %+v", res.Memory)
			}
			if strings.Contains(errOut, "failed request") {
				t.Errorf("stderr: %s", errOut)
			}
		})
	}
}

// TestBenchScreenServerHangs: a server that never says it listens is
// stopped after the start timeout, and the bench reports it.
func TestBenchScreenServerHangs(t *testing.T) {
	saved, savedTimeout := benchServerCommand, serverStartTimeout
	benchServerCommand = func() (string, []string, error) { return "sleep", []string{"600"}, nil }
	serverStartTimeout = 500 * time.Millisecond
	t.Cleanup(func() { benchServerCommand, serverStartTimeout = saved, savedTimeout })
	start := time.Now()
	_, errOut, code := run(t, "", "bench", "screen", "--filters", shared+"/real-filters.jsonl", "--duration", "1s")
	if code == 0 || !strings.Contains(errOut, "did not start") {
		t.Fatalf("exit %d, stderr %q; want a failure saying the server did not start", code, errOut)
	}
	if time.Since(start) > 30*time.Second {
		t.Fatalf("took %v", time.Since(start))
	}
}
