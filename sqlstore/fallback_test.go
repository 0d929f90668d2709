package sqlstore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigilwiki/vigil"
	"github.com/vigilwiki/vigil/sqlite"
)

// TestJournalFallbackSharesDumps: when the journal cannot take a batch,
// its entries go to the database directly, with the dumps compressed for
// the journal's records: the entries of one action share one record in the
// dump files, and every entry reads back its own variables.
func TestJournalFallbackSharesDumps(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := sqlite.Open(ctx, filepath.Join(dir, "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.UseLogJournal(ctx, filepath.Join(dir, "log-journal"), nil); err != nil {
		t.Fatal(err)
	}
	entry := func(filter int64, vars json.RawMessage) *vigil.LogEntry {
		return &vigil.LogEntry{Wiki: "enwiki", FilterID: filter, FilterVersion: 1, Action: "edit", Performer: "P",
			PageTitle: "Page", Vars: vars, Time: time.Now(), Protected: &vigil.ProtectedData{IP: "192.0.2.1"}}
	}
	first := json.RawMessage(`{"new_wikitext":"` + strings.Repeat("first action ", 500) + `"}`)
	if err := s.AppendLog(ctx, []*vigil.LogEntry{entry(1, first)}); err != nil { // through the journal
		t.Fatal(err)
	}
	if err := s.CloseLogJournal(); err != nil {
		t.Fatal(err)
	}
	shared := json.RawMessage(`{"new_wikitext":"` + strings.Repeat("shared by three ", 500) + `"}`)
	own := json.RawMessage(`{"new_wikitext":"` + strings.Repeat("its own ", 500) + `"}`)
	batch := []*vigil.LogEntry{entry(2, shared), entry(3, shared), entry(4, shared), entry(5, own)}
	if err := s.AppendLog(ctx, batch); err != nil {
		t.Fatal(err)
	}
	got, err := s.QueryLog(ctx, vigil.LogQuery{Limit: 10, WithProtected: true})
	if err != nil || len(got) != 5 {
		t.Fatalf("%d entries, %v; want 5", len(got), err)
	}
	want := map[int64]json.RawMessage{1: first, 2: shared, 3: shared, 4: shared, 5: own}
	for _, e := range got {
		if !bytes.Equal(e.Vars, want[e.FilterID]) || e.Protected == nil || e.Protected.IP != "192.0.2.1" {
			t.Errorf("filter %d's entry read back %d bytes of variables (want %d), protected %+v", e.FilterID, len(e.Vars), len(want[e.FilterID]), e.Protected)
		}
	}
	rows, err := s.DB().Query(`SELECT filter_id, dump_file, dump_offset FROM abuse_log WHERE filter_id > 1 ORDER BY filter_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var places []string
	for rows.Next() {
		var id, file, off int64
		if err := rows.Scan(&id, &file, &off); err != nil {
			t.Fatal(err)
		}
		places = append(places, fmt.Sprint(file, ":", off))
	}
	if len(places) != 4 || places[0] != places[1] || places[1] != places[2] || places[2] == places[3] {
		t.Errorf("dump places %v: want the first three shared, the fourth apart", places)
	}
}
