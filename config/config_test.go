package config

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDocumentedExample loads the YAML example of docs/configuration.md,
// so that the documentation stays true, and checks that the environment
// overrides the file and flags override the environment.
func TestDocumentedExample(t *testing.T) {
	doc, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("no yaml example in docs/configuration.md")
	}
	path := filepath.Join(t.TempDir(), "vigil.yaml")
	os.WriteFile(path, m[1], 0o600)
	env := []string{"VIGIL_LOG_LEVEL=debug", "VIGIL_SCREEN__COND_LIMIT=500", "VIGIL_TOKEN=secret", "HOME=/root"}
	c, err := Load(path, func(string) string { return "" }, env, map[string]any{"listen": "127.0.0.1:9999"})
	if err != nil {
		t.Fatal(err)
	}
	if c.LogLevel != "debug" || c.Screen.CondLimit != 500 || c.Listen != "127.0.0.1:9999" || c.Data != "/var/lib/vigil" ||
		c.Screen.Budget != 50*time.Millisecond || c.Recent.MaxAge != 72*time.Hour || c.Recent.MaxActions != 100000 ||
		c.Sample || !strings.HasPrefix(c.DB, "postgres://") || c.GCPercent != 200 || c.LogProtectedMaxAge != 720*time.Hour {
		t.Fatalf("loaded %+v", c)
	}
	fr := c.Wikis["frwiki"]
	if fr.Language != "fr" || fr.Sitename != "Wikipédia" || fr.Namespaces[2] != "Utilisateur" || fr.Namespaces[10] != "Modèle" {
		t.Fatalf("frwiki: %+v", fr)
	}
}

func TestRefused(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		env   []string
		flags map[string]any
		want  string
	}{
		{"unknown key in the file", "listen: 127.0.0.1:1\nscreen:\n  cond_limt: 5\n", nil, nil, `unknown setting "screen.cond_limt"`},
		{"unknown variable", "", []string{"VIGIL_LISTN=x"}, nil, `unknown setting "listn"`},
		{"bad level", "log_level: loud\n", nil, nil, "log_level"},
		{"bad duration", "screen:\n  budget: soon\n", nil, nil, "budget"},
		{"zero budget", "screen:\n  budget: 0s\n", nil, nil, "screen.budget"},
		{"not postgres", "", nil, map[string]any{"db": "mysql://x"}, "db: a postgres:// URL"},
		{"threshold", "screen:\n  emergency_threshold: 2\n", nil, nil, "emergency_threshold"},
		{"negative window", "recent:\n  max_actions: -1\n", nil, nil, "recent.max_actions"},
		{"no pace", "recent:\n  max_per_second: 0\n", nil, nil, "recent.max_per_second"},
		{"negative warm-up", "screen:\n  warm_actions: -5\n", nil, nil, "screen.warm_actions"},
		{"negative warm-up time", "", []string{"VIGIL_SCREEN__WARM_TIME=-1s"}, nil, "screen.warm_time"},
		{"collector too eager", "gc_percent: 10\n", nil, nil, "gc_percent: at least 50"},
		{"negative timer slack", "timer_slack: -1us\n", nil, nil, "timer_slack: between 0 and 10ms, not -1µs"},
		{"timer slack too long", "", []string{"VIGIL_TIMER_SLACK=20ms"}, nil, "timer_slack: between 0 and 10ms, not 20ms"},
		{"no connections", "", []string{"VIGIL_MAX_CONNECTIONS=0"}, nil, "max_connections: at least 1, not 0"},
		{"no test time", "screen:\n  test_time_limit: 0s\n", nil, nil, "screen.test_time_limit: a positive duration"},
		{"negative retention", "log_protected_max_age: -1h\n", nil, nil, "log_protected_max_age: 0 (for ever) or a positive duration"},
		{"retention too short", "", []string{"VIGIL_LOG_PROTECTED_MAX_AGE=5m"}, nil, "log_protected_max_age: at least 1h"},
		{"listen without a port", "listen: 127.0.0.1\n", nil, nil, `listen: host:port, such as 127.0.0.1:8780, not "127.0.0.1"`},
		{"listen on a port too high", "", []string{"VIGIL_LISTEN=127.0.0.1:99999"}, nil, "the port is a number from 0 to 65535"},
		{"listen on a port that is no number", "", nil, map[string]any{"listen": ":eighty"}, `listen: ":eighty"`},
		{"window outlives retention", "log_protected_max_age: 48h\n", nil, nil, "recent.max_age: 168h0m0s would keep IP addresses"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.yaml != "" {
				path = filepath.Join(t.TempDir(), "c.yaml")
				os.WriteFile(path, []byte(tt.yaml), 0o600)
			}
			_, err := Load(path, func(string) string { return "" }, tt.env, tt.flags)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
	if _, err := Load("/nonexistent/vigil.yaml", func(string) string { return "" }, nil, nil); err == nil {
		t.Fatal("a missing config file is accepted")
	}
}

// TestProtectedRetention: 90 days unless set; 0 keeps protected data for
// ever, which the engine spells as a negative age.
func TestProtectedRetention(t *testing.T) {
	for _, tt := range []struct {
		env  []string
		want time.Duration
	}{
		{nil, 90 * 24 * time.Hour},
		{[]string{"VIGIL_LOG_PROTECTED_MAX_AGE=720h"}, 720 * time.Hour},
		{[]string{"VIGIL_LOG_PROTECTED_MAX_AGE=0"}, -1},
	} {
		c, err := Load("", func(string) string { return "" }, tt.env, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Engine().ProtectedMaxAge; got != tt.want {
			t.Errorf("%v: engine's ProtectedMaxAge %v, want %v", tt.env, got, tt.want)
		}
	}
}
