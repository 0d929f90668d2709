package cli

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/signal"
	"path/filepath"
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
			Stdout: os.Stdout, Stderr: os.Stderr, Reexec: RestartSelf})
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
			prof := filepath.Join(t.TempDir(), "cpu.pprof")
			args := []string{"bench", "screen", "--filters", shared + "/real-filters.jsonl", "--duration", "2s", "--rate", "100", "--json",
				"--cpuprofile", prof}
			if mode == "in-process" {
				args = append(args, "--in-process")
			}
			out, errOut, code := run(t, "", args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			// The profile is the server's in both set-ups (in the child's,
			// the child wrote it): its functions are named in it. Any of
			// the packages that serve a request will do: 200 requests at
			// 100 a second give the profile a few dozen samples, and the
			// screening itself (ScreenWith) was missing from some.
			if names := profileText(t, prof); !strings.Contains(names, "vigil/screen.") && !strings.Contains(names, "vigil/httpapi.") {
				t.Errorf("the CPU profile does not name the server's screening (%d bytes of names)", len(names))
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
			// Most are logged, not all: a throttle absorbs some (enwiki's
			// filter 279, throttled per user, matches new users' edits).
			if res.LoggedPerAction <= 0 || res.LoggedPerAction >= res.MatchesPerAction {
				t.Errorf("logged per action %.2f, matches %.2f", res.LoggedPerAction, res.MatchesPerAction)
			}
			if res.MedianMS <= 0 || res.P99MS < res.MedianMS || res.CPUPerActionUS <= 0 {
				t.Errorf("median %.2f ms, p99 %.2f ms, CPU %.0f µs", res.MedianMS, res.P99MS, res.CPUPerActionUS)
			}
			// The server's own timings: every action ran the filters, and
			// the actions that logged are some, not all, each with a
			// durable write.
			st := res.Server
			if st.Screen.N != res.Requests || st.Filters.N != res.Requests || st.Log.N != st.Logged.N ||
				st.Logged.N+st.Unlogged.N != res.Requests || st.Logged.N == 0 || st.Unlogged.N == 0 {
				t.Errorf("server timings cover %d, %d, %d (logged %d, not %d) of %d actions", st.Screen.N, st.Filters.N,
					st.Log.N, st.Logged.N, st.Unlogged.N, res.Requests)
			}
			if st.Filters.P50MS <= 0 || st.Filters.P50MS > st.Screen.P50MS || st.Log.P50MS <= 0 || st.Screen.P99MS > res.MaxMS {
				t.Errorf("server timings %+v, latency max %.2f ms", st, res.MaxMS)
			}
			if res.SendDelay.N != res.Requests || res.SendDelay.P99MS > res.MaxMS {
				t.Errorf("send delay %+v, latency max %.2f ms", res.SendDelay, res.MaxMS)
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
			// At 100 requests/s for 2 s: two seconds of about 100 each,
			// which together are all the requests.
			total := 0
			for _, s := range res.PerSecond {
				total += s.Requests
				if s.Requests > 0 && (s.MedianMS <= 0 || s.P99MS < s.MedianMS || s.MaxMS < s.P99MS) {
					t.Errorf("second %+v", s)
				}
			}
			if len(res.PerSecond) < 2 || len(res.PerSecond) > 3 || total != res.Requests || res.PerSecond[0].Requests < 90 {
				t.Errorf("per second %+v, %d requests in all", res.PerSecond, res.Requests)
			}
		})
	}
}

// TestBenchScreenWarmup: what is sent during --warmup is not counted.
func TestBenchScreenWarmup(t *testing.T) {
	out, errOut, code := run(t, "", "bench", "screen", "--filters", shared+"/real-filters.jsonl", "--in-process",
		"--warmup", "1s", "--duration", "1s", "--rate", "200", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var res ScreenBenchResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	// 200 requests were due in the measured second, 200 more before it.
	if res.Requests < 180 || res.Requests > 201 || res.Errors != 0 || res.Seconds < 0.9 || res.Seconds > 10 {
		t.Errorf("%d requests, %d errors in %.2f s; want about 200, due in 1 s", res.Requests, res.Errors, res.Seconds)
	}
	if len(res.PerSecond) != 1 || res.PerSecond[0].Requests != res.Requests {
		t.Errorf("per second %+v", res.PerSecond)
	}
	if _, _, code := run(t, "", "bench", "screen", "--filters", shared+"/real-filters.jsonl", "--warmup", "-1s"); code == 0 {
		t.Error("a negative --warmup is accepted")
	}
}

func TestPerSecond(t *testing.T) {
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	// Due at 0.1 s, 0.5 s, 0.9 s (second 0), 2.2 s (second 2), nothing
	// due in second 1.
	lat := []time.Duration{ms(3), ms(1), ms(2), ms(40)}
	due := []time.Duration{ms(100), ms(500), ms(900), ms(2200)}
	got := perSecond(lat, due)
	want := []SecondSample{
		{Second: 0, Requests: 3, MedianMS: 2, P99MS: 3, MaxMS: 3},
		{Second: 1},
		{Second: 2, Requests: 1, MedianMS: 40, P99MS: 40, MaxMS: 40},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("second %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	if lat[0] != ms(3) {
		t.Errorf("perSecond reordered its input: %v", lat)
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

// profileText is a pprof profile's protocol buffer, unzipped: its string
// table holds the names of the functions sampled.
func profileText(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("CPU profile: %v", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("CPU profile %s: %v", path, err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("CPU profile %s: %v", path, err)
	}
	return string(b)
}

// TestServeCPUProfileUnwritable: a cpu_profile that cannot be created
// stops the start, naming the setting.
func TestServeCPUProfileUnwritable(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "vigil.yaml")
	if err := os.WriteFile(conf, []byte("cpu_profile: "+filepath.Join(dir, "missing", "cpu.pprof")+"\nsample: false\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A server that started anyway is stopped after a while, and fails
	// the test rather than hanging it.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var errOut strings.Builder
	code := Main(ctx, Env{Args: []string{"serve", "--config", conf, "--data", filepath.Join(dir, "data"), "--listen", "127.0.0.1:0"},
		Getenv: func(string) string { return "" }, Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: &errOut})
	if code == 0 || !strings.Contains(errOut.String(), "cpu_profile") {
		t.Errorf("exit %d, stderr %q; want a failure naming cpu_profile", code, errOut.String())
	}
}

// TestSampleLog: the samples come back whole and in order across chunks.
func TestSampleLog(t *testing.T) {
	for _, n := range []int{0, 1, sampleChunk, sampleChunk + 1, 2*sampleChunk + 7} {
		var l sampleLog
		for i := range n {
			l.add(sample{due: time.Duration(i)})
		}
		all := l.all()
		if len(all) != n {
			t.Fatalf("%d added, %d back", n, len(all))
		}
		for i, s := range all {
			if s.due != time.Duration(i) {
				t.Fatalf("%d added: sample %d is the one added %d-th", n, i, s.due)
			}
		}
	}
}
