package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/vigilwiki/vigil"
	"github.com/vigilwiki/vigil/config"
	"github.com/vigilwiki/vigil/httpapi"
	"github.com/vigilwiki/vigil/internal/connlimit"
	"github.com/vigilwiki/vigil/internal/hugeheap"
	"github.com/vigilwiki/vigil/postgres"
	"github.com/vigilwiki/vigil/screen"
	"github.com/vigilwiki/vigil/spool"
	"github.com/vigilwiki/vigil/sqlite"
	"github.com/vigilwiki/vigil/sqlstore"
)

// storeFlags are the flags that choose the store, shared by serve and the
// commands that work on the store directly.
type storeFlags struct {
	config, data, db string
}

func (f *storeFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.config, "config", "", "configuration file (YAML); default $VIGIL_CONFIG")
	cmd.Flags().StringVar(&f.data, "data", "", "data directory (default ./vigil-data)")
	cmd.Flags().StringVar(&f.db, "db", "", "PostgreSQL URL (postgres://...); default SQLite in the data directory")
}

func (f *storeFlags) load(env Env, extra map[string]any) (*config.Config, error) {
	flags := map[string]any{}
	for k, v := range extra {
		flags[k] = v
	}
	if f.data != "" {
		flags["data"] = f.data
	}
	if f.db != "" {
		flags["db"] = f.db
	}
	return config.Load(f.config, env.Getenv, env.Environ(), flags)
}

// openStore opens the store the configuration names.
func openStore(ctx context.Context, cfg *config.Config) (*sqlstore.Store, error) {
	if cfg.DB != "" {
		return postgres.Open(ctx, cfg.DB)
	}
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	return sqlite.Open(ctx, filepath.Join(cfg.Data, "vigil.db"))
}

// listeningPrefix starts the line serve writes once it listens, followed
// by its base URL; listenedURL reads it back.
const listeningPrefix = "vigil: listening on "

func listenedURL(line string) string {
	return strings.TrimSpace(strings.TrimPrefix(line, listeningPrefix))
}

// oneMoreProc gives the service one more Go thread than the CPUs it may
// use (unless GOMAXPROCS is set), and returns what restores the setting:
// the abuse log's commit waits in a disk sync inside a
// request, and that goroutine holds its P until the runtime takes it back,
// while other requests wait for a P with a CPU idle. One more P kept both
// CPUs working: closed-loop throughput +3 % with 8 connections, +5 % at
// saturation (64 connections), the p99 at 1,000 requests/s unchanged
// (`vigil bench screen`, alternating). Setting it turns off Go's own
// updates of GOMAXPROCS when a container's CPU limit changes.
func oneMoreProc(env Env) (restore func()) {
	if env.Getenv("GOMAXPROCS") != "" {
		return func() {}
	}
	before := runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + 1)
	return func() { runtime.GOMAXPROCS(before) }
}

func newServeCmd(env Env) *cobra.Command {
	var sf storeFlags
	var listen, logLevel string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the screening service",
		Long: `Serve runs Vigil's HTTP API: it screens wiki actions (POST /v1/screen) with the
enabled filters, keeps the abuse log and the filters' history, and serves
metrics. By default it keeps everything in SQLite in ./vigil-data, and on an
empty store it creates sample filters and an admin token (written to
<data>/admin-token).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			extra := map[string]any{}
			if listen != "" {
				extra["listen"] = listen
			}
			if logLevel != "" {
				extra["log_level"] = logLevel
			}
			cfg, err := sf.load(env, extra)
			if err != nil {
				return err
			}
			if env.Reexec != nil {
				again, err := takeTimerSlack(cfg.TimerSlack)
				if err != nil {
					return err
				}
				if again {
					err := env.Reexec() // returns only if it failed
					runtime.UnlockOSThread()
					slog.New(slog.NewJSONHandler(env.Stderr, nil)).Warn("timer_slack not taken: running with the slack it was started with", "err", err)
				}
			}
			defer oneMoreProc(env)()
			enableHugeHeap()
			return serve(cmd.Context(), env, cfg)
		},
	}
	sf.register(cmd)
	cmd.Flags().StringVar(&listen, "listen", "", "HTTP address (default 127.0.0.1:8780)")
	cmd.Flags().StringVar(&logLevel, "log-level", "", "debug, info, warn or error")
	return cmd
}

func serve(ctx context.Context, env Env, cfg *config.Config) error {
	var level slog.Level
	level.UnmarshalText([]byte(cfg.LogLevel))
	log := slog.New(slog.NewJSONHandler(env.Stderr, &slog.HandlerOptions{Level: level}))

	// The live heap is small (tens of MB) and every action allocates its
	// request, variables and dump anew: at Go's default GOGC=100 the
	// collector ran about nine times a second at 1,000 actions/s, its
	// marking taking a core's quarter each time (see operations.md).
	if env.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(cfg.GCPercent))
	}
	if cfg.CPUProfile != "" {
		stop, err := startCPUProfile(cfg.CPUProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	store, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	if cfg.DB == "" {
		dir := filepath.Join(cfg.Data, "log-journal")
		use := store.UseLogJournal
		if !cfg.LogJournal {
			// What a run with the journal left there goes in first.
			use = store.DrainLogJournal
		}
		if err := use(ctx, dir, log); err != nil {
			return err
		}
	}
	sp, err := spool.Open(filepath.Join(cfg.Data, "spool"))
	if err != nil {
		return err
	}
	defer sp.Close()
	if cfg.Sample {
		if err := seedSample(ctx, store, cfg.Data, log); err != nil {
			return fmt.Errorf("sample data: %w", err)
		}
	}
	// On SQLite the window of recent actions has a file of its own (see
	// sqlite.OpenWindow); PostgreSQL takes both without contention.
	var window vigil.RecentStore = store
	if cfg.DB == "" {
		w, err := sqlite.OpenWindow(ctx, filepath.Join(cfg.Data, "recent.db"))
		if err != nil {
			return err
		}
		defer w.Close()
		window = w
	}
	engine := screen.New(store, cfg.Engine(), screen.Options{Logger: log, Spool: sp, RecentStore: window,
		Recent: screen.RecentConfig{MaxAge: cfg.Recent.MaxAge, MaxActions: cfg.Recent.MaxActions, Disabled: cfg.Recent.Disabled,
			KeepAll: cfg.Recent.KeepAll, MaxPerSecond: cfg.Recent.MaxPerSecond}})
	if err := engine.LoadStats(ctx); err != nil {
		log.Warn("filter statistics not loaded", "err", err)
	}
	// Ready before listening: a load balancer's first actions should not
	// pay for compiling the filters and their first use.
	if cfg.Screen.WarmActions > 0 && cfg.Screen.WarmTime > 0 {
		rep, err := engine.Warm(ctx, cfg.Screen.WarmActions, cfg.Screen.WarmTime)
		if err != nil {
			log.Warn("warm-up incomplete: the first actions will compile what is missing", "err", err)
		}
		log.Info("warmed up", "sets", rep.Sets, "actions", rep.Actions, "recent", rep.Recent, "ms", rep.Duration.Milliseconds())
	}
	// The start-up's compiles had huge pages (enableHugeHeap); from here the
	// heap keeps those it has and takes no more (see hugeheap.Settle).
	if err := hugeheap.Settle(); err != nil {
		log.Warn("heap huge pages", "err", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	handler := httpapi.NewServer(httpapi.Deps{Store: store, Engine: engine, Logger: log, Registry: reg})

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	// What a client can make the server hold is bounded: connections
	// (max_connections), the headers of each (64 KB; MediaWiki sends a
	// few hundred bytes), the time to send them, and bodies (only once
	// the token is checked; httpapi.MaxBodyBytes).
	ln = connlimit.Listen(ln, cfg.MaxConnections)
	// A filter test may wait its time limit for a slot, then run for as
	// long: its answer must still be written.
	writeTimeout := max(time.Minute, 2*cfg.Screen.TestTimeLimit+30*time.Second)
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
		WriteTimeout: writeTimeout, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	engineCtx, stopEngine := context.WithCancel(context.Background())
	engineDone := make(chan struct{})
	go func() { engine.Run(engineCtx); close(engineDone) }()
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	fmt.Fprintf(env.Stdout, "%shttp://%s\n", listeningPrefix, ln.Addr())
	log.Info("serving", "addr", ln.Addr().String(), "store", storeName(cfg))

	select {
	case err = <-serveErr:
	case <-ctx.Done():
		log.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		err = srv.Shutdown(sctx) // in-flight requests finish
		cancel()
	}
	stopEngine() // flushes statistics and the recent window, drains the spool
	<-engineDone
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

func storeName(cfg *config.Config) string {
	if cfg.DB != "" {
		return "postgres"
	}
	return "sqlite:" + filepath.Join(cfg.Data, "vigil.db")
}

// sampleFilters are the filters an empty store starts with, on the wiki
// "demowiki", so that a first run has something to screen with.
var sampleFilters = []vigil.Filter{
	{Name: "Casino and pharmacy spam", Pattern: `!("autoconfirmed" in user_groups) &
added_lines irlike "\b(online\s+casino|casino\s+bonus|cheap\s+(viagra|cialis))\b"`,
		Actions: map[string][]string{"disallow": {}, "tag": {"spam"}}},
	{Name: "Shouting", Pattern: `action == "edit" & added_lines rlike "[A-Z]{20,}"`,
		Actions: map[string][]string{"warn": {}, "tag": {"shouting"}}},
	{Name: "Link flood by new users", Pattern: `!("autoconfirmed" in user_groups) & count(added_links) > 3`,
		Actions: map[string][]string{"throttle": {"3", "2,300", "ip"}, "disallow": {}}},
	{Name: "Blanking a large page", Pattern: `action == "edit" & page_namespace == 0 & old_size > 1000 & new_size < 50 &
!("autoconfirmed" in user_groups)`,
		Actions: map[string][]string{"warn": {}}},
}

// seedSample fills an empty store: sample filters and an admin token,
// whose secret goes to <data>/admin-token (readable by the owner only),
// never to the logs.
func seedSample(ctx context.Context, store vigil.Store, data string, log *slog.Logger) error {
	filters, err := store.ListFilters(ctx, vigil.FilterQuery{IncludeDeleted: true})
	if err != nil {
		return err
	}
	tokens, err := store.ListTokens(ctx)
	if err != nil {
		return err
	}
	if len(filters) > 0 || len(tokens) > 0 {
		return nil
	}
	for i := range sampleFilters {
		f := sampleFilters[i]
		f.Wiki, f.Enabled = "demowiki", true
		if err := screen.CheckFilter(&f); err != nil {
			return fmt.Errorf("sample filter %q: %w", f.Name, err)
		}
		if err := store.CreateFilter(ctx, &f, "vigil", "sample filter"); err != nil {
			return err
		}
	}
	secret := httpapi.NewTokenSecret()
	tok := &vigil.Token{Name: "admin", Scopes: vigil.Scopes}
	if err := store.CreateToken(ctx, tok, httpapi.HashToken(secret)); err != nil {
		return err
	}
	if err := os.MkdirAll(data, 0o700); err != nil {
		return err
	}
	path := filepath.Join(data, "admin-token")
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return err
	}
	log.Info("empty store: sample filters and an admin token created", "wiki", "demowiki", "filters", len(sampleFilters),
		"token_file", path)
	return nil
}

func newTokenCmd(env Env) *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Manage service tokens (on the store directly)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() }}
	var sf storeFlags
	var name, scopes string
	create := &cobra.Command{
		Use:   "create --name NAME --scopes SCOPE[,SCOPE]",
		Short: "Create a service token and print its secret (shown once)",
		Long: `Create stores a new service token and prints its secret on standard output; only
its hash is kept. Scopes: ` + strings.Join(vigil.Scopes, ", ") + `.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(name) == "" {
				return errors.New("--name is required")
			}
			var list []string
			for _, s := range strings.Split(scopes, ",") {
				s = strings.TrimSpace(s)
				if s == "" {
					continue
				}
				ok := false
				for _, known := range vigil.Scopes {
					ok = ok || s == known
				}
				if !ok {
					return fmt.Errorf("--scopes: unknown scope %q; use %s", s, strings.Join(vigil.Scopes, ", "))
				}
				list = append(list, s)
			}
			if len(list) == 0 {
				return fmt.Errorf("--scopes is required: %s", strings.Join(vigil.Scopes, ", "))
			}
			return withStore(env, &sf, func(ctx context.Context, store vigil.Store) error {
				secret := httpapi.NewTokenSecret()
				if err := store.CreateToken(ctx, &vigil.Token{Name: name, Scopes: list}, httpapi.HashToken(secret)); err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), secret)
				return nil
			})(cmd, args)
		},
	}
	sf.register(create)
	create.Flags().StringVar(&name, "name", "", "the token's name (who uses it)")
	create.Flags().StringVar(&scopes, "scopes", "", "comma-separated scopes")
	cmd.AddCommand(create)

	var lsf storeFlags
	list := &cobra.Command{Use: "list", Short: "List service tokens (never their secrets)", Args: cobra.NoArgs}
	list.RunE = withStore(env, &lsf, func(ctx context.Context, store vigil.Store) error {
		tokens, err := store.ListTokens(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(list.OutOrStdout(), 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tSCOPES\tCREATED\tSTATE")
		for _, t := range tokens {
			state := "active"
			if t.Revoked {
				state = "revoked"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", t.ID, t.Name, strings.Join(t.Scopes, ","), t.Created.UTC().Format(time.RFC3339), state)
		}
		return tw.Flush()
	})
	lsf.register(list)
	cmd.AddCommand(list)
	var rsf storeFlags
	revoke := &cobra.Command{Use: "revoke ID", Short: "Revoke a service token (running servers notice within 10 s)", Args: cobra.ExactArgs(1)}
	revoke.RunE = func(cmd *cobra.Command, args []string) error {
		id, err := strconv.ParseInt(args[0], 10, 64)
		if err != nil || id <= 0 {
			return fmt.Errorf("ID: a token id from vigil token list, not %q", args[0])
		}
		return withStore(env, &rsf, func(ctx context.Context, store vigil.Store) error {
			return store.RevokeToken(ctx, id)
		})(cmd, args)
	}
	rsf.register(revoke)
	cmd.AddCommand(revoke)
	return cmd
}

// withStore runs a command on the store the flags name, and closes it.
func withStore(env Env, sf *storeFlags, run func(ctx context.Context, store vigil.Store) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		cfg, err := sf.load(env, nil)
		if err != nil {
			return err
		}
		store, err := openStore(cmd.Context(), cfg)
		if err != nil {
			return err
		}
		defer store.Close()
		return run(cmd.Context(), store)
	}
}

// enableHugeHeap puts the heap on huge pages (hugeheap.Enable) in the
// commands that compile whole filter sets in a fresh process: on machines
// where page faults are dear that halved a first compile. The commands that
// compile nothing large do without: mapping and freeing the probe costs a
// fresh process about 6 ms (vigil rules eval: 35–42 against 29–32 ms).
// Failing, it changes nothing.
func enableHugeHeap() { hugeheap.Enable() }

// startCPUProfile starts profiling the process's CPU into a new file at
// path (cpu_profile); the returned function ends the profile and closes
// the file.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("configuration: cpu_profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("configuration: cpu_profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
