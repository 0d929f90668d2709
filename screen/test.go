package screen

import (
	"context"
	"time"

	"github.com/vigilwiki/vigil"
	"github.com/vigilwiki/vigil/rules"
)

// TestRequest asks what a rule would have matched among recent actions.
type TestRequest struct {
	Wiki string
	// Pattern is the rule; or FilterID and Version name a saved version
	// (Version 0: the current one); or Pattern and FilterID test a
	// proposed rule for that filter against its current one.
	Pattern  string
	FilterID int64
	Version  int
	Limit    int       // actions to test, newest first; default 1000, at most 100,000
	Since    time.Time // default: 7 days ago
	// Protected runs the rule with the actions' protected fields (IP
	// address, user agent); the caller has checked the right.
	Protected bool
}

// TestHit is one recent action a rule matched.
type TestHit struct {
	RecentID  int64     `json:"recent_id"`
	Time      time.Time `json:"time"`
	Action    string    `json:"action"`
	Performer string    `json:"performer"`
	Page      string    `json:"page,omitempty"`
}

// TestResult is what a rule matched. For a saved filter, the tested
// version is compared with the current one.
type TestResult struct {
	Checked int       `json:"checked"`
	Matches []TestHit `json:"matches"`
	Errors  int       `json:"errors"` // actions where the rule failed (a regex error, the budget)
	// Compared is set for a saved filter's version other than the current
	// one: New are matched by the tested version only, Lost by the current
	// version only.
	Compared bool      `json:"compared"`
	New      []TestHit `json:"new,omitempty"`
	Lost     []TestHit `json:"lost,omitempty"`
	// TimeLimitReached says the test stopped at its time limit
	// (Config.TestTimeLimit): Checked actions, the newest, were tested.
	TimeLimitReached bool `json:"time_limit_reached"`
}

const maxTestActions = 100000

var errTestsBusy = &vigil.Error{Code: vigil.EUNAVAILABLE, Message: "other filter tests are running; retry later"}

// testPage is how many recent actions a test reads at a time.
const testPage = 256

// TestRule runs a rule, or a filter version, over the recent actions of a
// wiki. Each action is screened on its own, as AbuseFilter's test tool
// does (no condition limit shared with other filters).
func (e *Engine) TestRule(ctx context.Context, req TestRequest) (*TestResult, error) {
	if req.Wiki == "" {
		return nil, vigil.FieldError("wiki", "required")
	}
	if req.Limit < 0 || req.Limit > maxTestActions {
		return nil, vigil.FieldError("limit", "between 1 and %d", maxTestActions)
	}
	limit := req.Limit
	if limit == 0 {
		limit = 1000
	}
	since := req.Since
	if since.IsZero() {
		since = e.now().Add(-7 * 24 * time.Hour)
	}
	pattern, current := req.Pattern, ""
	switch {
	case req.FilterID != 0 && pattern != "" && req.Version != 0:
		return nil, vigil.FieldError("pattern", "give a pattern or a version of the filter, not both")
	case req.FilterID != 0 && pattern != "":
		// A proposed change to a filter: compared with its current rule.
		f, err := e.store.FindFilter(ctx, req.FilterID)
		if err != nil {
			return nil, err
		}
		current = f.Pattern
	case req.FilterID != 0:
		f, err := e.store.FindFilter(ctx, req.FilterID)
		if err != nil {
			return nil, err
		}
		pattern = f.Pattern
		if req.Version != 0 && req.Version != f.Version {
			v, err := e.store.FindFilterVersion(ctx, req.FilterID, req.Version)
			if err != nil {
				return nil, err
			}
			pattern, current = v.Filter.Pattern, f.Pattern
		}
	case pattern == "":
		return nil, vigil.FieldError("pattern", "give a rule or a filter_id")
	}
	tested, err := rules.Compile(pattern, rules.CompileOptions{})
	if err != nil {
		return nil, &vigil.Error{Code: vigil.EINVALID, Field: "pattern", Message: err.(interface{ Format(string) string }).Format(pattern)}
	}
	var base *rules.Program
	if current != "" {
		if base, err = rules.Compile(current, rules.CompileOptions{}); err != nil {
			base = nil // the current version does not compile: compare with nothing
		}
	}
	// A test takes up to a core for as long as it runs (100,000 actions:
	// tens of seconds), beside the screening of live actions: at most one
	// per two cores at once; the others wait, for at most a test's time
	// limit, and are turned away when that passes or the caller stops
	// waiting.
	wait := time.NewTimer(e.cfg.TestTimeLimit)
	defer wait.Stop()
	select {
	case e.tests <- struct{}{}:
		defer func() { <-e.tests }()
	case <-ctx.Done():
		return nil, errTestsBusy
	case <-wait.C:
		return nil, errTestsBusy
	}
	// A test stops at its time limit and answers with what it has tested:
	// a rule that spends the runtime budget on each action would take
	// hours over 100,000 of them, holding its slot long after the server
	// gave up writing the answer.
	deadline := e.now().Add(e.cfg.TestTimeLimit)
	w := e.wikiConfig(req.Wiki)
	res := &TestResult{Matches: []TestHit{}, Compared: current != ""}
	run := func(p *rules.Program, a *vigil.Action) (bool, error) {
		s := rules.NewState(Variables(a, &w), p.Scope(), rules.EvalOptions{CondLimit: e.cfg.CondLimit, Budget: e.cfg.Budget})
		return p.Match(s)
	}
	test := func(r *vigil.RecentAction) {
		a, err := DecodeRecent(r, req.Protected)
		if err != nil {
			return
		}
		res.Checked++
		hit := TestHit{RecentID: r.ID, Time: r.Time, Action: a.Action, Performer: a.Performer.Name}
		if pg := a.Page; pg != nil {
			hit.Page = w.PrefixedTitle(pg.Namespace, pg.Title)
		}
		ok, err := run(tested, a)
		if err != nil {
			res.Errors++
		}
		if ok {
			res.Matches = append(res.Matches, hit)
		}
		if base != nil {
			was, _ := run(base, a)
			switch {
			case ok && !was:
				res.New = append(res.New, hit)
			case was && !ok:
				res.Lost = append(res.Lost, hit)
			}
		}
	}
	// A page of the window at a time: 100,000 actions with both their
	// wikitexts would be gigabytes.
	read, before := 0, int64(0)
	for read < limit {
		page, err := e.recentStore.RecentActions(ctx, req.Wiki, since, before, min(testPage, limit-read))
		if err != nil {
			return nil, err
		}
		if len(page) == 0 {
			break
		}
		for _, r := range page {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if !e.now().Before(deadline) {
				res.TimeLimitReached = true
				return res, nil
			}
			test(r)
		}
		read += len(page)
		before = page[len(page)-1].ID
	}
	return res, nil
}
