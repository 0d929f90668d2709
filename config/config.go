// Package config reads Vigil's configuration: defaults, then a YAML file,
// then VIGIL_* environment variables, then command-line flags, each
// overriding the one before.
package config

import (
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/v2"

	"github.com/vigilwiki/vigil/screen"
)

// Config is all of Vigil's settings. docs/configuration.md lists them.
type Config struct {
	// Listen is the HTTP address.
	Listen string `koanf:"listen"`
	// MaxConnections bounds the HTTP connections open at once; beyond it,
	// new ones wait in the kernel's queue until one closes.
	MaxConnections int `koanf:"max_connections"`
	// Data is the data directory: the SQLite database (when DB is empty),
	// the spool, the bootstrap token.
	Data string `koanf:"data"`
	// DB is a PostgreSQL URL (postgres://...); empty: SQLite in Data.
	DB       string `koanf:"db"`
	LogLevel string `koanf:"log_level"` // debug, info, warn, error
	// Sample seeds an empty store with sample filters and an admin token.
	Sample bool `koanf:"sample"`
	// ShutdownTimeout bounds a graceful shutdown.
	ShutdownTimeout time.Duration `koanf:"shutdown_timeout"`
	// GCPercent is the garbage collector's GOGC for `vigil serve`, unless
	// the GOGC environment variable sets it.
	GCPercent int `koanf:"gc_percent"`
	// LogJournal writes the abuse log through a journal in Data (SQLite
	// only): see sqlstore.Store.UseLogJournal.
	LogJournal bool `koanf:"log_journal"`
	// LogProtectedMaxAge is how long the abuse log keeps an entry's IP
	// address, user agent and protected variables (AbuseFilter's
	// $wgAbuseFilterLogIPMaxAge); 0: for ever.
	LogProtectedMaxAge time.Duration `koanf:"log_protected_max_age"`
	// CPUProfile, when set, is a file that `vigil serve` writes a CPU
	// profile of its whole run to (pprof format), when it stops.
	CPUProfile string `koanf:"cpu_profile"`
	// TimerSlack is the timer slack `vigil serve` runs with, on Linux (see
	// docs/configuration.md); 0 leaves the one it was started with.
	TimerSlack time.Duration `koanf:"timer_slack"`

	Screen ScreenConfig                 `koanf:"screen"`
	Recent RecentConfig                 `koanf:"recent"`
	Wikis  map[string]screen.WikiConfig `koanf:"wikis"`
}

// ScreenConfig tunes screening (see screen.Config).
type ScreenConfig struct {
	CondLimit          int           `koanf:"cond_limit"`
	Budget             time.Duration `koanf:"budget"`
	EmergencyThreshold float64       `koanf:"emergency_threshold"`
	EmergencyCount     int64         `koanf:"emergency_count"`
	EmergencyAge       time.Duration `koanf:"emergency_age"`
	WarnTTL            time.Duration `koanf:"warn_ttl"`
	ProfileEvery       int           `koanf:"profile_every"`
	SlowFilter         time.Duration `koanf:"slow_filter"`
	// WarmActions is how many actions each filter set runs over at start,
	// before the server listens (0: none); WarmTime bounds the whole
	// warm-up. See screen.Engine.Warm.
	WarmActions int           `koanf:"warm_actions"`
	WarmTime    time.Duration `koanf:"warm_time"`
	// TestTimeLimit bounds one filter test (POST /v1/filters/test).
	TestTimeLimit time.Duration `koanf:"test_time_limit"`
}

// RecentConfig is the window of recent actions for testing filters.
type RecentConfig struct {
	MaxAge     time.Duration `koanf:"max_age"`
	MaxActions int           `koanf:"max_actions"`
	Disabled   bool          `koanf:"disabled"`
	KeepAll    bool          `koanf:"keep_all"`
	// MaxPerSecond caps the actions a second that go into the window.
	MaxPerSecond float64 `koanf:"max_per_second"`
}

// Defaults are the settings without a file, environment or flags.
func Defaults() map[string]any {
	return map[string]any{
		"listen":                     "127.0.0.1:8780",
		"max_connections":            4096,
		"data":                       "./vigil-data",
		"log_level":                  "info",
		"sample":                     true,
		"shutdown_timeout":           "15s",
		"gc_percent":                 200,
		"log_journal":                true,
		"log_protected_max_age":      "2160h",
		"cpu_profile":                "",
		"timer_slack":                "500us",
		"screen.cond_limit":          1000,
		"screen.budget":              "100ms",
		"screen.emergency_threshold": 0.05,
		"screen.emergency_count":     2,
		"screen.emergency_age":       "24h",
		"screen.warn_ttl":            "24h",
		"screen.profile_every":       8,
		"screen.slow_filter":         "500ms",
		"screen.test_time_limit":     "30s",
		"screen.warm_actions":        1000,
		"screen.warm_time":           "10s",
		"recent.max_age":             "168h",
		"recent.max_actions":         100000,
		"recent.disabled":            false,
		"recent.keep_all":            false,
		"recent.max_per_second":      5,
	}
}

// Load reads the configuration. path may be empty (no file); getenv reads
// the environment; flags are the command-line settings given.
func Load(path string, getenv func(string) string, environ []string, flags map[string]any) (*Config, error) {
	k := koanf.New(".")
	if err := k.Load(confmap.Provider(Defaults(), "."), nil); err != nil {
		return nil, err
	}
	if path == "" {
		path = getenv("VIGIL_CONFIG")
	}
	if path != "" {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("config file: %w", err)
		}
		if err := k.Load(file.Provider(path), yaml.Parser()); err != nil {
			return nil, fmt.Errorf("config file %s: %w", path, err)
		}
	}
	// VIGIL_SCREEN__COND_LIMIT=500 sets screen.cond_limit.
	env := map[string]any{}
	for _, kv := range environ {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, "VIGIL_") || name == "VIGIL_CONFIG" || strings.HasPrefix(name, "VIGIL_TEST") || name == "VIGIL_RESTARTED" ||
			name == "VIGIL_TOKEN" || name == "VIGIL_URL" {
			continue
		}
		key := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(name, "VIGIL_"), "__", "."))
		env[key] = val
	}
	if err := k.Load(confmap.Provider(env, "."), nil); err != nil {
		return nil, err
	}
	if err := k.Load(confmap.Provider(flags, "."), nil); err != nil {
		return nil, err
	}
	var c Config
	if err := k.UnmarshalWithConf("", &c, koanf.UnmarshalConf{Tag: "koanf"}); err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	for _, key := range k.Keys() {
		if !known(key) {
			return nil, fmt.Errorf("configuration: unknown setting %q", key)
		}
	}
	return &c, c.validate()
}

// known reports whether a key is a setting.
func known(key string) bool {
	if strings.HasPrefix(key, "wikis.") {
		return true
	}
	_, ok := Defaults()[key]
	return ok || key == "db"
}

func (c *Config) validate() error {
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("configuration: log_level: one of debug, info, warn, error, not %q", c.LogLevel)
	}
	if err := checkListen(c.Listen); err != nil {
		return err
	}
	switch {
	case c.MaxConnections < 1:
		return fmt.Errorf("configuration: max_connections: at least 1, not %d", c.MaxConnections)
	case c.DB == "" && c.Data == "":
		return fmt.Errorf("configuration: data: required when db is not set")
	case c.DB != "" && !strings.HasPrefix(c.DB, "postgres://") && !strings.HasPrefix(c.DB, "postgresql://"):
		return fmt.Errorf("configuration: db: a postgres:// URL")
	case c.GCPercent < 50:
		return fmt.Errorf("configuration: gc_percent: at least 50, not %d", c.GCPercent)
	case c.TimerSlack < 0 || c.TimerSlack > 10*time.Millisecond:
		return fmt.Errorf("configuration: timer_slack: between 0 and 10ms, not %s", c.TimerSlack)
	case c.LogProtectedMaxAge < 0:
		return fmt.Errorf("configuration: log_protected_max_age: 0 (for ever) or a positive duration, not %s", c.LogProtectedMaxAge)
	case c.LogProtectedMaxAge > 0 && c.LogProtectedMaxAge < time.Hour:
		return fmt.Errorf("configuration: log_protected_max_age: at least 1h (or 0 for ever), not %s", c.LogProtectedMaxAge)
	case c.LogProtectedMaxAge > 0 && !c.Recent.Disabled && c.Recent.MaxAge > c.LogProtectedMaxAge:
		return fmt.Errorf("configuration: recent.max_age: %s would keep IP addresses and user agents longer than log_protected_max_age (%s)",
			c.Recent.MaxAge, c.LogProtectedMaxAge)
	case c.Screen.CondLimit < 1:
		return fmt.Errorf("configuration: screen.cond_limit: at least 1")
	case c.Screen.Budget <= 0:
		return fmt.Errorf("configuration: screen.budget: a positive duration")
	case c.Screen.EmergencyThreshold <= 0 || c.Screen.EmergencyThreshold > 1:
		return fmt.Errorf("configuration: screen.emergency_threshold: between 0 and 1")
	case c.Screen.WarmActions < 0:
		return fmt.Errorf("configuration: screen.warm_actions: 0 or more")
	case c.Screen.WarmTime < 0:
		return fmt.Errorf("configuration: screen.warm_time: 0 or a positive duration")
	case c.Screen.TestTimeLimit <= 0:
		return fmt.Errorf("configuration: screen.test_time_limit: a positive duration")
	case c.Screen.ProfileEvery < 1:
		return fmt.Errorf("configuration: screen.profile_every: at least 1")
	case c.Recent.MaxPerSecond <= 0:
		return fmt.Errorf("configuration: recent.max_per_second: more than 0")
	case c.Recent.MaxActions < 0:
		return fmt.Errorf("configuration: recent.max_actions: not negative")
	}
	return nil
}

// checkListen refuses a listen address that net.Listen would refuse for
// its form, now rather than after the start-up's warm-up. (An address in
// use is still found only when the server listens.)
func checkListen(addr string) error {
	if addr == "" {
		return fmt.Errorf("configuration: listen: required")
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("configuration: listen: host:port, such as 127.0.0.1:8780, not %q", addr)
	}
	if _, err := net.LookupPort("tcp", port); err != nil {
		return fmt.Errorf("configuration: listen: %q: the port is a number from 0 to 65535", addr)
	}
	return nil
}

// Engine returns the screening settings.
func (c *Config) Engine() screen.Config {
	protected := c.LogProtectedMaxAge
	if protected == 0 {
		protected = -1 // the engine's "for ever"
	}
	return screen.Config{ProtectedMaxAge: protected, CondLimit: c.Screen.CondLimit, Budget: c.Screen.Budget, EmergencyThreshold: c.Screen.EmergencyThreshold,
		EmergencyCount: c.Screen.EmergencyCount, EmergencyAge: c.Screen.EmergencyAge, WarnTTL: c.Screen.WarnTTL,
		ProfileEvery: c.Screen.ProfileEvery, SlowFilter: c.Screen.SlowFilter, TestTimeLimit: c.Screen.TestTimeLimit, Wikis: c.Wikis}
}
