package screen

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigilwiki/vigil"
	"github.com/vigilwiki/vigil/rules"
)

// The consequences of a filter, parsed from AbuseFilter's parameter lists
// (vigil.Filter.Actions) as AbuseFilter 1.39's ConsequencesExecutor reads
// them.

// Consequence names.
const (
	Throttle         = "throttle"
	Warn             = "warn"
	Disallow         = "disallow"
	Tag              = "tag"
	Block            = "block"
	RangeBlock       = "rangeblock"
	Degroup          = "degroup"
	BlockAutopromote = "blockautopromote"
)

// dangerous consequences are skipped while a filter is emergency-throttled,
// and make a disallow of the same filter redundant.
var dangerous = map[string]bool{Block: true, RangeBlock: true, Degroup: true, BlockAutopromote: true}

// order is the order consequences run in within a filter (AbuseFilter runs
// them in its database's order, by consequence name; the longest block
// goes last).
var order = []string{BlockAutopromote, Degroup, Disallow, RangeBlock, Tag, Throttle, Warn, Block}

// Defaults of AbuseFilter 1.39.
const (
	DefaultWarnMessage      = "abusefilter-warning"
	DefaultDisallowMessage  = "abusefilter-disallowed"
	BlockedMessage          = "abusefilter-blocked-display"
	DegroupedMessage        = "abusefilter-degrouped"
	AutopromoteMessage      = "abusefilter-autopromote-blocked"
	ConditionLimitTag       = "abusefilter-condition-limit"
	DefaultAnonBlockExpiry  = "indefinite" // $wgAbuseFilterAnonBlockDuration ?? $wgAbuseFilterBlockDuration
	DefaultUserBlockExpiry  = "indefinite" // $wgAbuseFilterBlockDuration
	RangeBlockExpiry        = 7 * 24 * time.Hour
	BlockAutopromoteSeconds = 5 * 86400
	RangeBlockV4            = 16
	RangeBlockV6            = 19
	ThrottleRangeV4         = 16
	ThrottleRangeV6         = 64
)

// ThrottleGroups are the identities a throttle can count by.
var ThrottleGroups = []string{"ip", "user", "range", "creationdate", "editcount", "site", "page"}

// ThrottleParams is a throttle: "only act when this filter matches more
// than Count times in Period for the same group".
type ThrottleParams struct {
	ID     string // AbuseFilter's throttle id (the filter id)
	Count  int64
	Period time.Duration
	Groups [][]string // each group is one or more identities, e.g. [user page]
}

// BlockParams are the parameters of a block.
type BlockParams struct {
	BlockTalk  bool   // the user talk page is blocked too
	AnonExpiry string // for IP performers
	UserExpiry string // for registered performers
}

// Consequences are a filter's parsed actions.
type Consequences struct {
	Names    []string // present consequences, in run order
	Throttle *ThrottleParams
	Warn     string // message key
	Disallow string // message key
	Tags     []string
	Block    *BlockParams
}

// Has reports whether the filter has consequence name.
func (c *Consequences) Has(name string) bool { return slices.Contains(c.Names, name) }

// isPositiveInt matches ^[1-9][0-9]*$.
func isPositiveInt(s string) bool {
	if s == "" || s[0] == '0' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isMessageKey matches ^[a-zA-Z0-9_.:-]{1,255}$. (As a Go regexp, the
// bounded repeat compiled to thousands of instructions when the package
// loaded: 3.5 ms and 3,385 allocations at the start of every vigil
// command.)
func isMessageKey(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

// ParseConsequences reads and checks a filter's actions; errors name the
// field ("actions.throttle[1]").
func ParseConsequences(actions map[string][]string) (*Consequences, error) {
	c := &Consequences{}
	for name, params := range actions {
		field := "actions." + name
		switch name {
		case Throttle:
			t, err := parseThrottle(field, params)
			if err != nil {
				return nil, err
			}
			c.Throttle = t
		case Warn, Disallow:
			msg := DefaultWarnMessage
			if name == Disallow {
				msg = DefaultDisallowMessage
			}
			if len(params) > 1 {
				return nil, vigil.FieldError(field, "takes at most one parameter, the message key")
			}
			if len(params) == 1 {
				if !isMessageKey(params[0]) {
					return nil, vigil.FieldError(field+"[0]", "a message key is 1 to 255 letters, digits and _.:-")
				}
				msg = params[0]
			}
			if name == Warn {
				c.Warn = msg
			} else {
				c.Disallow = msg
			}
		case Tag:
			if len(params) == 0 {
				return nil, vigil.FieldError(field, "give at least one tag")
			}
			for i, tag := range params {
				if tag == "" || len(tag) > 255 || strings.ContainsAny(tag, ",|/\n") {
					return nil, vigil.FieldError(fmt.Sprintf("%s[%d]", field, i), "a tag is 1 to 255 bytes without , | / or a newline")
				}
			}
			c.Tags = slices.Clone(params)
		case Block:
			b, err := parseBlock(field, params)
			if err != nil {
				return nil, err
			}
			c.Block = b
		case RangeBlock, Degroup, BlockAutopromote:
			// AbuseFilter 1.39 ignores their parameters.
		default:
			return nil, vigil.FieldError(field, "unknown consequence %q; one of %s", name,
				strings.Join([]string{Block, BlockAutopromote, Degroup, Disallow, RangeBlock, Tag, Throttle, Warn}, ", "))
		}
	}
	for _, name := range order {
		if _, ok := actions[name]; ok {
			c.Names = append(c.Names, name)
		}
	}
	return c, nil
}

func parseThrottle(field string, params []string) (*ThrottleParams, error) {
	if len(params) < 3 {
		return nil, vigil.FieldError(field, `give the throttle id, "count,period" and at least one group, e.g. ["12", "3,60", "user"]`)
	}
	t := &ThrottleParams{ID: params[0]}
	if t.ID == "" {
		return nil, vigil.FieldError(field+"[0]", "the throttle id must not be empty")
	}
	cp := strings.Split(params[1], ",")
	if len(cp) != 2 || !isPositiveInt(cp[0]) || !isPositiveInt(cp[1]) {
		return nil, vigil.FieldError(field+"[1]", `"count,period" with two positive integers, e.g. "3,60"`)
	}
	count, err1 := strconv.ParseInt(cp[0], 10, 64)
	period, err2 := strconv.ParseInt(cp[1], 10, 64)
	if err1 != nil || err2 != nil || period > 10*365*86400 {
		return nil, vigil.FieldError(field+"[1]", "count or period out of range")
	}
	t.Count, t.Period = count, time.Duration(period)*time.Second
	seen := map[string]bool{}
	for i, g := range params[2:] {
		parts := strings.Split(g, ",")
		inGroup := map[string]bool{}
		for _, p := range parts {
			if !slices.Contains(ThrottleGroups, p) {
				return nil, vigil.FieldError(fmt.Sprintf("%s[%d]", field, i+2), "unknown throttle group %q; one of %s", p, strings.Join(ThrottleGroups, ", "))
			}
			if inGroup[p] {
				return nil, vigil.FieldError(fmt.Sprintf("%s[%d]", field, i+2), "%q twice in one group", p)
			}
			inGroup[p] = true
		}
		sorted := slices.Clone(parts)
		slices.Sort(sorted)
		key := strings.Join(sorted, ",")
		if seen[key] {
			return nil, vigil.FieldError(fmt.Sprintf("%s[%d]", field, i+2), "group %q twice", g)
		}
		seen[key] = true
		t.Groups = append(t.Groups, parts)
	}
	return t, nil
}

func parseBlock(field string, params []string) (*BlockParams, error) {
	if len(params) != 3 {
		// AbuseFilter's legacy form: only maybe "blocktalk", and the
		// configured durations.
		return &BlockParams{BlockTalk: slices.Contains(params, "blocktalk"), AnonExpiry: DefaultAnonBlockExpiry,
			UserExpiry: DefaultUserBlockExpiry}, nil
	}
	b := &BlockParams{BlockTalk: params[0] == "blocktalk", AnonExpiry: params[1], UserExpiry: params[2]}
	if params[0] != "blocktalk" && params[0] != "noTalkBlockSet" {
		return nil, vigil.FieldError(field+"[0]", `"blocktalk" or "noTalkBlockSet"`)
	}
	probe := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, e := range params[1:] {
		if _, ok := ParseExpiry(e, probe); !ok {
			return nil, vigil.FieldError(fmt.Sprintf("%s[%d]", field, i+1), "not a block duration: %q (e.g. \"31 hours\", \"1 week\", \"infinity\")", e)
		}
	}
	return b, nil
}

// CheckFilter checks a filter before it is saved: its fields, its rule
// (AbuseFilter's syntax check, with the error's place) and its
// consequences. Nothing half-valid is saved.
func CheckFilter(f *vigil.Filter) error {
	f.Normalize()
	if err := f.Validate(); err != nil {
		return err
	}
	if rerr, _ := rules.CheckSyntax(f.Pattern); rerr != nil {
		return &vigil.Error{Code: vigil.EINVALID, Field: "pattern", Message: rerr.Format(f.Pattern)}
	}
	if _, err := ParseConsequences(f.Actions); err != nil {
		return err
	}
	return nil
}
