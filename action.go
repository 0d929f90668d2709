package vigil

import (
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigilwiki/vigil/rules/textfunc"
	"github.com/vigilwiki/vigil/rules/validutf8"
)

// Action kinds, as AbuseFilter names them in its "action" variable.
const (
	ActionEdit              = "edit"
	ActionCreateAccount     = "createaccount"
	ActionAutoCreateAccount = "autocreateaccount"
	ActionMove              = "move"
	ActionDelete            = "delete"
	ActionUpload            = "upload"
	ActionStashUpload       = "stashupload"
)

// ActionKinds lists the actions Vigil screens.
var ActionKinds = []string{ActionEdit, ActionCreateAccount, ActionAutoCreateAccount, ActionMove, ActionDelete,
	ActionUpload, ActionStashUpload}

// Action is one wiki action to screen, with what MediaWiki knows when it
// is about to save it. Fields a caller does not know may be left out:
// Vigil derives what it can (diffs, sizes, links) and the rest reads as
// null in filters, as in AbuseFilter.
type Action struct {
	Wiki   string `json:"wiki"`
	Action string `json:"action"`
	// Time is when the action happens; default now.
	Time time.Time `json:"time,omitzero"`
	// Group is the filter group to run; default "default".
	Group string `json:"group,omitempty"`

	Performer Performer `json:"performer"`
	// IP and UserAgent are protected data: kept apart from the abuse log's
	// public part and read only with the read-protected scope.
	IP        string `json:"ip,omitempty"`
	UserAgent string `json:"user_agent,omitempty"`
	// Session identifies the caller's session (or edit token) for
	// AbuseFilter's warn-once rule; it is never stored, only hashed.
	Session string `json:"session,omitempty"`

	Page *Page `json:"page,omitempty"` // the page acted on (edit, delete, upload; move: the source)
	// Target is the destination of a move.
	Target *Page `json:"target,omitempty"`

	Summary     *string `json:"summary,omitempty"`
	OldWikitext *string `json:"old_wikitext,omitempty"`
	NewWikitext *string `json:"new_wikitext,omitempty"`
	// OldWikitextDelta may stand for OldWikitext: the old text told by
	// what it shares with NewWikitext, which for most edits is nearly all
	// of it. A request then carries the page once rather than twice.
	// Validate replaces it by the OldWikitext it stands for.
	OldWikitextDelta *TextDelta `json:"old_wikitext_delta,omitempty"`
	NewPST           *string    `json:"new_pst,omitempty"` // the pre-save transformed text, if known
	// NewPSTDelta may stand for NewPST as OldWikitextDelta does for
	// OldWikitext: the pre-save transform leaves most of a text as it is.
	NewPSTDelta     *TextDelta `json:"new_pst_delta,omitempty"`
	NewHTML         *string    `json:"new_html,omitempty"` // the parsed text, if known
	OldContentModel *string    `json:"old_content_model,omitempty"`
	NewContentModel *string    `json:"new_content_model,omitempty"`
	OldLinks        []string   `json:"old_links,omitempty"` // external links before, if known
	NewLinks        []string   `json:"new_links,omitempty"` // external links after, if known
	AccountName     string     `json:"account_name,omitempty"`
	File            *File      `json:"file,omitempty"`
}

// Performer is who acts.
type Performer struct {
	Name string `json:"name"`
	ID   int64  `json:"id,omitempty"` // 0 for an IP or a temporary user not yet saved
	// Type is "named", "temp" or "ip"; default "ip" when ID is 0, else
	// "named".
	Type           string     `json:"type,omitempty"`
	Groups         []string   `json:"groups,omitempty"`
	Rights         []string   `json:"rights,omitempty"`
	EditCount      *int64     `json:"edit_count,omitempty"`
	Registration   *time.Time `json:"registration,omitempty"`
	Blocked        bool       `json:"blocked,omitempty"`
	EmailConfirmed *time.Time `json:"email_confirmed,omitempty"`
}

// Registered reports whether the performer has an account.
func (p *Performer) Registered() bool { return p.ID != 0 || p.Type == "named" || p.Type == "temp" }

// Page is a page as it is before the action.
type Page struct {
	ID        int64  `json:"id,omitempty"` // 0: the page does not exist yet
	Namespace int    `json:"namespace"`
	Title     string `json:"title"` // without the namespace prefix
	// Restrictions are the protection levels by action (edit, move,
	// create, upload), e.g. {"edit": ["autoconfirmed"]}.
	Restrictions map[string][]string `json:"restrictions,omitempty"`
	// Created is the time of the page's first revision.
	Created            *time.Time `json:"created,omitempty"`
	FirstContributor   string     `json:"first_contributor,omitempty"`
	RecentContributors []string   `json:"recent_contributors,omitempty"`
}

// TextDelta is a text told by another one: the other's first Start bytes,
// then Middle, then the other's last End bytes. Start and End count bytes
// of UTF-8 and fall on character boundaries of the other text.
type TextDelta struct {
	Start  int    `json:"start"`
	Middle string `json:"middle"`
	End    int    `json:"end"`
}

// DeltaFrom returns text as a TextDelta from other: what they share at
// their start and end, cut at character boundaries, and text's own bytes
// between. Both must be valid UTF-8 (as Validate demands of wikitexts) for
// the cuts to fall on boundaries.
func DeltaFrom(text, other string) TextDelta {
	start, end := textfunc.CommonAffixes(text, other)
	// Both texts are valid UTF-8 and agree on these bytes, so a cut
	// inside a character is inside the same character in both: move it
	// out of it.
	for start > 0 && start < len(text) && !utf8.RuneStart(text[start]) {
		start--
	}
	for end > 0 && end < len(text) && !utf8.RuneStart(text[len(text)-end]) {
		end--
	}
	return TextDelta{Start: start, Middle: text[start : len(text)-end], End: end}
}

// CompactTexts replaces OldWikitext and NewPST by deltas from NewWikitext
// (OldWikitextDelta, NewPSTDelta), each when that leaves out at least half
// of the text, as the MediaWiki extension sends edits.
func (a *Action) CompactTexts() {
	a.OldWikitext, a.OldWikitextDelta = compactText(a.OldWikitext, a.OldWikitextDelta, a.NewWikitext)
	a.NewPST, a.NewPSTDelta = compactText(a.NewPST, a.NewPSTDelta, a.NewWikitext)
}

// compactText is text as a delta from base when that leaves out at least
// half of it; else text as it is.
func compactText(text *string, delta *TextDelta, base *string) (*string, *TextDelta) {
	if text == nil || base == nil || delta != nil || *text == "" {
		return text, delta
	}
	d := DeltaFrom(*text, *base)
	if 2*len(d.Middle) > len(*text) {
		return text, delta
	}
	return nil, &d
}

// resolveDeltas replaces OldWikitextDelta and NewPSTDelta by the texts
// they stand for, after checking them. NewWikitext must have passed
// validText.
func (a *Action) resolveDeltas() error {
	var err error
	if a.OldWikitext, a.OldWikitextDelta, err = resolveDelta("old_wikitext", a.OldWikitext, a.OldWikitextDelta, a.NewWikitext); err != nil {
		return err
	}
	a.NewPST, a.NewPSTDelta, err = resolveDelta("new_pst", a.NewPST, a.NewPSTDelta, a.NewWikitext)
	return err
}

// resolveDelta checks d, field's delta from new_wikitext (base), and
// returns the text it stands for; errors name field+"_delta" and its parts.
func resolveDelta(field string, text *string, d *TextDelta, base *string) (*string, *TextDelta, error) {
	if d == nil {
		return text, nil, nil
	}
	name := field + "_delta"
	switch {
	case text != nil:
		return text, d, FieldError(name, "give %s or %s, not both", field, name)
	case base == nil:
		return text, d, FieldError(name, "stands for %s by its differences from new_wikitext, which is missing", field)
	case d.Start < 0:
		return text, d, FieldError(name+".start", "must not be negative")
	case d.End < 0:
		return text, d, FieldError(name+".end", "must not be negative")
	}
	other := *base
	switch {
	case d.Start > len(other) || d.End > len(other)-d.Start:
		return text, d, FieldError(name, "start %d and end %d overlap in a new_wikitext of %d bytes", d.Start, d.End, len(other))
	case d.Start+len(d.Middle)+d.End > MaxTextBytes:
		return text, d, FieldError(name, "stands for %d bytes; at most %d", d.Start+len(d.Middle)+d.End, MaxTextBytes)
	case d.Start < len(other) && !utf8.RuneStart(other[d.Start]):
		return text, d, FieldError(name+".start", "cuts a character of new_wikitext in two")
	case d.End > 0 && !utf8.RuneStart(other[len(other)-d.End]):
		return text, d, FieldError(name+".end", "cuts a character of new_wikitext in two")
	}
	if err := validText(name+".middle", d.Middle, MaxTextBytes, false); err != nil {
		return text, d, err
	}
	whole := other[:d.Start] + d.Middle + other[len(other)-d.End:]
	return &whole, nil, nil
}

// File describes an upload.
type File struct {
	SHA1           string `json:"sha1"` // 40 lowercase hex digits
	Size           int64  `json:"size"`
	MIME           string `json:"mime"`
	MediaType      string `json:"media_type,omitempty"`
	Width          int64  `json:"width,omitempty"`
	Height         int64  `json:"height,omitempty"`
	BitsPerChannel int64  `json:"bits_per_channel,omitempty"`
}

// Limits on an action's fields.
const (
	MaxTextBytes = 8 << 20 // a wikitext; MediaWiki's $wgMaxArticleSize is 2 MiB
	maxListItems = 10000
)

// Normalize fills defaults: the time, the group and the performer's type.
func (a *Action) Normalize(now time.Time) {
	if a.Time.IsZero() {
		a.Time = now
	}
	if a.Group == "" {
		a.Group = DefaultGroup
	}
	if a.Performer.Type == "" {
		a.Performer.Type = "named"
		if a.Performer.ID == 0 {
			a.Performer.Type = "ip"
		}
	}
}

// Validate checks an action and names the first wrong field. An
// OldWikitextDelta or NewPSTDelta is replaced by the text it stands for.
func (a *Action) Validate() error {
	if !validName(a.Wiki) {
		return FieldError("wiki", "a wiki id is 1 to 64 letters, digits, '_' or '-'")
	}
	known := false
	for _, k := range ActionKinds {
		known = known || a.Action == k
	}
	if !known {
		return FieldError("action", "unknown action %q; one of %s", a.Action, strings.Join(ActionKinds, ", "))
	}
	if !validName(a.Group) {
		return FieldError("group", "a group is 1 to 64 letters, digits, '_' or '-'")
	}
	if err := validText("performer.name", a.Performer.Name, MaxNameBytes, true); err != nil {
		return err
	}
	switch a.Performer.Type {
	case "named", "temp", "ip":
	default:
		return FieldError("performer.type", "one of named, temp, ip")
	}
	if a.Performer.Type == "ip" {
		if _, err := netip.ParseAddr(a.Performer.Name); err != nil {
			return FieldError("performer.name", "an IP performer's name is its address")
		}
	}
	if a.IP != "" {
		if _, err := netip.ParseAddr(a.IP); err != nil {
			return FieldError("ip", "not an IP address: %q", a.IP)
		}
	}
	if a.Performer.EditCount != nil && *a.Performer.EditCount < 0 {
		return FieldError("performer.edit_count", "must not be negative")
	}
	for _, f := range []struct {
		name string
		list []string
	}{{"performer.groups", a.Performer.Groups}, {"performer.rights", a.Performer.Rights},
		{"old_links", a.OldLinks}, {"new_links", a.NewLinks}} {
		if len(f.list) > maxListItems {
			return FieldError(f.name, "at most %d items", maxListItems)
		}
		for _, s := range f.list {
			if err := validText(f.name, s, MaxTextBytes, false); err != nil {
				return err
			}
		}
	}
	for name, p := range map[string]*Page{"page": a.Page, "target": a.Target} {
		if p == nil {
			continue
		}
		if err := validText(name+".title", p.Title, MaxNameBytes, true); err != nil {
			return err
		}
		if p.ID < 0 {
			return FieldError(name+".id", "must not be negative")
		}
		for k, levels := range p.Restrictions {
			switch k {
			case "edit", "move", "create", "upload":
			default:
				return FieldError(name+".restrictions", "unknown restriction %q; one of edit, move, create, upload", k)
			}
			for _, l := range levels {
				if err := validText(name+".restrictions."+k, l, MaxNameBytes, true); err != nil {
					return err
				}
			}
		}
		if err := validText(name+".first_contributor", p.FirstContributor, MaxNameBytes, false); err != nil {
			return err
		}
		for _, c := range p.RecentContributors {
			if err := validText(name+".recent_contributors", c, MaxNameBytes, true); err != nil {
				return err
			}
		}
	}
	switch a.Action {
	case ActionEdit, ActionDelete, ActionUpload, ActionStashUpload:
		if a.Page == nil {
			return FieldError("page", "an action %q needs the page", a.Action)
		}
	case ActionMove:
		if a.Page == nil || a.Target == nil {
			return FieldError("target", "a move needs the page and its target")
		}
	case ActionCreateAccount, ActionAutoCreateAccount:
		if err := validText("account_name", a.AccountName, MaxNameBytes, true); err != nil {
			return err
		}
	}
	for _, f := range []struct {
		name string
		s    *string
	}{{"summary", a.Summary}, {"old_wikitext", a.OldWikitext}, {"new_wikitext", a.NewWikitext},
		{"new_pst", a.NewPST}, {"new_html", a.NewHTML}, {"old_content_model", a.OldContentModel},
		{"new_content_model", a.NewContentModel}} {
		if f.s != nil {
			if err := validText(f.name, *f.s, MaxTextBytes, false); err != nil {
				return err
			}
		}
	}
	// After the texts' checks: a text made of the checked new text's parts
	// and a checked middle, cut at character boundaries, needs none.
	if err := a.resolveDeltas(); err != nil {
		return err
	}
	if a.File != nil {
		if len(a.File.SHA1) != 40 || strings.Trim(a.File.SHA1, "0123456789abcdef") != "" {
			return FieldError("file.sha1", "40 lowercase hexadecimal digits")
		}
		if a.File.Size < 0 || a.File.Width < 0 || a.File.Height < 0 || a.File.BitsPerChannel < 0 {
			return FieldError("file", "sizes must not be negative")
		}
	}
	return validText("user_agent", a.UserAgent, 4096, false)
}

// validText checks a string field: UTF-8 (the databases refuse anything
// else), no NUL byte, not too long, and not empty when required.
func validText(field, s string, max int, required bool) error {
	switch {
	case required && strings.TrimSpace(s) == "":
		return FieldError(field, "required")
	case len(s) > max:
		return FieldError(field, "%d bytes; at most %d", len(s), max)
	case !validutf8.String(s):
		return FieldError(field, "not valid UTF-8")
	case strings.IndexByte(s, 0) >= 0:
		return FieldError(field, "contains a NUL byte")
	}
	return nil
}
