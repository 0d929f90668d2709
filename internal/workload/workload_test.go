package workload

import (
	"encoding/json"
	"testing"
)

// TestDumps: each dump holds an edit's old wikitext (of a 5-50 KB page),
// its new wikitext and its user, and the edits differ.
func TestDumps(t *testing.T) {
	dumps := New("enwiki", 1, 10).Dumps(20)
	if len(dumps) != 20 {
		t.Fatalf("%d dumps, want 20", len(dumps))
	}
	seen := map[string]bool{}
	for i, d := range dumps {
		var m map[string]string
		if err := json.Unmarshal(d, &m); err != nil {
			t.Fatalf("dump %d: %v", i, err)
		}
		_, hasNew := m["new_wikitext"] // empty after a blanking
		if len(m["old_wikitext"]) < 4000 || !hasNew || m["user_name"] == "" {
			t.Errorf("dump %d: old %d bytes, new %v, user %q", i, len(m["old_wikitext"]), hasNew, m["user_name"])
		}
		seen[m["new_wikitext"]] = true
	}
	if len(seen) < 15 {
		t.Errorf("%d distinct new texts in 20 dumps", len(seen))
	}
}
