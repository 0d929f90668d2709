package vigil

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"
)

// Privacy is who may see a filter, as AbuseFilter's hidden and protected
// flags say.
type Privacy string

const (
	Public    Privacy = "public"
	Private   Privacy = "private"   // AbuseFilter's hidden filters: its pattern and log need a right
	Protected Privacy = "protected" // reads protected variables (user_unnamed_ip): its log needs that right too
)

// Filter is one edit filter, in AbuseFilter's terms: a rule and the
// consequences of a match.
type Filter struct {
	ID      int64  `json:"id"`
	Wiki    string `json:"wiki"`  // the wiki it belongs to; a global filter applies to every wiki too
	Group   string `json:"group"` // AbuseFilter's filter group; "default" unless set
	Global  bool   `json:"global"`
	Name    string `json:"name"` // AbuseFilter's public description
	Pattern string `json:"pattern"`
	Notes   string `json:"notes"`
	Enabled bool   `json:"enabled"`
	Deleted bool   `json:"deleted"`
	// LogOnly runs the filter and logs what it would have done, and does
	// nothing else (a shadow filter).
	LogOnly bool    `json:"log_only"`
	Privacy Privacy `json:"privacy"`
	// Actions are the consequences, in AbuseFilter's shape: consequence
	// name to its parameters ("warn": ["abusefilter-warning-spam"],
	// "throttle": ["3", "5,60", "ip"], "block": ["blocktalk", "1 week",
	// "indefinite"]).
	Actions map[string][]string `json:"actions"`
	// Throttled is set when the filter matched too many actions soon after
	// a change (AbuseFilter's emergency throttle): its dangerous
	// consequences (block, rangeblock, degroup, blockautopromote) are
	// skipped until it is saved again.
	Throttled bool `json:"throttled"`

	Version   int       `json:"version"` // the current version, from 1
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by"`
}

// FilterVersion is one saved state of a filter.
type FilterVersion struct {
	Filter  Filter    `json:"filter"` // as it was saved; Filter.Version is this version
	Author  string    `json:"author"`
	Summary string    `json:"summary"`
	Time    time.Time `json:"time"`
}

// DefaultGroup is AbuseFilter's default filter group.
const DefaultGroup = "default"

// Limits on a filter's fields.
const (
	MaxPatternBytes = 64 << 10 // AbuseFilter keeps patterns in a 64 KiB blob
	MaxNameBytes    = 255
	MaxNotesBytes   = 64 << 10
)

// Normalize fills the defaults of an incomplete filter.
func (f *Filter) Normalize() {
	if f.Group == "" {
		f.Group = DefaultGroup
	}
	if f.Privacy == "" {
		f.Privacy = Public
	}
	if f.Actions == nil {
		f.Actions = map[string][]string{}
	}
}

// Validate checks the fields that do not need the rule language; the
// pattern's syntax and the consequences' parameters are checked by the
// service, which knows them.
func (f *Filter) Validate() error {
	switch {
	case !validName(f.Wiki):
		return FieldError("wiki", "a wiki id is 1 to 64 letters, digits, '_' or '-'")
	case !validName(f.Group):
		return FieldError("group", "a group is 1 to 64 letters, digits, '_' or '-'")
	case strings.TrimSpace(f.Name) == "":
		return FieldError("name", "a filter needs a name (its public description)")
	case len(f.Name) > MaxNameBytes || !utf8.ValidString(f.Name):
		return FieldError("name", "at most %d bytes of UTF-8", MaxNameBytes)
	case strings.TrimSpace(f.Pattern) == "":
		return FieldError("pattern", "a filter needs a rule")
	case len(f.Pattern) > MaxPatternBytes:
		return FieldError("pattern", "the rule is %d bytes; at most %d are allowed", len(f.Pattern), MaxPatternBytes)
	case !utf8.ValidString(f.Pattern):
		return FieldError("pattern", "the rule is not valid UTF-8")
	case len(f.Notes) > MaxNotesBytes || !utf8.ValidString(f.Notes):
		return FieldError("notes", "at most %d bytes of UTF-8", MaxNotesBytes)
	}
	switch f.Privacy {
	case Public, Private, Protected:
	default:
		return FieldError("privacy", "one of public, private, protected")
	}
	return nil
}

func validName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// FilterQuery selects filters. Zero fields select everything.
type FilterQuery struct {
	Wiki           string // filters of this wiki, and global ones when WithGlobal
	WithGlobal     bool
	Group          string
	EnabledOnly    bool
	IncludeDeleted bool
}

// FilterStore keeps filters and their history. Every change is a new
// version, written with its author and summary in the same transaction.
type FilterStore interface {
	// CreateFilter saves a new filter as version 1 and sets its ID,
	// Version and times.
	CreateFilter(ctx context.Context, f *Filter, author, summary string) error
	// UpdateFilter saves f as the next version of filter f.ID. It returns
	// ENOTFOUND, or ECONFLICT when f.Version is not the current version
	// (someone saved meanwhile).
	UpdateFilter(ctx context.Context, f *Filter, author, summary string) error
	// FindFilter returns ENOTFOUND for an unknown id.
	FindFilter(ctx context.Context, id int64) (*Filter, error)
	ListFilters(ctx context.Context, q FilterQuery) ([]*Filter, error)
	// FilterHistory returns every version, newest first.
	FilterHistory(ctx context.Context, id int64) ([]*FilterVersion, error)
	// FindFilterVersion returns ENOTFOUND for an unknown id or version.
	FindFilterVersion(ctx context.Context, id int64, version int) (*FilterVersion, error)
	// SetFilterThrottled sets or clears the emergency throttle without a
	// new version. It returns ENOTFOUND.
	SetFilterThrottled(ctx context.Context, id int64, throttled bool) error
	// FiltersGeneration grows with every filter change, so that every
	// instance notices changes made through any of them.
	FiltersGeneration(ctx context.Context) (int64, error)
}
