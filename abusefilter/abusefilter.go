// Package abusefilter converts filters between Vigil and AbuseFilter's own
// shapes: the abuse_filter rows of a wiki's database (as in
// ../shared/testdata/abusefilter/real-filters.jsonl) and the JSON of
// AbuseFilter's filter export (FilterImporter).
package abusefilter

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/vigilwiki/vigil"
)

// Row is an abuse_filter row as public database dumps give it: the action
// names without their parameters.
type Row struct {
	Wiki           string `json:"wiki"`
	ID             int64  `json:"af_id"`
	Description    string `json:"description"`
	Enabled        bool   `json:"enabled"`
	Deleted        bool   `json:"deleted"`
	Hidden         bool   `json:"hidden"`
	Actions        string `json:"actions"` // comma-separated names
	Pattern        string `json:"pattern"`
	Group          string `json:"group,omitempty"`
	Global         bool   `json:"global,omitempty"`
	LastModified   string `json:"last_modified,omitempty"`
	LastModifiedBy string `json:"last_modified_by,omitempty"`
}

// AbuseFilter's edit form offers these throttle limits when a filter
// manager ticks throttle (AbuseFilterViewEdit): 3 actions in 60 seconds,
// counted per user.
var defaultThrottle = []string{"3,60", "user"}

// FromRow makes a filter of a row. A row names its actions without their
// parameters. A throttle gets the limits AbuseFilter's edit form offers
// (defaultThrottle): left out, it would turn a filter that acts (and
// logs) only on repeated matches into one that disallows, blocks or logs
// at every match. Tags cannot be guessed, so tag is left out. notes say
// what was made up or left out, for the filter manager to check.
func FromRow(r Row) (f *vigil.Filter, notes []string) {
	f = &vigil.Filter{Wiki: r.Wiki, Group: r.Group, Global: r.Global, Name: r.Description, Pattern: r.Pattern,
		Enabled: r.Enabled && !r.Deleted, Deleted: r.Deleted, Actions: map[string][]string{}}
	if f.Name == "" {
		f.Name = fmt.Sprintf("Filter %d", r.ID)
	}
	if r.Hidden {
		f.Privacy = vigil.Private
	}
	f.Notes = fmt.Sprintf("Imported from %s filter %d.", r.Wiki, r.ID)
	for _, a := range strings.Split(r.Actions, ",") {
		switch a = strings.TrimSpace(a); a {
		case "":
		case "throttle":
			f.Actions[a] = append([]string{fmt.Sprint(r.ID)}, defaultThrottle...)
			notes = append(notes, "throttle given AbuseFilter's default limits (3 actions in 60 s per user)")
		case "tag":
			notes = append(notes, "tag left out (the row does not name its tags)")
		default:
			f.Actions[a] = []string{}
		}
	}
	f.Normalize()
	return f, notes
}

// Export is AbuseFilter's export format: exactly "data" and "actions".
type Export struct {
	Data    ExportData          `json:"data"`
	Actions map[string][]string `json:"actions"`
}

// ExportData is the "data" object, with AbuseFilter's key order.
type ExportData struct {
	Rules    string              `json:"rules"`
	Name     string              `json:"name"`
	Comments string              `json:"comments"`
	Group    string              `json:"group"`
	Actions  map[string][]string `json:"actions"`
	Enabled  bool                `json:"enabled"`
	Deleted  bool                `json:"deleted"`
	Hidden   bool                `json:"hidden"`
	Global   bool                `json:"global"`
}

// ToExport writes a filter in AbuseFilter's export format.
func ToExport(f *vigil.Filter) Export {
	actions := map[string][]string{}
	for k, v := range f.Actions {
		actions[k] = slices.Clone(v)
		if actions[k] == nil {
			actions[k] = []string{}
		}
	}
	return Export{Data: ExportData{Rules: f.Pattern, Name: f.Name, Comments: f.Notes, Group: f.Group, Actions: actions,
		Enabled: f.Enabled, Deleted: f.Deleted, Hidden: f.Privacy != vigil.Public, Global: f.Global}, Actions: actions}
}

// FromExport reads AbuseFilter's export format for a wiki. Like
// AbuseFilter's importer it refuses any other shape.
func FromExport(raw []byte, wiki string) (*vigil.Filter, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, fmt.Errorf("not AbuseFilter export JSON: %w", err)
	}
	if len(top) != 2 || top["data"] == nil || top["actions"] == nil {
		return nil, fmt.Errorf(`not AbuseFilter export JSON: the object must hold exactly "data" and "actions"`)
	}
	var e Export
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return nil, fmt.Errorf("not AbuseFilter export JSON: %w", err)
	}
	f := &vigil.Filter{Wiki: wiki, Group: e.Data.Group, Global: e.Data.Global, Name: e.Data.Name, Pattern: e.Data.Rules,
		Notes: e.Data.Comments, Enabled: e.Data.Enabled, Deleted: e.Data.Deleted, Actions: e.Actions}
	if e.Data.Hidden {
		f.Privacy = vigil.Private
	}
	f.Normalize()
	return f, nil
}
