package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vigilwiki/vigil/config"
)

// benchServer is the server a load test talks to: a child process running
// `vigil serve` (as deployed: the load generator's goroutines do not queue
// on the server's two Ps, and each side's CPU is measured apart), or, with
// --in-process, a goroutine of this process.
type benchServer struct {
	base   string
	stop   func()
	usage  func() procUsage // the server's CPU time and page faults so far
	memory func(ctx context.Context, t float64) MemorySample
}

// serverStartTimeout bounds how long the child server may take to listen.
var serverStartTimeout = 2 * time.Minute

// benchServerCommand is the program and arguments that run `vigil serve`;
// tests, whose executable is not vigil, replace it.
var benchServerCommand = func() (string, []string, error) {
	exe, err := os.Executable()
	return exe, []string{"serve"}, err
}

func startBenchServer(ctx context.Context, env Env, cfg *config.Config, settings map[string]any, inProcess bool) (*benchServer, error) {
	if inProcess {
		return startInProcessServer(ctx, env, cfg)
	}
	exe, args, err := benchServerCommand()
	if err != nil {
		return nil, fmt.Errorf("the server's executable: %w", err)
	}
	cmd := exec.Command(exe, args...)
	// The settings reach the child as VIGIL_ variables (config.Load); the
	// caller's own VIGIL_ variables must not reach it.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VIGIL_") || strings.HasPrefix(kv, "VIGIL_TEST") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		cmd.Env = append(cmd.Env, "VIGIL_"+strings.ToUpper(strings.ReplaceAll(k, ".", "__"))+"="+fmt.Sprint(settings[k]))
	}
	cmd.Stderr = env.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the server: %w", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	stop := func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}
	lines := bufio.NewReader(out)
	// A server that neither starts nor exits (stuck on a locked database,
	// say) is stopped rather than waited for.
	timer := time.AfterFunc(serverStartTimeout, func() { cmd.Process.Kill() })
	line, err := lines.ReadString('\n')
	if !timer.Stop() || err != nil {
		stop()
		return nil, fmt.Errorf("the server did not start within %v (see its errors above)", serverStartTimeout)
	}
	go io.Copy(io.Discard, lines)
	pid := cmd.Process.Pid
	base := listenedURL(line)
	return &benchServer{
		base:  base,
		stop:  stop,
		usage: func() procUsage { return childUsage(pid) },
		memory: func(ctx context.Context, t float64) MemorySample {
			return MemorySample{Seconds: t, HeapMB: scrapeGauge(ctx, base+"/metrics", "go_memstats_heap_inuse_bytes") / 1e6,
				RSSMB: rssMB(strconv.Itoa(pid))}
		},
	}, nil
}

func startInProcessServer(ctx context.Context, env Env, cfg *config.Config) (*benchServer, error) {
	pr, pw := io.Pipe()
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- serve(sctx, Env{Stdout: pipeWriter{pw}, Stderr: env.Stderr, Getenv: env.Getenv, Environ: env.Environ}, cfg)
		pw.Close()
	}()
	restore := oneMoreProc(env) // as vigil serve does
	stop := func() { cancel(); <-done; restore() }
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		stop()
		return nil, fmt.Errorf("the server did not start: %v", err)
	}
	go io.Copy(io.Discard, pr)
	return &benchServer{
		base:  listenedURL(line),
		stop:  stop,
		usage: func() procUsage { return procUsage{} }, // counted in processUsage
		memory: func(_ context.Context, t float64) MemorySample {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			return MemorySample{Seconds: t, HeapMB: float64(ms.HeapInuse) / 1e6, RSSMB: rssMB("self")}
		},
	}, nil
}

// pipeWriter hands a server's standard output to its starter.
type pipeWriter struct{ w *io.PipeWriter }

func (p pipeWriter) Write(b []byte) (int, error) { return p.w.Write(b) }

// procUsage is what a process has used so far: CPU time (user and system)
// and minor page faults, which cost a trap to the hypervisor on some
// virtual machines (about 10 µs each on the twelfth machine).
type procUsage struct {
	cpu    time.Duration
	faults int64
}

func (u procUsage) sub(v procUsage) procUsage {
	return procUsage{cpu: u.cpu - v.cpu, faults: u.faults - v.faults}
}

// childUsage is the usage of process pid (zero if unknown), from
// /proc/PID/stat, whose times are in USER_HZ ticks (100 per second on
// Linux).
func childUsage(pid int) procUsage {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return procUsage{}
	}
	// The command name (field 2) may hold spaces: count fields after it.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return procUsage{}
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return procUsage{}
	}
	minflt, _ := strconv.ParseInt(f[7], 10, 64) // field 10
	utime, _ := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, _ := strconv.ParseInt(f[12], 10, 64) // field 15
	return procUsage{cpu: time.Duration(utime+stime) * (time.Second / 100), faults: minflt}
}

// rssMB is the resident memory of process proc ("self" or a PID) in MB.
func rssMB(proc string) float64 {
	b, err := os.ReadFile(filepath.Join("/proc", proc, "status"))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return float64(kb) / 1000
		}
	}
	return 0
}

// scrapeGauge reads one unlabelled metric from a Prometheus text page (0
// if it cannot).
func scrapeGauge(ctx context.Context, url, name string) float64 {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return 0
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			v, _ := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return v
		}
	}
	return 0
}

// benchConn is one keep-alive HTTP/1.1 connection of the load generator: a
// request is written whole in one call and its answer read without
// net/http's client and its two goroutines per connection (twice the load
// generator's CPU). In the closed loop one goroutine does both (post); in
// the open loop the pacer writes and the connection's reader reads (receive).
type benchConn struct {
	addr string
	conn net.Conn
	br   *bufio.Reader
}

// post sends a complete request and returns the answer's status and body.
// A broken connection is dialled again at the next request.
func (c *benchConn) post(request []byte) (int, []byte, error) {
	if c.conn == nil {
		if err := c.dial(); err != nil {
			return 0, nil, err
		}
	}
	c.conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.conn.Write(request); err != nil {
		c.close()
		return 0, nil, err
	}
	status, body, keep, err := c.receive()
	if !keep {
		c.close()
	}
	return status, body, err
}

func (c *benchConn) dial() error {
	conn, err := net.DialTimeout("tcp", c.addr, 5*time.Second)
	if err != nil {
		return err
	}
	c.conn, c.br = conn, bufio.NewReaderSize(conn, 16<<10)
	return nil
}

// receive reads one answer; keep says whether the connection can carry
// another.
func (c *benchConn) receive() (status int, body []byte, keep bool, err error) {
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return 0, nil, false, err
	}
	body, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, body, err == nil && !resp.Close, err
}

func (c *benchConn) close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn, c.br = nil, nil
	}
}
