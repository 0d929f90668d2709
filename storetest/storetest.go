// Package storetest is the contract every vigil.Store implementation must
// meet: one suite, run against SQLite and PostgreSQL.
package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/vigilwiki/vigil"
)

// Run runs the suite; newStore returns a new, empty store for each subtest.
func Run(t *testing.T, newStore func(t *testing.T) vigil.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s vigil.Store)
	}{
		{"FilterLifecycle", testFilterLifecycle},
		{"FilterQueries", testFilterQueries},
		{"FilterNotFound", testFilterNotFound},
		{"Log", testLog},
		{"LogPaging", testLogPaging},
		{"PurgeProtected", testPurgeProtected},
		{"Blocks", testBlocks},
		{"Tokens", testTokens},
		{"Audit", testAudit},
		{"Recent", testRecent},
		{"Stats", testStats},
		{"Text", testText},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			t.Cleanup(func() { s.Close() })
			tt.fn(t, s)
		})
	}
}

var ctx = context.Background()

func newFilter(wiki, name string) *vigil.Filter {
	f := &vigil.Filter{Wiki: wiki, Name: name, Pattern: `added_lines irlike "casino"`, Enabled: true,
		Actions: map[string][]string{"tag": {"spam"}, "warn": {}}}
	f.Normalize()
	return f
}

func testFilterLifecycle(t *testing.T, s vigil.Store) {
	g0, err := s.FiltersGeneration(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f := newFilter("enwiki", "Casino spam")
	if err := s.CreateFilter(ctx, f, "Alice", "first"); err != nil {
		t.Fatal(err)
	}
	if f.ID == 0 || f.Version != 1 || f.CreatedAt.IsZero() {
		t.Fatalf("created filter %+v", f)
	}
	got, err := s.FindFilter(ctx, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Casino spam" || got.Pattern != f.Pattern || !got.Enabled || got.Version != 1 ||
		len(got.Actions["tag"]) != 1 || got.Actions["tag"][0] != "spam" || got.Actions["warn"] == nil || got.UpdatedBy != "Alice" {
		t.Fatalf("read back %+v", got)
	}
	// A new version.
	got.Pattern = `added_lines irlike "poker"`
	got.Enabled = false
	if err := s.UpdateFilter(ctx, got, "Bob", "second"); err != nil {
		t.Fatal(err)
	}
	if got.Version != 2 {
		t.Fatalf("version %d after an update, want 2", got.Version)
	}
	// A stale update conflicts and changes nothing.
	stale := *got
	stale.Version = 1
	stale.Name = "stale"
	if err := s.UpdateFilter(ctx, &stale, "Carol", "stale"); vigil.ErrorCode(err) != vigil.ECONFLICT {
		t.Fatalf("stale update: %v, want %s", err, vigil.ECONFLICT)
	}
	cur, _ := s.FindFilter(ctx, f.ID)
	if cur.Name != "Casino spam" || cur.Version != 2 || cur.Enabled {
		t.Fatalf("after a refused update: %+v", cur)
	}
	hist, err := s.FilterHistory(ctx, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || hist[0].Filter.Version != 2 || hist[0].Author != "Bob" || hist[0].Summary != "second" ||
		hist[1].Filter.Pattern != `added_lines irlike "casino"` || hist[1].Author != "Alice" {
		t.Fatalf("history %+v", hist)
	}
	v1, err := s.FindFilterVersion(ctx, f.ID, 1)
	if err != nil || v1.Filter.Pattern != `added_lines irlike "casino"` || !v1.Filter.Enabled {
		t.Fatalf("version 1: %+v, %v", v1, err)
	}
	if _, err := s.FindFilterVersion(ctx, f.ID, 3); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("version 3: %v", err)
	}
	g1, _ := s.FiltersGeneration(ctx)
	if g1 != g0+2 {
		t.Fatalf("generation %d after two saves from %d", g1, g0)
	}
	// The emergency throttle: set without a version, lifted by a save.
	if err := s.SetFilterThrottled(ctx, f.ID, true); err != nil {
		t.Fatal(err)
	}
	cur, _ = s.FindFilter(ctx, f.ID)
	if g2, _ := s.FiltersGeneration(ctx); !cur.Throttled || cur.Version != 2 || g2 != g1+1 {
		t.Fatalf("after throttling: throttled %v version %d generation %d", cur.Throttled, cur.Version, g2)
	}
	if err := s.UpdateFilter(ctx, cur, "Dan", "fix"); err != nil {
		t.Fatal(err)
	}
	if cur, _ = s.FindFilter(ctx, f.ID); cur.Throttled {
		t.Fatal("a save did not lift the emergency throttle")
	}
	if err := s.SetFilterThrottled(ctx, 424242, true); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("throttle unknown: %v", err)
	}
}

func testFilterQueries(t *testing.T, s vigil.Store) {
	mk := func(wiki, group string, global, enabled, deleted bool) int64 {
		f := newFilter(wiki, fmt.Sprintf("%s %s", wiki, group))
		f.Group, f.Global, f.Enabled, f.Deleted = group, global, enabled, deleted
		if err := s.CreateFilter(ctx, f, "a", ""); err != nil {
			t.Fatal(err)
		}
		return f.ID
	}
	a := mk("enwiki", "default", false, true, false)
	b := mk("enwiki", "default", false, false, false)
	c := mk("enwiki", "default", false, true, true)
	d := mk("metawiki", "default", true, true, false)
	e := mk("dewiki", "default", false, true, false)
	f := mk("enwiki", "other", false, true, false)
	ids := func(q vigil.FilterQuery) []int64 {
		fs, err := s.ListFilters(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, f := range fs {
			out = append(out, f.ID)
		}
		return out
	}
	tests := []struct {
		q    vigil.FilterQuery
		want []int64
	}{
		{vigil.FilterQuery{}, []int64{a, b, d, e, f}},
		{vigil.FilterQuery{IncludeDeleted: true}, []int64{a, b, c, d, e, f}},
		{vigil.FilterQuery{Wiki: "enwiki"}, []int64{a, b, f}},
		{vigil.FilterQuery{Wiki: "enwiki", WithGlobal: true, Group: "default", EnabledOnly: true}, []int64{a, d}},
		{vigil.FilterQuery{Group: "other"}, []int64{f}},
	}
	for _, tt := range tests {
		if got := ids(tt.q); fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("ListFilters(%+v) = %v, want %v", tt.q, got, tt.want)
		}
	}
}

func testFilterNotFound(t *testing.T, s vigil.Store) {
	if _, err := s.FindFilter(ctx, 424242); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Errorf("FindFilter: %v", err)
	}
	if _, err := s.FilterHistory(ctx, 424242); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Errorf("FilterHistory: %v", err)
	}
	f := newFilter("enwiki", "x")
	f.ID, f.Version = 424242, 1
	if err := s.UpdateFilter(ctx, f, "a", ""); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Errorf("UpdateFilter: %v", err)
	}
}

func testLog(t *testing.T, s vigil.Store) {
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	ns1 := 1
	entries := []*vigil.LogEntry{
		{Wiki: "enwiki", FilterID: 1, FilterVersion: 3, Action: "edit", Performer: "1.2.3.4", PageNamespace: 0,
			PageTitle: "Casino", ActionsTaken: []string{"warn", "tag"}, Vars: json.RawMessage(`{"action":"edit"}`), Time: t0,
			Protected: &vigil.ProtectedData{IP: "1.2.3.4", UserAgent: "curl/8", Vars: json.RawMessage(`{"user_unnamed_ip":"1.2.3.4"}`)}},
		{Wiki: "enwiki", FilterID: 2, FilterVersion: 1, Action: "edit", Performer: "Bob", PageNamespace: 1,
			PageTitle: "Casino", ActionsTaken: []string{"disallow"}, Time: t0.Add(time.Minute)},
		{Wiki: "dewiki", FilterID: 1, FilterVersion: 3, Action: "move", Performer: "Bob", PageTitle: "Haus",
			ActionsTaken: nil, LogOnly: true, Time: t0.Add(2 * time.Minute)},
	}
	if err := s.AppendLog(ctx, entries); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.ID == 0 {
			t.Fatal("AppendLog did not set IDs")
		}
	}
	q := func(q vigil.LogQuery) []int64 {
		got, err := s.QueryLog(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, e := range got {
			ids = append(ids, e.ID)
		}
		return ids
	}
	e0, e1, e2 := entries[0].ID, entries[1].ID, entries[2].ID
	tests := []struct {
		q    vigil.LogQuery
		want []int64
	}{
		{vigil.LogQuery{}, []int64{e2, e1, e0}},
		{vigil.LogQuery{Wiki: "enwiki"}, []int64{e1, e0}},
		{vigil.LogQuery{FilterID: 1}, []int64{e2, e0}},
		{vigil.LogQuery{Performer: "Bob"}, []int64{e2, e1}},
		{vigil.LogQuery{PageTitle: "Casino", PageNamespace: &ns1}, []int64{e1}},
		{vigil.LogQuery{From: t0.Add(time.Minute)}, []int64{e2, e1}},
		{vigil.LogQuery{To: t0.Add(time.Minute)}, []int64{e0}},
		{vigil.LogQuery{ActionTaken: "warn"}, []int64{e0}},
		{vigil.LogQuery{ActionTaken: "disallow"}, []int64{e1}},
		{vigil.LogQuery{ActionTaken: "war"}, nil},
	}
	for _, tt := range tests {
		if got := q(tt.q); fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("QueryLog(%+v) = %v, want %v", tt.q, got, tt.want)
		}
	}
	got, err := s.QueryLog(ctx, vigil.LogQuery{FilterID: 1, Wiki: "enwiki"})
	if err != nil || len(got) != 1 {
		t.Fatal(err)
	}
	g := got[0]
	if g.Protected != nil {
		t.Error("protected data returned without WithProtected")
	}
	if g.Performer != "1.2.3.4" || g.FilterVersion != 3 || fmt.Sprint(g.ActionsTaken) != "[warn tag]" || !g.Time.Equal(t0) ||
		!jsonEqual(g.Vars, `{"action":"edit"}`) {
		t.Errorf("entry read back %+v", g)
	}
	got, _ = s.QueryLog(ctx, vigil.LogQuery{FilterID: 1, Wiki: "enwiki", WithProtected: true})
	if p := got[0].Protected; p == nil || p.IP != "1.2.3.4" || p.UserAgent != "curl/8" || !jsonEqual(p.Vars, `{"user_unnamed_ip":"1.2.3.4"}`) {
		t.Errorf("protected read back %+v", got[0].Protected)
	}
	got, _ = s.QueryLog(ctx, vigil.LogQuery{Wiki: "dewiki", WithProtected: true})
	if got[0].Protected != nil || !got[0].LogOnly || len(got[0].ActionsTaken) != 0 {
		t.Errorf("log-only entry read back %+v", got[0])
	}
}

// testPurgeProtected: protected data older than the cut goes, whatever the
// batch size; newer protected data and every entry itself stay.
func testPurgeProtected(t *testing.T, s vigil.Store) {
	t0 := time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
	var entries []*vigil.LogEntry
	for i := range 7 {
		e := &vigil.LogEntry{Wiki: "enwiki", FilterID: 1, FilterVersion: 1, Action: "edit", Performer: fmt.Sprintf("10.0.0.%d", i),
			PageTitle: "P", Vars: json.RawMessage(`{"action":"edit"}`), Time: t0.Add(time.Duration(i) * 24 * time.Hour)}
		if i != 3 { // one entry without protected data
			e.Protected = &vigil.ProtectedData{IP: e.Performer, UserAgent: "ua", Vars: json.RawMessage(`{"user_unnamed_ip":"x"}`)}
		}
		entries = append(entries, e)
	}
	// Appended out of time order, in two batches: the purge goes by the
	// time each entry was logged, not by its ID.
	if err := s.AppendLog(ctx, []*vigil.LogEntry{entries[5], entries[0], entries[6]}); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendLog(ctx, []*vigil.LogEntry{entries[2], entries[4], entries[1], entries[3]}); err != nil {
		t.Fatal(err)
	}
	protectedIPs := func() map[string]bool {
		got, err := s.QueryLog(ctx, vigil.LogQuery{WithProtected: true, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(entries) {
			t.Fatalf("%d entries, want %d: a purge must keep the entries", len(got), len(entries))
		}
		ips := map[string]bool{}
		for _, e := range got {
			if e.Protected != nil {
				ips[e.Protected.IP] = true
			}
		}
		return ips
	}
	if _, err := s.PurgeProtected(ctx, t0, 0); err == nil {
		t.Error("PurgeProtected with batch 0: no error")
	}
	cut := t0.Add(4*24*time.Hour + time.Second) // entries 0-4 are older; 3 has nothing to purge
	n, err := s.PurgeProtected(ctx, cut, 2)     // three batches
	if err != nil || n != 4 {
		t.Fatalf("purged %d, %v; want 4", n, err)
	}
	if ips := protectedIPs(); fmt.Sprint(ips) != "map[10.0.0.5:true 10.0.0.6:true]" {
		t.Errorf("protected data left for %v, want only the entries newer than the cut", ips)
	}
	if n, err := s.PurgeProtected(ctx, cut, 2); err != nil || n != 0 {
		t.Errorf("a second purge: %d, %v; want nothing left to purge", n, err)
	}
	got, err := s.QueryLog(ctx, vigil.LogQuery{Performer: "10.0.0.0"})
	if err != nil || len(got) != 1 || !jsonEqual(got[0].Vars, `{"action":"edit"}`) {
		t.Errorf("a purged entry's public part: %v, %v", got, err)
	}
}

func jsonEqual(raw json.RawMessage, want string) bool {
	var a, b any
	if json.Unmarshal(raw, &a) != nil || json.Unmarshal([]byte(want), &b) != nil {
		return false
	}
	return fmt.Sprint(a) == fmt.Sprint(b)
}

func testLogPaging(t *testing.T, s vigil.Store) {
	var entries []*vigil.LogEntry
	for i := range 23 {
		entries = append(entries, &vigil.LogEntry{Wiki: "enwiki", FilterID: 7, Action: "edit", Performer: "X",
			PageTitle: fmt.Sprint("P", i), Time: time.Unix(int64(i), 0)})
	}
	if err := s.AppendLog(ctx, entries); err != nil {
		t.Fatal(err)
	}
	seen := map[int64]bool{}
	var after int64
	pages := 0
	for {
		page, err := s.QueryLog(ctx, vigil.LogQuery{FilterID: 7, Limit: 10, After: after})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		pages++
		for i, e := range page {
			if seen[e.ID] || i > 0 && e.ID >= page[i-1].ID {
				t.Fatalf("page %d: id %d repeated or out of order", pages, e.ID)
			}
			seen[e.ID] = true
		}
		after = page[len(page)-1].ID
	}
	if len(seen) != 23 || pages != 3 {
		t.Errorf("%d entries in %d pages, want 23 in 3", len(seen), pages)
	}
}

func testBlocks(t *testing.T, s vigil.Store) {
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	put := func(target string, expiry time.Time, reason string, at time.Time, wantPlaced bool) {
		t.Helper()
		placed, err := s.PutBlock(ctx, &vigil.Block{Wiki: "enwiki", Target: target, Expiry: expiry, Reason: reason, Created: at})
		if err != nil || placed != wantPlaced {
			t.Fatalf("PutBlock(%s, %s) = %v, %v; want placed %v", target, reason, placed, err, wantPlaced)
		}
	}
	put("1.2.3.4", now.Add(time.Hour), "short", now, true)
	put("1.2.3.4", now.Add(48*time.Hour), "longer", now, false) // an active block is kept, as MediaWiki does
	put("Spammer", time.Time{}, "indefinite", now, true)
	put("10.0.0.0/16", now.Add(-time.Hour), "expired", now.Add(-2*time.Hour), true)
	put("10.0.0.0/16", now.Add(time.Hour), "renewed", now, true) // replaces the expired one
	blocks, err := s.ActiveBlocks(ctx, "enwiki", now)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, b := range blocks {
		got[b.Target] = b.Reason
		if b.Target == "1.2.3.4" && !b.Expiry.Equal(now.Add(time.Hour)) {
			t.Errorf("1.2.3.4 expires %v", b.Expiry)
		}
	}
	if fmt.Sprint(got) != "map[1.2.3.4:short 10.0.0.0/16:renewed Spammer:indefinite]" {
		t.Errorf("active blocks %v", got)
	}
	if b, _ := s.ActiveBlocks(ctx, "enwiki", now.Add(2*time.Hour)); len(b) != 1 || b[0].Target != "Spammer" {
		t.Errorf("two hours later: %v", b)
	}
	if b, _ := s.ActiveBlocks(ctx, "dewiki", now); len(b) != 0 {
		t.Errorf("blocks leak across wikis: %v", b)
	}
	// Unblocking ends the block; a second unblock finds nothing; the
	// target can be blocked again.
	if err := s.Unblock(ctx, "enwiki", "Spammer", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.Unblock(ctx, "enwiki", "Spammer", now.Add(2*time.Minute)); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Errorf("second unblock: %v", err)
	}
	if err := s.Unblock(ctx, "dewiki", "1.2.3.4", now); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Errorf("unblock on another wiki: %v", err)
	}
	if b, _ := s.ActiveBlocks(ctx, "enwiki", now.Add(2*time.Minute)); len(b) != 2 {
		t.Errorf("after unblock: %v", b)
	}
	put("Spammer", time.Time{}, "again", now.Add(3*time.Minute), true)
}

func testTokens(t *testing.T, s vigil.Store) {
	tok := &vigil.Token{Name: "mediawiki", Scopes: []string{vigil.ScopeScreen, vigil.ScopeReadLog}}
	if err := s.CreateToken(ctx, tok, []byte("hash-1")); err != nil {
		t.Fatal(err)
	}
	got, err := s.FindToken(ctx, []byte("hash-1"))
	if err != nil || got.ID != tok.ID || !got.Has(vigil.ScopeScreen) || got.Has(vigil.ScopeManageFilters) {
		t.Fatalf("FindToken: %+v, %v", got, err)
	}
	if _, err := s.FindToken(ctx, []byte("hash-2")); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Errorf("unknown token: %v", err)
	}
	if err := s.CreateToken(ctx, &vigil.Token{Name: "mediawiki"}, []byte("hash-3")); vigil.ErrorCode(err) != vigil.ECONFLICT {
		t.Errorf("duplicate name: %v", err)
	}
	if err := s.RevokeToken(ctx, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FindToken(ctx, []byte("hash-1")); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Errorf("revoked token still found: %v", err)
	}
	list, _ := s.ListTokens(ctx)
	if len(list) != 1 || !list[0].Revoked {
		t.Errorf("ListTokens %+v", list)
	}
	if err := s.RevokeToken(ctx, 999); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Errorf("revoke unknown: %v", err)
	}
}

func testAudit(t *testing.T, s vigil.Store) {
	for i := range 3 {
		if err := s.AppendAudit(ctx, &vigil.AuditEntry{Token: "t", Access: "log.protected", Resource: fmt.Sprint("filter=", i), Reason: "case 12"}); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.ListAudit(ctx, 0, 10)
	if err != nil || len(all) != 3 || all[2].Resource != "filter=2" || all[0].Reason != "case 12" || all[0].Time.IsZero() {
		t.Fatalf("ListAudit %+v, %v", all, err)
	}
	rest, _ := s.ListAudit(ctx, all[0].ID, 10)
	if len(rest) != 2 {
		t.Errorf("after first: %d entries", len(rest))
	}
}

func testRecent(t *testing.T, s vigil.Store) {
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var acts []*vigil.RecentAction
	for i := range 10 {
		acts = append(acts, &vigil.RecentAction{Wiki: "enwiki", Time: base.Add(time.Duration(i) * time.Hour), Payload: []byte{byte(i), 0, 255},
			Protected: []byte{byte(i), 7}})
	}
	acts = append(acts, &vigil.RecentAction{Wiki: "dewiki", Time: base, Payload: []byte("x")}) // nothing protected
	if err := s.AppendRecent(ctx, acts); err != nil {
		t.Fatal(err)
	}
	got, err := s.RecentActions(ctx, "enwiki", base.Add(5*time.Hour), 0, 100)
	if err != nil || len(got) != 5 || !bytes.Equal(got[0].Payload, []byte{9, 0, 255}) || !got[4].Time.Equal(base.Add(5*time.Hour)) ||
		!bytes.Equal(got[0].Protected, []byte{9, 7}) {
		t.Fatalf("RecentActions %d, %v", len(got), err)
	}
	if err := s.PruneRecent(ctx, base.Add(2*time.Hour), 5); err != nil {
		t.Fatal(err)
	}
	// Page by page: after the newest two, the next two.
	first, err := s.RecentActions(ctx, "enwiki", time.Time{}, 0, 2)
	if err != nil || len(first) != 2 {
		t.Fatalf("first page: %d, %v", len(first), err)
	}
	next, err := s.RecentActions(ctx, "enwiki", time.Time{}, first[1].ID, 2)
	if err != nil || len(next) != 2 || next[0].Payload[0] != 7 || next[1].Payload[0] != 6 {
		t.Fatalf("second page: %v, %v", next, err)
	}
	got, _ = s.RecentActions(ctx, "enwiki", time.Time{}, 0, 100)
	if len(got) != 5 || got[4].Payload[0] != 5 {
		t.Errorf("after prune: %d actions (oldest %v), want the 5 newest", len(got), got)
	}
	if de, _ := s.RecentActions(ctx, "dewiki", time.Time{}, 0, 100); len(de) != 0 {
		t.Errorf("dewiki's old action survived the age limit")
	}
}

func testStats(t *testing.T, s vigil.Store) {
	if err := s.AddStats(ctx, []*vigil.FilterStats{{FilterID: 1, Checked: 10, Matches: 2, TotalTimeNS: 500, Conditions: 30}}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddStats(ctx, []*vigil.FilterStats{{FilterID: 1, Checked: 5, Matches: 1, TotalTimeNS: 100, Conditions: 7, Overflows: 1},
		{FilterID: 2, Checked: 1, Errors: 1}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.LoadStats(ctx)
	if err != nil || len(got) != 2 {
		t.Fatalf("LoadStats %+v, %v", got, err)
	}
	if g := got[0]; g.Checked != 15 || g.Matches != 3 || g.TotalTimeNS != 600 || g.Conditions != 37 || g.Overflows != 1 {
		t.Errorf("filter 1 totals %+v", g)
	}
	if g := got[1]; g.Errors != 1 || g.Checked != 1 {
		t.Errorf("filter 2 totals %+v", g)
	}
}

// testText stores text that databases mangle easily: multibyte UTF-8,
// quotes, question marks (the parameter marker) and long rules.
func testText(t *testing.T, s vigil.Store) {
	f := newFilter("enwiki", `Spam "with" 'quotes' ? and é, 😀`)
	f.Pattern = `"?" in added_lines & summary rlike '\\?$' /* ' ? */` + string(bytes.Repeat([]byte(" & true"), 5000))
	if err := s.CreateFilter(ctx, f, "Ünïcode ?", "a ' quote"); err != nil {
		t.Fatal(err)
	}
	got, err := s.FindFilter(ctx, f.ID)
	if err != nil || got.Name != f.Name || got.Pattern != f.Pattern || got.UpdatedBy != "Ünïcode ?" {
		t.Fatalf("read back %q / %q, %v", got.Name, got.UpdatedBy, err)
	}
	h, _ := s.FilterHistory(ctx, f.ID)
	if h[0].Summary != "a ' quote" || h[0].Filter.Pattern != f.Pattern {
		t.Errorf("history lost text: %q", h[0].Summary)
	}
}

// BackfillEntries are the abuse-log entries, by ID and time, that a
// dialect's migration test writes, each with a protected row, into a
// database from before migration 00006 (which dates protected rows).
var BackfillEntries = map[int64]time.Time{
	1: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
	2: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
}

// CheckBackfilled checks, on the store opened over such a database (the
// migration applied), that a purge finds the old entry's protected row
// through the time the migration copied from the entry, and only it.
func CheckBackfilled(t *testing.T, s vigil.Store) {
	t.Helper()
	n, err := s.PurgeProtected(ctx, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), 100)
	if err != nil || n != 1 {
		t.Fatalf("purged %d, %v; want the one old entry's", n, err)
	}
	got, err := s.QueryLog(ctx, vigil.LogQuery{WithProtected: true})
	if err != nil || len(got) != 2 || got[0].ID != 2 || got[0].Protected == nil || got[1].Protected != nil {
		t.Fatalf("after the purge: %+v, %v", got, err)
	}
}
