package abusefilter_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilwiki/vigil/abusefilter"
	"github.com/vigilwiki/vigil/screen"
)

// TestFromRow: a row names its actions without parameters. A throttle gets
// the limits AbuseFilter's edit form offers, tags are left out, and the
// notes say both.
func TestFromRow(t *testing.T) {
	tests := []struct {
		actions   string
		want      []string // the filter's consequences, in run order
		throttle  bool
		noteWords []string
	}{
		{"", nil, false, nil},
		{"disallow,warn", []string{screen.Disallow, screen.Warn}, false, nil},
		{"throttle,tag", []string{screen.Throttle}, true, []string{"throttle", "3 actions in 60 s per user", "tag left out"}},
		{"throttle,disallow", []string{screen.Disallow, screen.Throttle}, true, []string{"throttle"}},
		{"tag", nil, false, []string{"tag left out"}},
	}
	for _, tt := range tests {
		t.Run(tt.actions, func(t *testing.T) {
			f, notes := abusefilter.FromRow(abusefilter.Row{Wiki: "enwiki", ID: 279, Enabled: true, Actions: tt.actions,
				Pattern: `!"confirmed" in user_groups`, Description: "Repeated attempts to vandalize"})
			if err := screen.CheckFilter(f); err != nil {
				t.Fatalf("the imported filter is refused: %v", err)
			}
			c, err := screen.ParseConsequences(f.Actions)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(c.Names, tt.want) {
				t.Errorf("consequences %v, want %v", c.Names, tt.want)
			}
			if tt.throttle {
				th := c.Throttle
				if th == nil || th.ID != "279" || th.Count != 3 || th.Period != time.Minute || len(th.Groups) != 1 || !slices.Equal(th.Groups[0], []string{"user"}) {
					t.Errorf("throttle %+v, want filter 279's, 3 in 60 s per user", th)
				}
			}
			joined := strings.Join(notes, "; ")
			for _, w := range tt.noteWords {
				if !strings.Contains(joined, w) {
					t.Errorf("notes %q do not say %q", joined, w)
				}
			}
			if len(tt.noteWords) == 0 && len(notes) != 0 {
				t.Errorf("notes %q, want none", notes)
			}
		})
	}
}
