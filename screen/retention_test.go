package screen_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/vigilwiki/vigil"
	"github.com/vigilwiki/vigil/screen"
)

// TestPurgeProtected: after 90 days (the default) an entry's IP address,
// user agent and protected variables are gone, the entry itself stays;
// newer entries keep theirs; more entries than one batch all go.
func TestPurgeProtected(t *testing.T) {
	f := newFixture(t, screen.Config{})
	f.filter(t, "casino", `added_lines irlike "casino"`, map[string][]string{"tag": {"spam"}})
	old := edit("192.0.2.1", "casino")
	old.UserAgent = "old-agent"
	f.screen(t, old)
	// Many more old entries, straight into the log: more than one batch.
	var bulk []*vigil.LogEntry
	for i := range 2500 {
		bulk = append(bulk, &vigil.LogEntry{Wiki: "enwiki", FilterID: 1, Action: "edit", Performer: fmt.Sprint("bulk", i),
			PageTitle: "P", Vars: json.RawMessage(`{}`), Time: f.clock.now(), Protected: &vigil.ProtectedData{IP: "192.0.2.9"}})
	}
	if err := f.store.AppendLog(ctx, bulk); err != nil {
		t.Fatal(err)
	}
	f.clock.add(89 * 24 * time.Hour)
	young := edit("198.51.100.7", "casino")
	young.UserAgent = "young-agent"
	f.screen(t, young)

	if n := f.engine.PurgeProtected(ctx); n != 0 {
		t.Fatalf("at 89 days %d entries purged, want none", n)
	}
	f.clock.add(2 * 24 * time.Hour) // the first entries are 91 days old, the young one 2 days
	if n := f.engine.PurgeProtected(ctx); n != 2501 {
		t.Fatalf("at 91 days %d entries purged, want 2501", n)
	}
	if n, last, on := f.engine.PurgeStatus(); n != 2501 || !last.Equal(f.clock.now()) || !on {
		t.Errorf("PurgeStatus %d, %v, %v; want 2501 at %v, on", n, last, on, f.clock.now())
	}
	got, err := f.store.QueryLog(ctx, vigil.LogQuery{Wiki: "enwiki", FilterID: 1, WithProtected: true, Limit: 500, PageTitle: "Example"})
	if err != nil || len(got) != 2 {
		t.Fatalf("entries on the page: %d, %v; want both", len(got), err)
	}
	if p := got[0].Protected; p == nil || p.IP != "198.51.100.7" || p.UserAgent != "young-agent" {
		t.Errorf("the young entry's protected data: %+v", p)
	}
	if got[1].Protected != nil || got[1].Performer != "192.0.2.1" || len(got[1].Vars) < 100 {
		t.Errorf("the old entry: protected %+v, performer %q, %d bytes of variables", got[1].Protected, got[1].Performer, len(got[1].Vars))
	}
}

// TestPurgeProtectedForever: a negative age keeps protected data.
func TestPurgeProtectedForever(t *testing.T) {
	f := newFixture(t, screen.Config{ProtectedMaxAge: -1})
	f.filter(t, "casino", `added_lines irlike "casino"`, map[string][]string{"tag": {"spam"}})
	f.screen(t, edit("192.0.2.1", "casino"))
	f.clock.add(10 * 365 * 24 * time.Hour)
	if n := f.engine.PurgeProtected(ctx); n != 0 {
		t.Fatalf("%d purged, want none", n)
	}
	if _, _, on := f.engine.PurgeStatus(); on {
		t.Error("PurgeStatus says protected data expires")
	}
	got, err := f.store.QueryLog(ctx, vigil.LogQuery{WithProtected: true})
	if err != nil || len(got) != 1 || got[0].Protected == nil || got[0].Protected.IP != "192.0.2.1" {
		t.Fatalf("after ten years: %+v, %v", got, err)
	}
}
