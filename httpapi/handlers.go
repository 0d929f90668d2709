package httpapi

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigilwiki/vigil"
	"github.com/vigilwiki/vigil/screen"
)

// handleScreen screens an action. ?mode=observe screens one that already
// happened (a followed wiki): matches are logged, nothing is enforced.
func handleScreen(d Deps, m *metrics) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := knownParams(r.URL.Query(), "mode"); err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		var opts screen.ScreenOptions
		outcomeAllowed := "allowed"
		switch mode := r.URL.Query().Get("mode"); mode {
		case "", "enforce":
		case "observe":
			opts.Observe, outcomeAllowed = true, "observed"
		default:
			writeError(w, r, d.Logger, &vigil.Error{Code: vigil.EINVALID, Field: "mode",
				Message: fmt.Sprintf("enforce (the default) or observe, not %q", mode)})
			return
		}
		var a vigil.Action
		if err := decode(r, &a); err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		start := time.Now()
		v, err := d.Engine.ScreenWith(r.Context(), &a, opts)
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		outcome := outcomeAllowed
		if !v.Allowed {
			outcome = "refused"
		}
		m.screened.WithLabelValues(a.Wiki, a.Action, outcome).Inc()
		m.screen.WithLabelValues(a.Wiki).Observe(time.Since(start).Seconds())
		m.phase.WithLabelValues(a.Wiki, "filters").Observe(float64(v.FiltersMicroseconds) / 1e6)
		if v.Logged() {
			m.phase.WithLabelValues(a.Wiki, "log").Observe(float64(v.LogMicroseconds) / 1e6)
		}
		for _, mt := range v.Matches {
			m.matches.WithLabelValues(a.Wiki, mt.Filter).Inc()
		}
		encode(w, http.StatusOK, v)
	})
}

// FilterInput is the body of a filter create or update.
type FilterInput struct {
	Wiki    string              `json:"wiki"`
	Group   string              `json:"group,omitempty"`
	Global  bool                `json:"global,omitempty"`
	Name    string              `json:"name"`
	Pattern string              `json:"pattern"`
	Notes   string              `json:"notes,omitempty"`
	Enabled bool                `json:"enabled"`
	LogOnly bool                `json:"log_only,omitempty"`
	Privacy vigil.Privacy       `json:"privacy,omitempty"`
	Actions map[string][]string `json:"actions"`
	// Version is the version being changed (updates only): a save on top
	// of someone else's is refused with a conflict.
	Version int `json:"version,omitempty"`
	// Summary says why; Author defaults to the token's name.
	Summary string `json:"summary,omitempty"`
	Author  string `json:"author,omitempty"`
}

func (in *FilterInput) apply(f *vigil.Filter) {
	f.Wiki, f.Group, f.Global, f.Name, f.Pattern, f.Notes = in.Wiki, in.Group, in.Global, in.Name, in.Pattern, in.Notes
	f.Enabled, f.LogOnly, f.Privacy, f.Actions = in.Enabled, in.LogOnly, in.Privacy, in.Actions
	f.Version = in.Version
}

func author(r *http.Request, given string) string {
	if given != "" {
		return given + " (via " + tokenOf(r).Name + ")"
	}
	return tokenOf(r).Name
}

// visible hides the rule of a private or protected filter from a token
// that may not manage filters or read protected data.
func visible(r *http.Request, f *vigil.Filter) *vigil.Filter {
	t := tokenOf(r)
	if f.Privacy == vigil.Public || t.Has(vigil.ScopeManageFilters) || t.Has(vigil.ScopeReadProtected) {
		return f
	}
	c := *f
	c.Pattern, c.Notes = "", ""
	return &c
}

// visibleVersion hides a version's rule as the stricter of its own
// privacy and the filter's current one: a filter made private keeps its
// older rules hidden too.
func visibleVersion(r *http.Request, current, f *vigil.Filter) *vigil.Filter {
	if current.Privacy == vigil.Public || f.Privacy != vigil.Public {
		return visible(r, f)
	}
	c := *f
	c.Privacy = current.Privacy
	out := visible(r, &c)
	out.Privacy = f.Privacy
	return out
}

// hidden reports whether shown is f with its rule hidden.
func hidden(f, shown *vigil.Filter) bool { return f.Pattern != "" && shown.Pattern == "" }

// knownParams refuses a query parameter the route does not take, so that
// a typo (?wik=enwiki) is an error, not a silently wider answer.
func knownParams(q url.Values, names ...string) error {
	for name := range q {
		if !slices.Contains(names, name) {
			return &vigil.Error{Code: vigil.EINVALID, Field: name, Message: "unknown parameter; one of " + strings.Join(names, ", ")}
		}
	}
	return nil
}

func handleListFilters(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		fq := vigil.FilterQuery{Wiki: q.Get("wiki"), Group: q.Get("group")}
		err := knownParams(q, "wiki", "group", "global", "enabled", "deleted")
		if err == nil {
			fq.WithGlobal, err = boolParam(q, "global")
		}
		if err == nil {
			fq.EnabledOnly, err = boolParam(q, "enabled")
		}
		if err == nil {
			fq.IncludeDeleted, err = boolParam(q, "deleted")
		}
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		filters, err := d.Store.ListFilters(r.Context(), fq)
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		out := make([]*vigil.Filter, 0, len(filters))
		for _, f := range filters {
			out = append(out, visible(r, f))
		}
		encode(w, http.StatusOK, map[string]any{"filters": out})
	})
}

func boolParam(q url.Values, name string) (bool, error) {
	switch q.Get(name) {
	case "", "0", "false":
		return false, nil
	case "1", "true":
		return true, nil
	}
	return false, &vigil.Error{Code: vigil.EINVALID, Field: name, Message: "true or false"}
}

func handleCreateFilter(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in FilterInput
		if err := decode(r, &in); err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		f := &vigil.Filter{}
		in.apply(f)
		if err := screen.CheckFilter(f); err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		if err := d.Store.CreateFilter(r.Context(), f, author(r, in.Author), in.Summary); err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		d.Engine.FilterChanged(nil, f)
		encode(w, http.StatusCreated, f)
	})
}

func filterID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, &vigil.Error{Code: vigil.EINVALID, Field: "id", Message: "a filter id is a positive integer"}
	}
	return id, nil
}

func handleGetFilter(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := filterID(r)
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		f, err := d.Store.FindFilter(r.Context(), id)
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		encode(w, http.StatusOK, visible(r, f))
	})
}

func handleUpdateFilter(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := filterID(r)
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		var in FilterInput
		if err := decode(r, &in); err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		if in.Version <= 0 {
			writeError(w, r, d.Logger, &vigil.Error{Code: vigil.EINVALID, Field: "version", Message: "give the version you are changing"})
			return
		}
		cur, err := d.Store.FindFilter(r.Context(), id)
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		f := &vigil.Filter{ID: id, Deleted: cur.Deleted}
		in.apply(f)
		if f.Deleted && f.Enabled {
			// As the enable route: a deleted filter is restored first.
			writeError(w, r, d.Logger, &vigil.Error{Code: vigil.ECONFLICT, Field: "enabled",
				Message: "the filter is deleted; restore a version before enabling it"})
			return
		}
		if err := screen.CheckFilter(f); err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		if err := d.Store.UpdateFilter(r.Context(), f, author(r, in.Author), in.Summary); err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		d.Engine.FilterChanged(cur, f)
		encode(w, http.StatusOK, f)
	})
}

// stateChange is the optional body of enable, disable and delete.
type stateChange struct {
	Summary string `json:"summary,omitempty"`
	Author  string `json:"author,omitempty"`
}

func handleSetFilterState(d Deps, op string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := filterID(r)
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		var in stateChange
		if r.ContentLength != 0 {
			if err := decode(r, &in); err != nil {
				writeError(w, r, d.Logger, err)
				return
			}
		}
		f, err := d.Store.FindFilter(r.Context(), id)
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		before := *f
		switch op {
		case "enable":
			if f.Deleted {
				writeError(w, r, d.Logger, vigil.Errorf(vigil.ECONFLICT, "filter %d is deleted; restore a version to bring it back", id))
				return
			}
			f.Enabled = true
		case "disable":
			f.Enabled = false
		case "delete":
			f.Enabled, f.Deleted = false, true
		}
		summary := in.Summary
		if summary == "" {
			summary = op
		}
		if err := d.Store.UpdateFilter(r.Context(), f, author(r, in.Author), summary); err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		d.Engine.FilterChanged(&before, f)
		encode(w, http.StatusOK, f)
	})
}

func handleFilterVersions(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := filterID(r)
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		vs, err := d.Store.FilterHistory(r.Context(), id)
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		current, err := d.Store.FindFilter(r.Context(), id)
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		for _, v := range vs {
			v.Filter = *visibleVersion(r, current, &v.Filter)
		}
		encode(w, http.StatusOK, map[string]any{"versions": vs})
	})
}

func versionParam(s, field string) (int, error) {
	v, err := strconv.Atoi(s)
	if err != nil || v <= 0 {
		return 0, &vigil.Error{Code: vigil.EINVALID, Field: field, Message: "a version is a positive integer"}
	}
	return v, nil
}

func handleFilterVersion(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := filterID(r)
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		ver, err := versionParam(r.PathValue("version"), "version")
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		v, err := d.Store.FindFilterVersion(r.Context(), id, ver)
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		current, err := d.Store.FindFilter(r.Context(), id)
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		v.Filter = *visibleVersion(r, current, &v.Filter)
		encode(w, http.StatusOK, v)
	})
}

// FieldChange is one field that differs between two versions.
type FieldChange struct {
	Field string `json:"field"`
	From  any    `json:"from"`
	To    any    `json:"to"`
}

func handleFilterDiff(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := filterID(r)
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		q := r.URL.Query()
		from, err := versionParam(q.Get("from"), "from")
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		to, err := versionParam(q.Get("to"), "to")
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		a, err := d.Store.FindFilterVersion(r.Context(), id, from)
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		b, err := d.Store.FindFilterVersion(r.Context(), id, to)
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		current, err := d.Store.FindFilter(r.Context(), id)
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		fa, fb := visibleVersion(r, current, &a.Filter), visibleVersion(r, current, &b.Filter)
		patternDiff := []string{}
		if !hidden(&a.Filter, fa) && !hidden(&b.Filter, fb) {
			patternDiff = textDiff(fa.Pattern, fb.Pattern)
		}
		encode(w, http.StatusOK, map[string]any{"from": from, "to": to, "changes": diffFilters(fa, fb),
			"pattern_diff": patternDiff})
	})
}

func diffFilters(a, b *vigil.Filter) []FieldChange {
	changes := []FieldChange{}
	add := func(field string, x, y any) {
		if fmt.Sprint(x) != fmt.Sprint(y) {
			changes = append(changes, FieldChange{field, x, y})
		}
	}
	add("wiki", a.Wiki, b.Wiki)
	add("group", a.Group, b.Group)
	add("global", a.Global, b.Global)
	add("name", a.Name, b.Name)
	add("pattern", a.Pattern, b.Pattern)
	add("notes", a.Notes, b.Notes)
	add("enabled", a.Enabled, b.Enabled)
	add("deleted", a.Deleted, b.Deleted)
	add("log_only", a.LogOnly, b.LogOnly)
	add("privacy", a.Privacy, b.Privacy)
	names := []string{}
	for k := range a.Actions {
		names = append(names, k)
	}
	for k := range b.Actions {
		if _, ok := a.Actions[k]; !ok {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	for _, k := range names {
		x, inA := a.Actions[k]
		y, inB := b.Actions[k]
		var from, to any
		if inA {
			from = x
		}
		if inB {
			to = y
		}
		if inA != inB || strings.Join(x, "\n") != strings.Join(y, "\n") {
			changes = append(changes, FieldChange{"actions." + k, from, to})
		}
	}
	return changes
}

// textDiff is a line diff of two rules, in unified-diff lines.
func textDiff(a, b string) []string {
	x, y := strings.Split(a, "\n"), strings.Split(b, "\n")
	// Longest common subsequence; rules are small.
	n, m := len(x), len(y)
	if n*m > 4_000_000 {
		return []string{"- (rule too long to compare line by line)"}
	}
	lcs := make([][]int32, n+1)
	for i := range lcs {
		lcs[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	out := []string{}
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && x[i] == y[j]:
			out = append(out, " "+x[i])
			i, j = i+1, j+1
		case j < m && (i == n || lcs[i][j+1] > lcs[i+1][j]):
			out = append(out, "+"+y[j])
			j++
		default:
			out = append(out, "-"+x[i])
			i++
		}
	}
	return out
}

// restoreRequest is the body of a restore.
type restoreRequest struct {
	Version int    `json:"version"`
	Summary string `json:"summary,omitempty"`
	Author  string `json:"author,omitempty"`
}

func handleRestoreFilter(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := filterID(r)
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		var in restoreRequest
		if err := decode(r, &in); err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		if in.Version <= 0 {
			writeError(w, r, d.Logger, &vigil.Error{Code: vigil.EINVALID, Field: "version", Message: "give the version to restore"})
			return
		}
		old, err := d.Store.FindFilterVersion(r.Context(), id, in.Version)
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		cur, err := d.Store.FindFilter(r.Context(), id)
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		f := old.Filter
		f.ID, f.Version = id, cur.Version
		if err := screen.CheckFilter(&f); err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		summary := in.Summary
		if summary == "" {
			summary = fmt.Sprintf("restore version %d", in.Version)
		}
		if err := d.Store.UpdateFilter(r.Context(), &f, author(r, in.Author), summary); err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		d.Engine.FilterChanged(cur, &f)
		encode(w, http.StatusOK, &f)
	})
}

func handleFilterStats(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := filterID(r)
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		if _, err := d.Store.FindFilter(r.Context(), id); err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		encode(w, http.StatusOK, d.Engine.FilterStats(id))
	})
}

// ReasonHeader carries the reason for reading protected data; it is
// written to the audit log.
const ReasonHeader = "X-Vigil-Reason"

// allowProtected checks a read of protected data: the token needs the
// read-protected scope and the request a reason; the read is audited
// before anything is shown. On false, the error is written.
func allowProtected(w http.ResponseWriter, r *http.Request, d Deps, access, resource string) bool {
	tok := tokenOf(r)
	reason := strings.TrimSpace(r.Header.Get(ReasonHeader))
	switch {
	case !tok.Has(vigil.ScopeReadProtected):
		writeError(w, r, d.Logger, vigil.Errorf(vigil.EFORBIDDEN, "protected data needs the %s scope", vigil.ScopeReadProtected))
		return false
	case reason == "":
		writeError(w, r, d.Logger, &vigil.Error{Code: vigil.EINVALID, Field: ReasonHeader,
			Message: "give the reason for reading protected data (it is audited)"})
		return false
	}
	if err := d.Store.AppendAudit(r.Context(), &vigil.AuditEntry{Token: tok.Name, Access: access,
		Resource: resource, Reason: reason}); err != nil {
		writeError(w, r, d.Logger, err)
		return false
	}
	return true
}

func handleQueryLog(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, err := logQuery(r.URL.Query())
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		tok := tokenOf(r)
		if q.WithProtected && !allowProtected(w, r, d, "log.protected", r.URL.RawQuery) {
			return
		}
		entries, err := d.Store.QueryLog(r.Context(), q)
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		// Without the protected scope, the variables of private and
		// protected filters stay hidden.
		if !tok.Has(vigil.ScopeReadProtected) {
			private := map[int64]bool{}
			for _, e := range entries {
				if _, seen := private[e.FilterID]; !seen {
					f, err := d.Store.FindFilter(r.Context(), e.FilterID)
					private[e.FilterID] = err != nil || f.Privacy != vigil.Public
				}
				if private[e.FilterID] {
					e.Vars = nil
				}
			}
		}
		next := ""
		if len(entries) > 0 && len(entries) == effectiveLimit(q.Limit) {
			next = strconv.FormatInt(entries[len(entries)-1].ID, 10)
		}
		if entries == nil {
			entries = []*vigil.LogEntry{}
		}
		encode(w, http.StatusOK, map[string]any{"entries": entries, "next": next})
	})
}

func effectiveLimit(l int) int {
	if l <= 0 {
		return vigil.DefaultLogLimit
	}
	return min(l, vigil.MaxLogLimit)
}

// logQuery reads the abuse log's query parameters.
func logQuery(q url.Values) (vigil.LogQuery, error) {
	var lq vigil.LogQuery
	for name := range q {
		switch name {
		case "wiki", "filter", "user", "page", "namespace", "from", "to", "action_taken", "after", "limit", "protected":
		default:
			return lq, &vigil.Error{Code: vigil.EINVALID, Field: name, Message: "unknown parameter"}
		}
	}
	lq.Wiki, lq.Performer, lq.PageTitle, lq.ActionTaken = q.Get("wiki"), q.Get("user"), q.Get("page"), q.Get("action_taken")
	switch lq.ActionTaken {
	case "", screen.Throttle, screen.Warn, screen.Disallow, screen.Tag, screen.Block, screen.RangeBlock, screen.Degroup,
		screen.BlockAutopromote:
	default:
		return lq, &vigil.Error{Code: vigil.EINVALID, Field: "action_taken",
			Message: "one of throttle, warn, disallow, tag, block, rangeblock, degroup, blockautopromote"}
	}
	intParam := func(name string, dst *int64) error {
		if s := q.Get(name); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n < 0 {
				return &vigil.Error{Code: vigil.EINVALID, Field: name, Message: "a non-negative integer"}
			}
			*dst = n
		}
		return nil
	}
	var limit, ns int64 = 0, -1
	if err := intParam("filter", &lq.FilterID); err != nil {
		return lq, err
	}
	if err := intParam("after", &lq.After); err != nil {
		return lq, err
	}
	if err := intParam("limit", &limit); err != nil {
		return lq, err
	}
	if limit > vigil.MaxLogLimit {
		return lq, &vigil.Error{Code: vigil.EINVALID, Field: "limit", Message: fmt.Sprintf("at most %d", vigil.MaxLogLimit)}
	}
	lq.Limit = int(limit)
	if s := q.Get("namespace"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return lq, &vigil.Error{Code: vigil.EINVALID, Field: "namespace", Message: "an integer"}
		}
		ns = int64(n)
		nsi := int(ns)
		lq.PageNamespace = &nsi
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &lq.From}, {"to", &lq.To}} {
		if s := q.Get(p.name); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				return lq, &vigil.Error{Code: vigil.EINVALID, Field: p.name, Message: "an RFC 3339 time, e.g. 2026-11-22T10:00:00Z"}
			}
			*p.dst = t
		}
	}
	var err error
	lq.WithProtected, err = boolParam(q, "protected")
	return lq, err
}

func handleAudit(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := knownParams(r.URL.Query(), "after"); err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		var after int64
		if s := r.URL.Query().Get("after"); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				writeError(w, r, d.Logger, &vigil.Error{Code: vigil.EINVALID, Field: "after", Message: "an integer"})
				return
			}
			after = n
		}
		entries, err := d.Store.ListAudit(r.Context(), after, vigil.MaxLogLimit)
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		if entries == nil {
			entries = []*vigil.AuditEntry{}
		}
		encode(w, http.StatusOK, map[string]any{"entries": entries})
	})
}

// testRequest is the body of POST /v1/filters/test.
type testRequest struct {
	Wiki string `json:"wiki"`
	// Pattern is the rule to test; or FilterID and Version name a saved
	// version (Version 0: the current one).
	Pattern  string `json:"pattern,omitempty"`
	FilterID int64  `json:"filter_id,omitempty"`
	Version  int    `json:"version,omitempty"`
	// Limit and Since bound the actions tested (newest first).
	Limit int       `json:"limit,omitempty"`
	Since time.Time `json:"since,omitzero"`
	// Protected runs the rule with the actions' IP addresses and user
	// agents: it needs the read-protected scope and an X-Vigil-Reason, and
	// is audited.
	Protected bool `json:"protected,omitempty"`
}

func handleTestFilter(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in testRequest
		if err := decode(r, &in); err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		if in.Wiki == "" {
			writeError(w, r, d.Logger, vigil.FieldError("wiki", "required"))
			return
		}
		if in.Protected && !allowProtected(w, r, d, "recent.protected", "wiki="+in.Wiki) {
			return
		}
		res, err := d.Engine.TestRule(r.Context(), screen.TestRequest{Wiki: in.Wiki, Pattern: in.Pattern,
			FilterID: in.FilterID, Version: in.Version, Limit: in.Limit, Since: in.Since, Protected: in.Protected})
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		encode(w, http.StatusOK, res)
	})
}

func handleListBlocks(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := knownParams(r.URL.Query(), "wiki"); err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		wiki := r.URL.Query().Get("wiki")
		if wiki == "" {
			writeError(w, r, d.Logger, vigil.FieldError("wiki", "required"))
			return
		}
		// Targets are IP addresses and ranges (a range block's /16 comes
		// from the address of whoever tripped the filter): protected data.
		if !allowProtected(w, r, d, "blocks", "wiki="+wiki) {
			return
		}
		blocks, err := d.Store.ActiveBlocks(r.Context(), wiki, d.Now())
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		if blocks == nil {
			blocks = []*vigil.Block{}
		}
		for _, b := range blocks {
			b.Indefinite = b.Expiry.IsZero()
		}
		encode(w, http.StatusOK, map[string]any{"blocks": blocks})
	})
}

// UnblockRequest lifts a block Vigil placed: the MediaWiki extension sends
// it when an administrator unblocks on the wiki.
type UnblockRequest struct {
	Wiki   string `json:"wiki"`
	Target string `json:"target"` // a user name, an IP address or a range, as blocked
	Reason string `json:"reason,omitempty"`
	Author string `json:"author,omitempty"` // who unblocked, on the wiki
}

func handleUnblock(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in UnblockRequest
		if err := decode(r, &in); err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		switch {
		case in.Wiki == "":
			writeError(w, r, d.Logger, vigil.FieldError("wiki", "required"))
			return
		case strings.TrimSpace(in.Target) == "":
			writeError(w, r, d.Logger, vigil.FieldError("target", "required"))
			return
		}
		if err := d.Store.Unblock(r.Context(), in.Wiki, in.Target, d.Now()); err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		d.Engine.BlocksChanged()
		// Who lifted which block, and why, stays on record.
		if err := d.Store.AppendAudit(r.Context(), &vigil.AuditEntry{Token: tokenOf(r).Name, Access: "block.unblock",
			Resource: "wiki=" + in.Wiki + " target=" + in.Target + " by=" + author(r, in.Author),
			Reason:   strings.TrimSpace(in.Reason)}); err != nil {
			d.Logger.Error("unblock not audited", "err", err)
		}
		d.Logger.Info("unblocked", "wiki", in.Wiki, "by", author(r, in.Author))
		encode(w, http.StatusOK, map[string]any{"unblocked": true})
	})
}
