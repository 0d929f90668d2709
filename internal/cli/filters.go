package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigilwiki/vigil"
	"github.com/vigilwiki/vigil/abusefilter"
	"github.com/vigilwiki/vigil/follow"
	"github.com/vigilwiki/vigil/httpapi"
	"github.com/vigilwiki/vigil/screen"
)

// client returns the API client the environment describes: VIGIL_URL
// (default http://127.0.0.1:8780) and VIGIL_TOKEN.
func client(env Env, server, token string) (*httpapi.Client, error) {
	if server == "" {
		server = env.Getenv("VIGIL_URL")
	}
	if server == "" {
		server = "http://127.0.0.1:8780"
	}
	if token == "" {
		token = env.Getenv("VIGIL_TOKEN")
	}
	if token == "" {
		return nil, errors.New("give a service token: --token or VIGIL_TOKEN (a new server writes one to <data>/admin-token)")
	}
	return &httpapi.Client{BaseURL: strings.TrimRight(server, "/"), Token: strings.TrimSpace(token)}, nil
}

type clientFlags struct{ server, token string }

func (f *clientFlags) register(cmd *cobra.Command) {
	cmd.PersistentFlags().StringVar(&f.server, "server", "", "Vigil's URL (default $VIGIL_URL or http://127.0.0.1:8780)")
	cmd.PersistentFlags().StringVar(&f.token, "token", "", "service token (default $VIGIL_TOKEN)")
}

func parseID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("not a filter id: %q", s)
	}
	return id, nil
}

func newFiltersCmd(env Env) *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{Use: "filters", Short: "Manage filters on a running Vigil", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() }}
	cf.register(cmd)

	var wiki string
	var all bool
	list := &cobra.Command{Use: "list [--wiki W]", Short: "List filters", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client(env, cf.server, cf.token)
			if err != nil {
				return err
			}
			filters, err := c.ListFilters(cmd.Context(), wiki, all)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tWIKI\tSTATE\tVERSION\tNAME")
			for _, f := range filters {
				state := "disabled"
				switch {
				case f.Deleted:
					state = "deleted"
				case f.Enabled && f.LogOnly:
					state = "log-only"
				case f.Enabled:
					state = "enabled"
				}
				fmt.Fprintf(w, "%d\t%s\t%s\t%d\t%s\n", f.ID, f.Wiki, state, f.Version, f.Name)
			}
			return w.Flush()
		}}
	list.Flags().StringVar(&wiki, "wiki", "", "only this wiki's filters")
	list.Flags().BoolVar(&all, "all", false, "include deleted filters")

	show := &cobra.Command{Use: "show ID", Short: "Show a filter as JSON", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID(args[0])
			if err != nil {
				return err
			}
			c, err := client(env, cf.server, cf.token)
			if err != nil {
				return err
			}
			f, err := c.Filter(cmd.Context(), id)
			if err != nil {
				return err
			}
			return writeJSON(cmd.OutOrStdout(), f)
		}}

	history := &cobra.Command{Use: "history ID", Short: "Show a filter's versions", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID(args[0])
			if err != nil {
				return err
			}
			c, err := client(env, cf.server, cf.token)
			if err != nil {
				return err
			}
			vs, err := c.FilterHistory(cmd.Context(), id)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 4, 2, ' ', 0)
			fmt.Fprintln(w, "VERSION\tTIME\tAUTHOR\tENABLED\tSUMMARY")
			for _, v := range vs {
				fmt.Fprintf(w, "%d\t%s\t%s\t%v\t%s\n", v.Filter.Version, v.Time.Format("2006-01-02 15:04:05"), v.Author, v.Filter.Enabled, v.Summary)
			}
			return w.Flush()
		}}

	state := func(op string) *cobra.Command {
		var summary string
		c := &cobra.Command{Use: op + " ID", Short: strings.ToUpper(op[:1]) + op[1:] + " a filter (a new version)", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				id, err := parseID(args[0])
				if err != nil {
					return err
				}
				c, err := client(env, cf.server, cf.token)
				if err != nil {
					return err
				}
				f, err := c.SetFilterState(cmd.Context(), id, op, summary)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "filter %d: version %d, enabled %v\n", f.ID, f.Version, f.Enabled)
				return nil
			}}
		c.Flags().StringVar(&summary, "summary", "", "why")
		return c
	}

	var importWiki, fromWiki, botUser, botPasswordFile string
	var enable, logOnly bool
	imp := &cobra.Command{
		Use:   "import FILE|- | import --from-wiki API_URL",
		Short: "Import filters from AbuseFilter (database rows as JSONL, or its export JSON)",
		Long: `Import reads AbuseFilter filters and saves each as a new Vigil filter:
  - JSONL of abuse_filter rows ({"wiki", "af_id", "pattern", "actions", ...}, as
    real-filters.jsonl): the wiki comes from each row; rows do not hold the
    actions' parameters, so a throttle gets AbuseFilter's default limits
    (3 actions in 60 s, per user) and tag is left out, both reported;
  - AbuseFilter's export JSON ({"data": ..., "actions": ...}), one per line or
    alone: give --wiki;
  - --from-wiki https://example.org/w/api.php: a live wiki's filters
    (list=abusefilters), with their actions' parameters read from each
    filter's export; --bot-user Name@app logs in with a bot password (from
    --bot-password-file or VIGIL_WIKI_PASSWORD) to see hidden filters. The
    filters go to the wiki's own id unless --wiki says otherwise.
A filter that does not pass the checks (a rule that does not compile) is
reported and skipped; the others are saved.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client(env, cf.server, cf.token)
			if err != nil {
				return err
			}
			switch {
			case fromWiki != "" && len(args) > 0:
				return errors.New("give a FILE or --from-wiki, not both")
			case fromWiki != "":
				return importFromWiki(cmd, env, c, fromWiki, botUser, botPasswordFile, importWiki, enable, logOnly)
			case len(args) == 0:
				return errors.New("give a FILE (- for standard input) or --from-wiki API_URL")
			}
			var r io.Reader = cmd.InOrStdin()
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer f.Close()
				r = f
			}
			return importFilters(cmd, c, r, importWiki, enable, logOnly)
		}}
	imp.Flags().StringVar(&importWiki, "wiki", "", "the wiki of exported filters (and of rows without one)")
	imp.Flags().BoolVar(&enable, "enable", false, "import every filter enabled, even rows marked disabled or deleted")
	imp.Flags().BoolVar(&logOnly, "log-only", false, "import as log-only filters: they log what they would do, and do nothing")
	imp.Flags().StringVar(&fromWiki, "from-wiki", "", "a wiki's api.php: import its filters")
	imp.Flags().StringVar(&botUser, "bot-user", "", "with --from-wiki: log in as this bot password user (Name@app)")
	imp.Flags().StringVar(&botPasswordFile, "bot-password-file", "", "the bot password, in a file (default $VIGIL_WIKI_PASSWORD)")

	var exportWiki string
	exp := &cobra.Command{Use: "export --wiki W", Short: "Export a wiki's filters in AbuseFilter's export JSON, one per line",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if exportWiki == "" {
				return errors.New("--wiki is required")
			}
			c, err := client(env, cf.server, cf.token)
			if err != nil {
				return err
			}
			filters, err := c.ListFilters(cmd.Context(), exportWiki, false)
			if err != nil {
				return err
			}
			for _, f := range filters {
				if err := writeJSON(cmd.OutOrStdout(), abusefilter.ToExport(f)); err != nil {
					return err
				}
			}
			return nil
		}}
	exp.Flags().StringVar(&exportWiki, "wiki", "", "the wiki whose filters to export")

	cmd.AddCommand(list, show, history, state("enable"), state("disable"), state("delete"), imp, exp, newFilterTestCmd(env, &cf))
	return cmd
}

func importFilters(cmd *cobra.Command, c *httpapi.Client, r io.Reader, wiki string, enable, logOnly bool) error {
	data, err := io.ReadAll(io.LimitReader(r, 256<<20))
	if err != nil {
		return err
	}
	var lines [][]byte
	trimmed := bytes.TrimSpace(data)
	if bytes.HasPrefix(trimmed, []byte("{")) && json.Valid(trimmed) {
		lines = [][]byte{trimmed}
	} else {
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 64<<20)
		for sc.Scan() {
			lines = append(lines, bytes.Clone(sc.Bytes()))
		}
		if err := sc.Err(); err != nil {
			return err
		}
	}
	var tally importTally
	out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
	for n, line := range lines {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		var probe map[string]json.RawMessage
		if err := json.Unmarshal(line, &probe); err != nil {
			return fmt.Errorf("line %d: not JSON: %v", n+1, err)
		}
		var f *vigil.Filter
		label := fmt.Sprintf("line %d", n+1)
		if _, isExport := probe["data"]; isExport {
			if wiki == "" {
				return fmt.Errorf("line %d: AbuseFilter export JSON has no wiki: give --wiki", n+1)
			}
			if f, err = abusefilter.FromExport(line, wiki); err != nil {
				return fmt.Errorf("line %d: %v", n+1, err)
			}
		} else {
			var row abusefilter.Row
			if err := json.Unmarshal(line, &row); err != nil {
				return fmt.Errorf("line %d: not an abuse_filter row: %v", n+1, err)
			}
			if row.Wiki == "" {
				row.Wiki = wiki
			}
			var notes []string
			f, notes = abusefilter.FromRow(row)
			label = fmt.Sprintf("%s filter %d", row.Wiki, row.ID)
			if len(notes) > 0 {
				fmt.Fprintf(errOut, "%s: %s\n", label, strings.Join(notes, "; "))
			}
		}
		if err := tally.save(cmd, c, f, label, enable, logOnly); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "imported %d filters, skipped %d\n", tally.created, tally.skipped)
	return nil
}

// importTally counts the filters of an import.
type importTally struct{ created, skipped int }

// save saves an imported filter as a new Vigil filter. A filter Vigil
// refuses (its rule does not compile) is reported and skipped.
func (t *importTally) save(cmd *cobra.Command, c *httpapi.Client, f *vigil.Filter, label string, enable, logOnly bool) error {
	ok, err := saveImported(cmd, c, f, label, enable, logOnly)
	if ok {
		t.created++
	} else if err == nil {
		t.skipped++
	}
	return err
}

func saveImported(cmd *cobra.Command, c *httpapi.Client, f *vigil.Filter, label string, enable, logOnly bool) (ok bool, err error) {
	if enable {
		f.Enabled, f.Deleted = true, false
	}
	f.LogOnly = f.LogOnly || logOnly
	in := &httpapi.FilterInput{Wiki: f.Wiki, Group: f.Group, Global: f.Global, Name: f.Name, Pattern: f.Pattern,
		Notes: f.Notes, Enabled: f.Enabled, LogOnly: f.LogOnly, Privacy: f.Privacy, Actions: f.Actions, Summary: "imported"}
	saved, err := c.CreateFilter(cmd.Context(), in)
	if err != nil {
		if vigil.ErrorCode(err) == vigil.EINVALID {
			fmt.Fprintf(cmd.ErrOrStderr(), "%s: skipped: %v\n", label, err)
			return false, nil
		}
		return false, fmt.Errorf("%s: %w", label, err)
	}
	if f.Deleted {
		if _, err := c.SetFilterState(cmd.Context(), saved.ID, "delete", "imported as deleted"); err != nil {
			return false, err
		}
	}
	return true, nil
}

// importFromWiki reads a wiki's filters through its API and saves them.
func importFromWiki(cmd *cobra.Command, env Env, c *httpapi.Client, api, user, passwordFile, wiki string, enable, logOnly bool) error {
	password := env.Getenv("VIGIL_WIKI_PASSWORD")
	if passwordFile != "" {
		b, err := os.ReadFile(passwordFile)
		if err != nil {
			return fmt.Errorf("--bot-password-file: %w", err)
		}
		password = strings.TrimSpace(string(b))
	}
	if user != "" && password == "" {
		return errors.New("--bot-user needs its password: --bot-password-file FILE or VIGIL_WIKI_PASSWORD")
	}
	own, filters, err := abusefilter.ReadWikiFilters(cmd.Context(), abusefilter.WikiConfig{API: api, User: user, Password: password,
		UserAgent: follow.UserAgent(version, "")})
	if err != nil {
		return fmt.Errorf("%s: %w", api, err)
	}
	if wiki == "" {
		wiki = own
	}
	var tally importTally
	for _, wf := range filters {
		label := fmt.Sprintf("%s filter %d", own, wf.ID)
		if wf.Problem != "" {
			fmt.Fprintf(cmd.ErrOrStderr(), "%s: %s\n", label, wf.Problem)
		}
		if wf.Filter == nil {
			tally.skipped++
			continue
		}
		wf.Filter.Wiki = wiki
		if err := tally.save(cmd, c, wf.Filter, label, enable, logOnly); err != nil {
			return err
		}
	}
	fmt.Fprintf(cmd.OutOrStdout(), "imported %d filters of %s as %s, skipped %d\n", tally.created, own, wiki, tally.skipped)
	return nil
}

func newLogCmd(env Env) *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{Use: "log", Short: "Read the abuse log of a running Vigil", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() }}
	cf.register(cmd)
	var wiki, user, page, from, to, taken, reason string
	var filter int64
	var protected bool
	var limit int
	query := &cobra.Command{Use: "query", Short: "Print abuse log entries as JSON lines, newest first", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := client(env, cf.server, cf.token)
			if err != nil {
				return err
			}
			if protected {
				if strings.TrimSpace(reason) == "" {
					return errors.New("--protected needs --reason: why you read IP addresses and user agents (it is audited)")
				}
				c.Reason = reason
			}
			q := url.Values{}
			if protected {
				q.Set("protected", "true")
			}
			for k, v := range map[string]string{"wiki": wiki, "user": user, "page": page, "from": from, "to": to, "action_taken": taken} {
				if v != "" {
					q.Set(k, v)
				}
			}
			if filter != 0 {
				q.Set("filter", strconv.FormatInt(filter, 10))
			}
			if limit <= 0 {
				return errors.New("--limit must be positive")
			}
			printed := 0
			for printed < limit {
				q.Set("limit", strconv.Itoa(min(limit-printed, vigil.MaxLogLimit)))
				page, err := c.QueryLog(cmd.Context(), q)
				if err != nil {
					return err
				}
				for _, e := range page.Entries {
					if err := writeJSON(cmd.OutOrStdout(), e); err != nil {
						return err
					}
					printed++
				}
				if page.Next == "" {
					break
				}
				q.Set("after", page.Next)
			}
			return nil
		}}
	query.Flags().StringVar(&wiki, "wiki", "", "only this wiki")
	query.Flags().Int64Var(&filter, "filter", 0, "only this filter")
	query.Flags().StringVar(&user, "user", "", "only this performer")
	query.Flags().StringVar(&page, "page", "", "only this page title")
	query.Flags().StringVar(&from, "from", "", "from this time (RFC 3339)")
	query.Flags().StringVar(&to, "to", "", "before this time (RFC 3339)")
	query.Flags().StringVar(&taken, "action-taken", "", "only entries where this consequence was taken")
	query.Flags().IntVar(&limit, "limit", 50, "at most this many entries")
	query.Flags().BoolVar(&protected, "protected", false, "include the protected data (IP, user agent, protected variables): needs the read-protected scope and --reason")
	query.Flags().StringVar(&reason, "reason", "", "why you read protected data; recorded in the audit log")
	cmd.AddCommand(query)
	return cmd
}

func newFilterTestCmd(env Env, cf *clientFlags) *cobra.Command {
	var wiki, rule string
	var filter int64
	var version, limit int
	var since time.Duration
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "test --wiki W [--rule FILE|-] [--filter ID [--version N]]",
		Short: "Run a rule over the recent window: what it would have matched",
		Long: `Test runs a rule over the window of recently screened actions of a wiki
(POST /v1/filters/test) and prints what it would have matched:
  --rule FILE (or - for standard input)     a new rule;
  --filter ID --rule FILE                   a proposed change to a filter: also
                                            what it would newly match and no
                                            longer match, against its current rule;
  --filter ID --version N                   an older version, against the current one.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if wiki == "" {
				return errors.New("--wiki is required")
			}
			in := map[string]any{"wiki": wiki}
			if rule != "" {
				var b []byte
				var err error
				if rule == "-" {
					b, err = io.ReadAll(cmd.InOrStdin())
				} else {
					b, err = os.ReadFile(rule)
				}
				if err != nil {
					return fmt.Errorf("--rule: %w", err)
				}
				in["pattern"] = string(b)
			}
			if filter != 0 {
				in["filter_id"] = filter
			}
			if version != 0 {
				in["version"] = version
			}
			if limit != 0 {
				in["limit"] = limit
			}
			if since != 0 {
				in["since"] = time.Now().Add(-since).UTC()
			}
			c, err := client(env, cf.server, cf.token)
			if err != nil {
				return err
			}
			res, err := c.TestFilter(cmd.Context(), in)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return writeJSON(out, res)
			}
			fmt.Fprintf(out, "%d actions checked, %d matched, %d errors\n", res.Checked, len(res.Matches), res.Errors)
			if res.TimeLimitReached {
				fmt.Fprintf(out, "the test reached the server's time limit (screen.test_time_limit): only the newest %d actions were tested; narrow --since or --limit for the others\n", res.Checked)
			}
			show := func(title string, hits []screen.TestHit) {
				if len(hits) == 0 {
					return
				}
				fmt.Fprintln(out, title)
				tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				for _, h := range hits {
					fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", h.Time.UTC().Format(time.RFC3339), h.Action, h.Performer, h.Page)
				}
				tw.Flush()
			}
			show("matched:", res.Matches)
			if res.Compared {
				fmt.Fprintf(out, "against the current rule: %d newly matched, %d no longer matched\n", len(res.New), len(res.Lost))
				show("newly matched:", res.New)
				show("no longer matched:", res.Lost)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&wiki, "wiki", "", "the wiki whose recent actions to test on")
	cmd.Flags().StringVar(&rule, "rule", "", "a file holding the rule (- for standard input)")
	cmd.Flags().Int64Var(&filter, "filter", 0, "a saved filter")
	cmd.Flags().IntVar(&version, "version", 0, "with --filter: an older version to test")
	cmd.Flags().IntVar(&limit, "limit", 0, "at most this many recent actions (default 1000)")
	cmd.Flags().DurationVar(&since, "since", 0, "only actions of this long ago and since (default the whole window)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}
