package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigilwiki/vigil"
	"github.com/vigilwiki/vigil/follow"
	"github.com/vigilwiki/vigil/screen"
)

// followOptions are the flags of vigil follow and vigil replay.
type followOptions struct {
	cf       clientFlags
	source   string // eventstreams, rcfeed, api
	url      string // the stream's URL
	listen   string // the RC feed's UDP address
	api      string // the wiki's Action API
	wikis    string
	as       string
	state    string
	noFetch  bool
	contact  string
	rate     float64
	logLevel string
	skipBad  bool
	since    string
	hosts    string
	from     string
}

// wikimediaHosts are the domains of Wikimedia's wikis, which EventStreams
// events name: the hosts vigil follow fetches from by default.
const wikimediaHosts = "wikipedia.org,wikimedia.org,wiktionary.org,wikibooks.org,wikinews.org,wikiquote.org," +
	"wikisource.org,wikiversity.org,wikivoyage.org,wikidata.org,mediawiki.org,wikifunctions.org"

func (o *followOptions) register(cmd *cobra.Command) {
	o.cf.register(cmd)
	f := cmd.Flags()
	f.StringVar(&o.api, "api", "", "the wiki's Action API (e.g. https://en.wikipedia.org/w/api.php): what --source api polls, and the one place texts and user facts are fetched from")
	f.StringVar(&o.wikis, "wikis", "", "comma-separated wiki ids to keep (default: all)")
	f.StringVar(&o.as, "as", "", "screen every action as this wiki id (when Vigil knows the wiki under another name)")
	f.StringVar(&o.state, "state", "", "file that keeps the position, to resume after a restart")
	f.BoolVar(&o.noFetch, "no-fetch", false, "do not fetch from the wiki's API: filters then see only what events carry (no wikitexts, no user facts, and no page id where the event has none, so such pages read as new)")
	f.StringVar(&o.contact, "contact", "", "a contact (e-mail or URL) for the User-Agent, as Wikimedia's API etiquette asks")
	f.Float64Var(&o.rate, "rate", 5, "API requests per second to each wiki, at most")
	f.StringVar(&o.hosts, "fetch-hosts", "", "without --api: the hosts (https, with subdomains) whose wikis may be asked for texts, comma-separated; default Wikimedia's domains for --source eventstreams, none otherwise (an event must not choose where Vigil sends requests)")
	f.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
}

func newFollowCmd(env Env) *cobra.Command {
	var o followOptions
	cmd := &cobra.Command{
		Use:   "follow --source eventstreams|rcfeed|api",
		Short: "Screen a wiki's changes from outside, after the fact (log-only)",
		Long: `Follow reads a wiki's recent changes and screens each edit, move, deletion,
upload and account creation with a running Vigil in observe mode
(POST /v1/screen?mode=observe): matches go to the abuse log with what the
filters would have done; nothing is enforced. It fetches what the filters
need (old and new wikitext, the user's groups and edit count) from the
wiki's Action API, batched, cached and rate-limited.

Each screened action that filters matched is also written to standard output
as one JSON line (an alert: wiki, action, performer, page, and per filter
what it would have done and its abuse-log entry), for a notifier to read.

Sources:
  --source eventstreams --url URL   Wikimedia EventStreams (SSE), e.g.
        https://stream.wikimedia.org/v2/stream/recentchange; reconnects with
        Last-Event-ID and resumes from --state after a restart
  --source rcfeed --listen ADDR     MediaWiki's RC feed over UDP
        ($wgRCFeeds with JSONRCFeedFormatter)
  --source api --api URL            polls list=recentchanges; resumes from --state

While Vigil is unreachable, events wait (the position does not move);
an action Vigil refuses as invalid is logged and skipped.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runFollow(cmd.Context(), env, &o, nil)
		},
	}
	o.register(cmd)
	cmd.Flags().StringVar(&o.source, "source", "", "eventstreams, rcfeed or api")
	cmd.Flags().StringVar(&o.url, "url", "", "the EventStreams URL (--source eventstreams)")
	cmd.Flags().StringVar(&o.listen, "listen", "127.0.0.1:9391", "UDP address of the RC feed (--source rcfeed)")
	cmd.Flags().StringVar(&o.from, "from", "", "--source rcfeed: networks datagrams may come from, comma-separated CIDRs (default loopback)")
	cmd.Flags().StringVar(&o.since, "since", "", "--source api without a saved position: start this long ago (e.g. 1h) or at this time (RFC 3339); default now")
	return cmd
}

func newReplayCmd(env Env) *cobra.Command {
	var o followOptions
	cmd := &cobra.Command{
		Use:   "replay FILE",
		Short: "Screen recorded wiki changes (JSONL of recentchange events), log-only",
		Long: `Replay reads recorded recent changes, one JSON event a line (the
mediawiki/recentchange schema, as EventStreams or the RC feed send them),
and screens them as vigil follow does. Errors name the line; --state
resumes a replay where it stopped.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.source = "file"
			return runFollow(cmd.Context(), env, &o, args)
		},
	}
	o.register(cmd)
	cmd.Flags().BoolVar(&o.skipBad, "skip-bad", false, "log and skip lines that are not events, instead of stopping")
	return cmd
}

// followState is what --state keeps.
type followState struct {
	Source   string `json:"source"`
	Position string `json:"position"`
}

func runFollow(ctx context.Context, env Env, o *followOptions, args []string) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewJSONHandler(env.Stderr, &slog.HandlerOptions{Level: level}))
	c, err := client(env, o.cf.server, o.cf.token)
	if err != nil {
		return err
	}
	var wikis []string
	for _, w := range strings.Split(o.wikis, ",") {
		if w = strings.TrimSpace(w); w != "" {
			wikis = append(wikis, w)
		}
	}
	var resume string
	if o.state != "" {
		b, err := os.ReadFile(o.state)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return fmt.Errorf("--state: %w", err)
		default:
			var st followState
			if err := json.Unmarshal(b, &st); err != nil {
				return fmt.Errorf("--state %s: not a state file: %w", o.state, err)
			}
			if st.Source == o.source {
				resume = st.Position
			}
		}
	}
	ua := follow.UserAgent(version, o.contact)

	var src follow.Source
	switch o.source {
	case "eventstreams":
		if o.url == "" {
			return errors.New("--source eventstreams needs --url")
		}
		src, err = follow.NewEventStreams(follow.StreamConfig{URL: o.url, Wikis: wikis, LastEventID: resume, UserAgent: ua, Logger: log})
	case "rcfeed":
		var feed *follow.RCFeed
		var from []netip.Prefix
		for _, c := range strings.Split(o.from, ",") {
			if c = strings.TrimSpace(c); c == "" {
				continue
			}
			p, perr := netip.ParsePrefix(c)
			if perr != nil {
				return fmt.Errorf("--from: %q is not a CIDR range", c)
			}
			from = append(from, p)
		}
		feed, err = follow.ListenRCFeed(follow.RCFeedConfig{Addr: o.listen, Wikis: wikis, From: from, Logger: log})
		if err == nil {
			defer feed.Close()
			log.Info("listening to the RC feed", "addr", feed.Addr().String())
			src = feed
		}
	case "api":
		if o.api == "" {
			return errors.New("--source api needs --api URL")
		}
		var start time.Time
		if o.since != "" {
			if d, derr := time.ParseDuration(o.since); derr == nil && d >= 0 {
				start = time.Now().Add(-d)
			} else if t, terr := time.Parse(time.RFC3339, o.since); terr == nil {
				start = t
			} else {
				return fmt.Errorf("--since: a duration (1h) or an RFC 3339 time, not %q", o.since)
			}
		}
		src, err = follow.NewPoller(follow.PollerConfig{APIURL: o.api, After: resume, Start: start, UserAgent: ua, Logger: log})
	case "file":
		src, err = follow.NewFile(args[0], follow.FileConfig{Wikis: wikis, After: resume, SkipBad: o.skipBad, Logger: log})
	case "":
		return errors.New("--source is required: eventstreams, rcfeed or api")
	default:
		return fmt.Errorf("--source: eventstreams, rcfeed or api, not %q", o.source)
	}
	if err != nil {
		return err
	}

	hosts := o.hosts
	if hosts == "" && o.source == "eventstreams" {
		hosts = wikimediaHosts
	}
	var fetchHosts []string
	for _, h := range strings.Split(hosts, ",") {
		if h = strings.TrimSpace(h); h != "" {
			fetchHosts = append(fetchHosts, h)
		}
	}
	if !o.noFetch && o.api == "" && len(fetchHosts) == 0 {
		log.Warn("no --api and no --fetch-hosts: nothing will be fetched; filters see only what the events carry")
	}
	obs := follow.NewObserver(follow.ObserverConfig{
		Screen: func(ctx context.Context, a *vigil.Action) error {
			v, err := c.Observe(ctx, a)
			if err != nil {
				return err
			}
			if len(v.Matches) > 0 {
				alert(env, a, v)
			}
			return nil
		},
		Wiki: o.as, Fetch: !o.noFetch, APIURL: o.api, FetchHosts: fetchHosts, Logger: log,
		Fetcher: follow.FetcherConfig{Rate: o.rate, UserAgent: ua, Logger: log},
	})
	err = src.Run(ctx, func(ctx context.Context, ev follow.Event) error {
		if err := obs.Handle(ctx, ev); err != nil {
			return err
		}
		if o.state != "" && ev.Position != "" {
			if err := writeState(o.state, followState{Source: o.source, Position: ev.Position}); err != nil {
				return err
			}
		}
		return nil
	})
	// Standard output is the alerts' JSON lines, for a notifier to read.
	fmt.Fprintf(env.Stderr, "screened %d actions, skipped %d changes, %d refused as invalid\n", obs.Screened, obs.Skipped, obs.Failed)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// alert writes one JSON line on standard output for an observed action
// that filters matched, for a notifier to read (vigil follow | ...); the
// full entries are in the abuse log.
func alert(env Env, a *vigil.Action, v *screen.Verdict) {
	type match struct {
		Filter  int64    `json:"filter"`
		Name    string   `json:"name"`
		Actions []string `json:"would"`
		LogID   int64    `json:"log_id"`
	}
	out := struct {
		Time      time.Time `json:"time"`
		Wiki      string    `json:"wiki"`
		Action    string    `json:"action"`
		Performer string    `json:"performer"`
		Page      string    `json:"page,omitempty"`
		Matches   []match   `json:"matches"`
	}{Time: a.Time, Wiki: a.Wiki, Action: a.Action, Performer: a.Performer.Name}
	if a.Page != nil {
		out.Page = a.Page.Title
	}
	for _, m := range v.Matches {
		out.Matches = append(out.Matches, match{Filter: m.ID, Name: m.Description, Actions: m.Actions, LogID: m.LogID})
	}
	b, _ := json.Marshal(out)
	env.Stdout.Write(append(b, '\n'))
}

// writeState replaces the state file atomically and durably: a crash
// leaves the old position or the new one, never half of either.
func writeState(path string, st followState) error {
	b, _ := json.Marshal(st)
	tmp, err := os.CreateTemp(filepath.Dir(path), ".state-*")
	if err != nil {
		return fmt.Errorf("state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("state: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("state: %w", err)
	}
	return os.Rename(tmp.Name(), path)
}
