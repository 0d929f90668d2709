package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigilwiki/vigil"
	"github.com/vigilwiki/vigil/abusefilter"
	"github.com/vigilwiki/vigil/config"
	"github.com/vigilwiki/vigil/httpapi"
	"github.com/vigilwiki/vigil/internal/workload"
	"github.com/vigilwiki/vigil/screen"
)

func newBenchCmd(env Env) *cobra.Command {
	cmd := &cobra.Command{Use: "bench", Short: "Measure Vigil", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() }}
	var o screenBenchOptions
	sc := &cobra.Command{
		Use:   "screen --filters FILE",
		Short: "Load-test POST /v1/screen over HTTP",
		Long: `Screen starts a Vigil server (vigil serve, as a child process; SQLite in a
temporary directory) with the enabled filters of FILE (abuse_filter rows as in
real-filters.jsonl), then
sends it realistic edits of 5 to 50 KB pages over HTTP on loopback (each
edit's old text as old_wikitext_delta when that leaves out at least half of
it, as the MediaWiki extension sends them), and reports
latency and throughput. With --rate it sends at that rate (open loop: latency
counts from when a request was due, so a slow server cannot hide); without, as
fast as --workers connections allow. The server's Go heap and RSS are sampled
every 10 s, and its CPU time and the load generator's are reported apart.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := benchScreen(cmd.Context(), env, o)
			if err != nil {
				return err
			}
			if o.json {
				return writeJSON(cmd.OutOrStdout(), res)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%d filters, %d actions in %.1f s: %.0f actions/s (%d errors)\n", res.Filters, res.Requests,
				res.Seconds, res.Throughput, res.Errors)
			fmt.Fprintf(out, "latency ms: median %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f\n",
				res.MedianMS, res.P90MS, res.P99MS, res.P999MS, res.MaxMS)
			fmt.Fprintf(out, "page sizes KB: %d to %d, requests %.1f KB on average (old texts: %s); matches per action %.2f, logged %.2f; CPU per action %.0f µs (server and load",
				res.MinPageKB, res.MaxPageKB, res.MeanRequestKB, res.OldText, res.MatchesPerAction, res.LoggedPerAction, res.CPUPerActionUS)
			if o.inProcess {
				fmt.Fprintf(out, " in one process)\n")
			} else {
				fmt.Fprintf(out, "; server %.0f µs, load %.0f µs)\n", res.ServerCPUPerActionUS, res.LoadCPUPerActionUS)
			}
			fmt.Fprintf(out, "page faults per action: %.2f", res.FaultsPerAction)
			if !o.inProcess {
				fmt.Fprintf(out, " (server %.2f)", res.ServerFaultsPerAction)
			}
			fmt.Fprintln(out)
			st := res.Server
			for _, row := range []struct {
				name string
				q    Quantiles
			}{{"server: screening", st.Screen}, {"server: filters", st.Filters}, {"server: abuse log write", st.Log},
				{"latency, actions that logged", st.Logged}, {"latency, actions that did not", st.Unlogged},
				{"load generator: sent late by", res.SendDelay}} {
				fmt.Fprintf(out, "%-31s ms: median %.2f  p90 %.2f  p99 %.2f  (%d actions)\n", row.name, row.q.P50MS, row.q.P90MS, row.q.P99MS, row.q.N)
			}
			for _, m := range res.Memory {
				fmt.Fprintf(out, "  t=%4.0fs heap %6.1f MB  rss %6.1f MB\n", m.Seconds, m.HeapMB, m.RSSMB)
			}
			if o.timeline {
				fmt.Fprintf(out, "second  requests  median ms  p99 ms  max ms\n")
				for _, s := range res.PerSecond {
					fmt.Fprintf(out, "%6d  %8d  %9.2f  %6.2f  %6.2f  srv p99 %6.2f max %6.2f\n", s.Second, s.Requests, s.MedianMS, s.P99MS, s.MaxMS, s.ServerP99MS, s.ServerMaxMS)
				}
			}
			return nil
		},
	}
	sc.Flags().StringVar(&o.filters, "filters", "", "abuse_filter rows (JSONL); their enabled, valid ones are loaded")
	sc.Flags().IntVar(&o.rate, "rate", 0, "requests per second (0: as fast as possible)")
	sc.Flags().DurationVar(&o.duration, "duration", 30*time.Second, "how long to send")
	sc.Flags().IntVar(&o.workers, "workers", 8, "concurrent connections")
	sc.Flags().IntVar(&o.pages, "pages", 200, "distinct pages edited")
	sc.Flags().BoolVar(&o.json, "json", false, "print the figures as JSON")
	sc.Flags().DurationVar(&o.warmup, "warmup", 0, "send the same load this long before measuring (a server just started spends its first seconds faulting in memory and growing its files)")
	sc.Flags().BoolVar(&o.timeline, "timeline", false, "also print each second's latency (by when requests were due), to find stalls")
	sc.Flags().StringVar(&o.cpuprof, "cpuprofile", "", "write a CPU profile to this file: of the server's whole run (start-up and warm-up included), or with --in-process of the measured run, server and load together")
	sc.Flags().BoolVar(&o.inProcess, "in-process", false, "run the server in this process, beside the load generator (as before 2026-12-03), instead of as a child process")
	sc.Flags().BoolVar(&o.fullOldText, "full-old-text", false, "send each edit's whole old text as old_wikitext (as before 2026-12-04), never old_wikitext_delta")
	sc.Flags().StringArrayVar(&o.settings, "set", nil, "a setting for the server, KEY=VALUE as in the configuration file (repeatable), e.g. recent.disabled=true")
	cmd.AddCommand(sc)
	return cmd
}

type screenBenchOptions struct {
	filters   string
	rate      int
	duration  time.Duration
	workers   int
	pages     int
	json      bool
	settings  []string
	cpuprof   string
	inProcess bool
	timeline  bool
	warmup    time.Duration
	// fullOldText: old_wikitext always, never old_wikitext_delta.
	fullOldText bool
}

// ScreenBenchResult is what `vigil bench screen --json` prints.
type ScreenBenchResult struct {
	Filters    int     `json:"filters"`
	Requests   int     `json:"requests"`
	Errors     int     `json:"errors"`
	Seconds    float64 `json:"seconds"`
	Throughput float64 `json:"throughput"` // actions per second
	MedianMS   float64 `json:"median_ms"`
	P90MS      float64 `json:"p90_ms"`
	P99MS      float64 `json:"p99_ms"`
	P999MS     float64 `json:"p999_ms"`
	MaxMS      float64 `json:"max_ms"`
	MinPageKB  int     `json:"min_page_kb"`
	MaxPageKB  int     `json:"max_page_kb"`
	// MeanRequestKB is the mean size of a request, headers and body; OldText
	// says how requests carried old texts: "delta" (old_wikitext_delta where
	// it saves at least half) or "full".
	MeanRequestKB    float64 `json:"mean_request_kb"`
	OldText          string  `json:"old_text"`
	MatchesPerAction float64 `json:"matches_per_action"`
	// Abuse-log entries written per action: matches but those a throttle
	// absorbed (each costs a durable write of the action's variables).
	LoggedPerAction float64 `json:"logged_per_action"`
	// CPU time per action of the server and the load generator together:
	// less moved by other tenants than throughput on a shared machine.
	CPUPerActionUS float64 `json:"cpu_per_action_us"`
	// The server's and the load generator's shares (absent with
	// --in-process, where one process does both).
	ServerCPUPerActionUS float64 `json:"server_cpu_per_action_us,omitempty"`
	LoadCPUPerActionUS   float64 `json:"load_cpu_per_action_us,omitempty"`
	// Minor page faults per action, server and load generator together
	// (a fresh page of memory each, or one a huge page covers), and the
	// server's share: on virtual machines where a fault traps to the
	// hypervisor they are a visible part of the CPU time.
	FaultsPerAction       float64        `json:"faults_per_action"`
	ServerFaultsPerAction float64        `json:"server_faults_per_action,omitempty"`
	Memory                []MemorySample `json:"memory"`
	// Latency by the second in which requests were due (sent, in the
	// closed loop): a stall shows as a second or two of high maxima.
	PerSecond []SecondSample `json:"per_second"`
	// Where the time went, from the verdicts' own timings.
	Server ServerTimes `json:"server"`
	// How late the load generator began to send each request, from when
	// it was due: part of the latencies above, and not the server's.
	SendDelay Quantiles `json:"send_delay"`
}

// ServerTimes are the server's timings of its part of each request, and
// the latency of the actions that wrote the abuse log apart from the rest:
// a log write waits for a disk sync, often behind another batch's.
type ServerTimes struct {
	Screen  Quantiles `json:"screen"`  // all of screening (duration_us)
	Filters Quantiles `json:"filters"` // running the filters (filters_us)
	Log     Quantiles `json:"log"`     // the abuse log's write (log_us), over the actions that logged
	// Latency (as above, from when each request was due) of the actions
	// that logged and of those that did not.
	Logged   Quantiles `json:"logged_latency"`
	Unlogged Quantiles `json:"unlogged_latency"`
}

// Quantiles of a set of durations, in milliseconds; N is how many.
type Quantiles struct {
	N     int     `json:"n"`
	P50MS float64 `json:"p50_ms"`
	P90MS float64 `json:"p90_ms"`
	P99MS float64 `json:"p99_ms"`
}

func quantiles(d []time.Duration) Quantiles {
	slices.Sort(d)
	return Quantiles{N: len(d), P50MS: quantileMS(d, 0.5), P90MS: quantileMS(d, 0.9), P99MS: quantileMS(d, 0.99)}
}

// SecondSample is the latency of the requests due in one second of the run.
type SecondSample struct {
	Second      int     `json:"second"`
	Requests    int     `json:"requests"`
	MedianMS    float64 `json:"median_ms"`
	P99MS       float64 `json:"p99_ms"`
	MaxMS       float64 `json:"max_ms"`
	ServerMaxMS float64 `json:"server_max_ms"`
	ServerP99MS float64 `json:"server_p99_ms"`
}

// MemorySample is the process's memory at a moment of the run.
type MemorySample struct {
	Seconds float64 `json:"seconds"`
	HeapMB  float64 `json:"heap_mb"`
	RSSMB   float64 `json:"rss_mb"`
}

func benchScreen(ctx context.Context, env Env, o screenBenchOptions) (*ScreenBenchResult, error) {
	if o.filters == "" {
		return nil, errors.New("--filters is required")
	}
	if o.workers < 1 || o.pages < 1 || o.rate < 0 || o.duration <= 0 || o.warmup < 0 {
		return nil, errors.New("--workers and --pages must be positive, --rate and --warmup not negative, --duration positive")
	}
	data, err := os.MkdirTemp("", "vigil-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(data)
	settings := map[string]any{"data": data, "listen": "127.0.0.1:0", "sample": false, "log_level": "error"}
	for _, kv := range o.settings {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--set %q: want KEY=VALUE", kv)
		}
		settings[k] = v
	}
	if o.cpuprof != "" && !o.inProcess {
		// The server profiles itself, and writes the file when it stops.
		abs, err := filepath.Abs(o.cpuprof)
		if err != nil {
			return nil, err
		}
		settings["cpu_profile"] = abs
	}
	cfg, err := config.Load("", func(string) string { return "" }, nil, settings)
	if err != nil {
		return nil, err
	}
	// Filters and a token, straight into the store.
	store, err := openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	n, err := loadEnabledFilters(ctx, store, o.filters)
	if err != nil {
		store.Close()
		return nil, err
	}
	secret := httpapi.NewTokenSecret()
	if err := store.CreateToken(ctx, &vigil.Token{Name: "bench", Scopes: []string{vigil.ScopeScreen}}, httpapi.HashToken(secret)); err != nil {
		store.Close()
		return nil, err
	}
	store.Close()

	srv, err := startBenchServer(ctx, env, cfg, settings, o.inProcess)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	base := srv.base

	// Realistic edits, encoded once.
	wiki := "enwiki"
	gen := workload.New(wiki, 1, o.pages)
	bodies := make([][]byte, 0, 400)
	res := &ScreenBenchResult{Filters: n, MinPageKB: 1 << 30, OldText: "delta"}
	if o.fullOldText {
		res.OldText = "full"
	}
	for range 400 {
		a := gen.Next()
		kb := len(*a.NewWikitext) / 1000
		if !o.fullOldText {
			a.CompactTexts()
		}
		b, _ := json.Marshal(a)
		bodies = append(bodies, b)
		res.MinPageKB, res.MaxPageKB = min(res.MinPageKB, kb), max(res.MaxPageKB, kb)
	}

	// Each request whole (headers and body) once, to be written in one
	// call: the load generator shares the machine with the server and
	// should take as little of it as it can.
	host := strings.TrimPrefix(base, "http://")
	requests := make([][]byte, len(bodies))
	for i, body := range bodies {
		head := fmt.Sprintf("POST /v1/screen HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"+
			"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n", host, secret, len(body))
		requests[i] = append([]byte(head), body...)
		res.MeanRequestKB += float64(len(requests[i])) / 1000 / float64(len(bodies))
	}
	var (
		mu      sync.Mutex
		done    sampleLog
		start   time.Time
		errs    int
		matches int
		logged  int
		next    atomic.Int64
	)
	request := func() []byte { return requests[int(next.Add(1))%len(requests)] }
	record := func(due, sent time.Time, status int, body []byte, err error) {
		var v struct {
			Matches []struct {
				LogID int64 `json:"log_id"`
			}
			Duration int64  `json:"duration_us"`
			Filters  int64  `json:"filters_us"`
			Log      *int64 `json:"log_us"`
		}
		ok := err == nil && status == 200 && json.Unmarshal(body, &v) == nil
		lat := time.Since(due)
		mu.Lock()
		defer mu.Unlock()
		if due.Before(start) {
			return // sent during the warm-up
		}
		r := sample{due: due.Sub(start), latency: lat, late: sent.Sub(due),
			screen: time.Duration(v.Duration) * time.Microsecond, filters: time.Duration(v.Filters) * time.Microsecond}
		if v.Log != nil {
			r.logged, r.log = true, time.Duration(*v.Log)*time.Microsecond
		}
		done.add(r)
		if !ok {
			errs++
			if errs == 1 {
				fmt.Fprintf(env.Stderr, "first failed request: status %d, error %v: %.200s\n", status, err, body)
			}
		}
		matches += len(v.Matches)
		for _, m := range v.Matches {
			if m.LogID != 0 {
				logged++
			}
		}
	}
	send := func(c *benchConn, due time.Time) {
		sent := time.Now()
		status, body, err := c.post(request())
		record(due, sent, status, body, err)
	}
	// Open every connection the run will use, and send a few requests on
	// each, one at a time: the run measures the server at work, not the
	// set-up of connections on either side.
	conns := make([]*benchConn, o.workers)
	if o.rate > 0 {
		conns = make([]*benchConn, max(o.workers, 64))
	}
	for i := range conns {
		conns[i] = &benchConn{addr: host}
		defer conns[i].close()
	}
	for i := range max(50, 2*len(conns)) {
		send(conns[i%len(conns)], time.Now())
	}
	mu.Lock()
	done, errs, matches, logged = sampleLog{}, 0, 0, 0
	mu.Unlock()

	if o.cpuprof != "" && o.inProcess {
		f, err := os.Create(o.cpuprof)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, err
		}
		defer pprof.StopCPUProfile()
	}
	// With --warmup, the load runs that long before what is measured.
	loadStart := time.Now()
	mu.Lock()
	start = loadStart.Add(o.warmup)
	mu.Unlock()
	var usageStart, serverUsageStart procUsage
	cpuRead := make(chan struct{})
	memStop := make(chan struct{})
	memDone := make(chan struct{})
	go func() {
		defer close(memDone)
		time.Sleep(time.Until(start))
		usageStart, serverUsageStart = processUsage(), srv.usage()
		close(cpuRead)
		tick := time.NewTicker(10 * time.Second)
		defer tick.Stop()
		res.Memory = append(res.Memory, srv.memory(ctx, 0))
		for {
			select {
			case <-memStop:
				res.Memory = append(res.Memory, srv.memory(ctx, time.Since(start).Seconds()))
				return
			case <-tick.C:
				res.Memory = append(res.Memory, srv.memory(ctx, time.Since(start).Seconds()))
			}
		}
	}()
	var wg sync.WaitGroup
	end := start.Add(o.duration)
	if o.rate > 0 {
		loop := &openLoop{request: request, record: record}
		loop.run(ctx, conns, loadStart, end, time.Second/time.Duration(o.rate))
	} else {
		for _, c := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(end) && ctx.Err() == nil {
					send(c, time.Now())
				}
			}()
		}
	}
	wg.Wait()
	elapsed := time.Since(start)
	<-cpuRead
	usage, serverUsage := processUsage().sub(usageStart), srv.usage().sub(serverUsageStart)
	close(memStop)
	<-memDone

	all := done.all()
	latencies := pick(all, func(r sample) (time.Duration, bool) { return r.latency, true })
	dueAt := pick(all, func(r sample) (time.Duration, bool) { return r.due, true })
	srvDur := pick(all, func(r sample) (time.Duration, bool) { return r.screen, true })
	res.PerSecond = perSecond(latencies, dueAt)
	for i, s := range perSecond(srvDur, dueAt) {
		res.PerSecond[i].ServerMaxMS = s.MaxMS
		res.PerSecond[i].ServerP99MS = s.P99MS
	}
	res.Server = ServerTimes{
		Screen:   quantiles(srvDur),
		Filters:  quantiles(pick(all, func(r sample) (time.Duration, bool) { return r.filters, true })),
		Log:      quantiles(pick(all, func(r sample) (time.Duration, bool) { return r.log, r.logged })),
		Logged:   quantiles(pick(all, func(r sample) (time.Duration, bool) { return r.latency, r.logged })),
		Unlogged: quantiles(pick(all, func(r sample) (time.Duration, bool) { return r.latency, !r.logged })),
	}
	res.SendDelay = quantiles(pick(all, func(r sample) (time.Duration, bool) { return r.late, true }))
	slices.Sort(latencies)
	q := func(p float64) float64 { return quantileMS(latencies, p) }
	res.Requests, res.Errors, res.Seconds = len(latencies), errs, elapsed.Seconds()
	res.Throughput = float64(len(latencies)) / elapsed.Seconds()
	res.MedianMS, res.P90MS, res.P99MS, res.P999MS, res.MaxMS = q(0.5), q(0.9), q(0.99), q(0.999), q(1)
	if len(latencies) > 0 {
		n := float64(len(latencies))
		res.MatchesPerAction = float64(matches) / n
		res.LoggedPerAction = float64(logged) / n
		perAction := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) / n }
		if o.inProcess {
			res.CPUPerActionUS = perAction(usage.cpu)
			res.FaultsPerAction = float64(usage.faults) / n
		} else {
			res.ServerCPUPerActionUS, res.LoadCPUPerActionUS = perAction(serverUsage.cpu), perAction(usage.cpu)
			res.CPUPerActionUS = res.ServerCPUPerActionUS + res.LoadCPUPerActionUS
			res.ServerFaultsPerAction = float64(serverUsage.faults) / n
			res.FaultsPerAction = float64(serverUsage.faults+usage.faults) / n
		}
	}
	return res, nil
}

// sample is what the load generator learnt of one request: when it was
// due (from the start), its latency from then, how late it was sent, and
// the server's own timings from the verdict.
type sample struct {
	due, latency, late   time.Duration
	screen, filters, log time.Duration
	logged               bool // the action wrote the abuse log (the verdict has log_us)
}

// sampleLog keeps the samples of a run in chunks of a fixed size, so that
// adding one never copies those kept: a slice growing by a quarter copied
// up to 30 MB, into memory faulted in anew, while every sender waited for
// the lock, and the latencies of the requests due meanwhile (100-250 ms at
// 1,000/s, at the same seconds of every 10-minute run) were the load
// generator's, not the server's (docs/performance.md, twenty-fifth
// session).
type sampleLog struct{ chunks [][]sample }

const sampleChunk = 1 << 14

func (l *sampleLog) add(r sample) {
	if n := len(l.chunks); n == 0 || len(l.chunks[n-1]) == sampleChunk {
		l.chunks = append(l.chunks, make([]sample, 0, sampleChunk))
	}
	last := &l.chunks[len(l.chunks)-1]
	*last = append(*last, r)
}

// all returns the samples in the order they were added.
func (l *sampleLog) all() []sample { return slices.Concat(l.chunks...) }

// pick is one duration of each sample that has it.
func pick(samples []sample, get func(sample) (time.Duration, bool)) []time.Duration {
	out := make([]time.Duration, 0, len(samples))
	for _, r := range samples {
		if d, ok := get(r); ok {
			out = append(out, d)
		}
	}
	return out
}

// quantileMS is the p-quantile of sorted latencies, in milliseconds.
func quantileMS(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return float64(sorted[min(int(p*float64(len(sorted))), len(sorted)-1)]) / float64(time.Millisecond)
}

// perSecond groups latencies by the second in which their requests were due.
func perSecond(latencies, dueAt []time.Duration) []SecondSample {
	var buckets [][]time.Duration
	for i, lat := range latencies {
		s := max(int(dueAt[i]/time.Second), 0)
		for len(buckets) <= s {
			buckets = append(buckets, nil)
		}
		buckets[s] = append(buckets[s], lat)
	}
	out := make([]SecondSample, 0, len(buckets))
	for s, b := range buckets {
		slices.Sort(b)
		out = append(out, SecondSample{Second: s, Requests: len(b), MedianMS: quantileMS(b, 0.5), P99MS: quantileMS(b, 0.99), MaxMS: quantileMS(b, 1)})
	}
	return out
}

// loadEnabledFilters saves the enabled, valid filters of a rows file.
func loadEnabledFilters(ctx context.Context, store vigil.Store, path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	n := 0
	for line := 1; sc.Scan(); line++ {
		var row abusefilter.Row
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			return 0, fmt.Errorf("%s:%d: %v", path, line, err)
		}
		if !row.Enabled || row.Deleted {
			continue
		}
		row.Wiki = "enwiki" // one wiki holds them all
		flt, _ := abusefilter.FromRow(row)
		if screen.CheckFilter(flt) != nil {
			continue
		}
		if err := store.CreateFilter(ctx, flt, "bench", ""); err != nil {
			return 0, err
		}
		n++
	}
	return n, sc.Err()
}
