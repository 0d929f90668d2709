// Package follow follows a wiki from outside: it turns what a MediaWiki
// emits (Wikimedia EventStreams, the UDP RC feed, the Action API's
// list=recentchanges, or a JSONL file of recorded events) into one
// normalized Event, and fetches what filters need that events lack
// (revision wikitext, user facts) through a Fetcher.
//
// Every source reports, with each event, the position to resume from; the
// caller persists it after handling the event and passes it back when it
// starts the source again.
package follow

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/vigilwiki/vigil"
)

// Change types, as in recentchange's "type" (rc_type).
const (
	TypeEdit       = "edit"
	TypeNew        = "new"
	TypeLog        = "log"
	TypeCategorize = "categorize"
	TypeExternal   = "external"
)

// Where events come from (Event.Source).
const (
	SourceEventStreams = "eventstreams"
	SourceRCFeed       = "rcfeed"
	SourceAPI          = "api"
	SourceFile         = "file"
)

// Event is one change on a wiki, normalized from any source.
//
// Fields a source does not carry are zero: the recentchange schema has no
// page id (PageID is 0) and no user id; revision-create has no old length.
type Event struct {
	Wiki string `json:"wiki"` // wiki id (database name), e.g. "enwiki"
	// Type is TypeEdit, TypeNew, TypeLog, TypeCategorize or TypeExternal.
	Type string `json:"type"`
	// LogType and LogAction name a log entry (Type is TypeLog), e.g.
	// move/move, delete/delete, upload/upload, newusers/create,
	// newusers/autocreate, block/block, abusefilter/hit.
	LogType   string `json:"log_type,omitempty"`
	LogAction string `json:"log_action,omitempty"`
	LogID     int64  `json:"log_id,omitempty"`
	// LogParams are the log entry's parameters as the source sent them:
	// their shape differs between the RC feed (legacy names, e.g. a move's
	// {"target","noredir"}) and the API ({"target_ns","target_title"}).
	LogParams json.RawMessage `json:"log_params,omitempty"`

	Namespace int `json:"namespace"`
	// Title is the page title without its namespace prefix, with spaces;
	// PrefixedTitle is the full title, e.g. "User talk:Example".
	Title         string `json:"title"`
	PrefixedTitle string `json:"prefixed_title"`
	PageID        int64  `json:"page_id,omitempty"`
	// Target is a move's destination (LogType "move"), when known.
	Target *Target `json:"target,omitempty"`

	RCID int64 `json:"rcid,omitempty"`
	// OldRevID is the revision before the change (0: none, as for a new
	// page, or unknown) and NewRevID the one it made. A log entry from the
	// Action API may carry the null revision its action made (a move, a
	// protection); from page-delete, OldRevID is the page's last revision.
	OldRevID int64 `json:"old_rev_id,omitempty"`
	NewRevID int64 `json:"new_rev_id,omitempty"`
	OldLen   *int  `json:"old_len,omitempty"` // bytes; nil: none or unknown
	NewLen   *int  `json:"new_len,omitempty"`

	User   string `json:"user"`              // name or IP address
	UserID int64  `json:"user_id,omitempty"` // when the source has it
	Bot    bool   `json:"bot,omitempty"`
	// Performer holds the facts revision-create events carry about the
	// user (groups, edit count, registration); nil for other schemas.
	Performer *User `json:"performer,omitempty"`

	Minor     bool      `json:"minor,omitempty"`
	Patrolled *bool     `json:"patrolled,omitempty"`
	Timestamp time.Time `json:"timestamp"`
	Comment   string    `json:"comment"`
	Tags      []string  `json:"tags,omitempty"`
	SHA1      string    `json:"sha1,omitempty"` // hex (API) or base-36 (revision-create), as sent
	// ContentModel is the new revision's model (revision-create only).
	ContentModel string `json:"content_model,omitempty"`
	// NullRevision marks a revision-create event for a revision that did
	// not change the content (a protection, a page move): not an edit.
	NullRevision bool `json:"null_revision,omitempty"`

	// ServerURL ("https://en.wikipedia.org"), ServerName and ScriptPath
	// ("/w"; "" for the root) locate the wiki's Action API: see APIURL.
	ServerURL  string `json:"server_url,omitempty"`
	ServerName string `json:"server_name,omitempty"`
	ScriptPath string `json:"script_path,omitempty"`

	Source string `json:"source"`           // SourceEventStreams, SourceRCFeed, ...
	Stream string `json:"stream,omitempty"` // e.g. "mediawiki.recentchange"
	MetaID string `json:"meta_id,omitempty"`
	// Position is where to resume the source after this event, in the
	// source's own form (see each source); persist it once the event is
	// handled.
	Position string `json:"position,omitempty"`
}

// ActionKind names the vigil action (vigil.ActionEdit, ActionMove, ...)
// that the change was, or "" for a change Vigil does not screen (a
// categorization, a block, a null revision, a Wikidata "external" change).
// Page creations are edits, as in AbuseFilter.
func (e *Event) ActionKind() string {
	switch e.Type {
	case TypeEdit, TypeNew:
		if e.NullRevision {
			return ""
		}
		return vigil.ActionEdit
	case TypeLog:
		switch e.LogType + "/" + e.LogAction {
		case "move/move", "move/move_redir":
			return vigil.ActionMove
		case "delete/delete":
			return vigil.ActionDelete
		case "upload/upload", "upload/overwrite", "upload/revert":
			return vigil.ActionUpload
		case "newusers/create", "newusers/create2", "newusers/byemail":
			return vigil.ActionCreateAccount
		case "newusers/autocreate":
			return vigil.ActionAutoCreateAccount
		}
	}
	return ""
}

// Target is a move's destination. Namespace is nil when only the prefixed
// title is known (the RC feed's legacy move parameters).
type Target struct {
	Namespace     *int   `json:"namespace,omitempty"`
	PrefixedTitle string `json:"prefixed_title"`
}

// APIURL is the wiki's Action API endpoint derived from the event, or ""
// when the event does not say where the wiki is.
func (e *Event) APIURL() string {
	if e.ServerURL == "" {
		return ""
	}
	return strings.TrimSuffix(e.ServerURL, "/") + strings.TrimSuffix(e.ScriptPath, "/") + "/api.php"
}

// MoveTarget returns a move's destination from Target or, failing that,
// from the log parameters of either shape; ok is false when the event is
// not a move or names no target.
func (e *Event) MoveTarget() (t Target, ok bool) {
	if e.Target != nil {
		return *e.Target, true
	}
	if e.Type != TypeLog || e.LogType != "move" {
		return Target{}, false
	}
	var p struct {
		Target      string `json:"target"`       // RC feed, EventStreams
		TargetNS    *int   `json:"target_ns"`    // Action API
		TargetTitle string `json:"target_title"` // Action API: prefixed
	}
	if json.Unmarshal(e.LogParams, &p) != nil {
		return Target{}, false
	}
	switch {
	case p.TargetTitle != "":
		return Target{Namespace: p.TargetNS, PrefixedTitle: p.TargetTitle}, true
	case p.Target != "":
		return Target{PrefixedTitle: p.Target}, true
	}
	return Target{}, false
}

// Handler handles one event. An error stops the source, which returns it;
// the event's position is then not to be persisted.
type Handler func(ctx context.Context, ev Event) error

// Source yields events until ctx is done, the handler fails, or (for a
// file) the input ends. Run returns ctx.Err() when stopped by ctx, nil at
// the end of a file.
type Source interface {
	Run(ctx context.Context, h Handler) error
}

// splitTitle returns a prefixed title's part after the namespace prefix.
// Namespace names cannot contain ':', so for a namespace other than 0 the
// prefix ends at the first colon.
func splitTitle(ns int, prefixed string) string {
	if ns == 0 {
		return prefixed
	}
	if i := strings.IndexByte(prefixed, ':'); i >= 0 {
		return prefixed[i+1:]
	}
	return prefixed
}

// wikiSet filters events by wiki id; an empty set keeps every wiki.
type wikiSet map[string]bool

func newWikiSet(wikis []string) wikiSet {
	if len(wikis) == 0 {
		return nil
	}
	s := make(wikiSet, len(wikis))
	for _, w := range wikis {
		s[w] = true
	}
	return s
}

func (s wikiSet) keep(wiki string) bool { return s == nil || s[wiki] }
