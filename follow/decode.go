package follow

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ErrCanary is returned by DecodeEvent for the heartbeat events that
// Wikimedia's streams carry (meta.domain "canary"); consumers drop them.
var ErrCanary = errors.New("canary event")

// ErrUnknownSchema is returned (wrapped, with the schema) by DecodeEvent
// for an event of a schema it does not know, e.g. revision-score.
var ErrUnknownSchema = errors.New("unknown event schema")

// maxEventBytes bounds one event's JSON, whatever its source.
const maxEventBytes = 4 << 20

type rawMeta struct {
	URI    string `json:"uri"`
	ID     string `json:"id"`
	Dt     string `json:"dt"`
	Domain string `json:"domain"`
	Stream string `json:"stream"`
}

// rawEvent is the union of the fields of the schemas DecodeEvent reads:
// mediawiki/recentchange (also the RC feed's JSON, without meta),
// mediawiki/revision/create (streams revision-create and page-create),
// mediawiki/page/delete and mediawiki/page/move.
type rawEvent struct {
	Schema string   `json:"$schema"`
	Meta   *rawMeta `json:"meta"`

	// recentchange
	ID               *int64          `json:"id"`
	Type             json.RawMessage `json:"type"` // a string, or rc_type as a number (schema 1.0.1)
	Namespace        *int            `json:"namespace"`
	Title            string          `json:"title"`
	Comment          string          `json:"comment"`
	Timestamp        *int64          `json:"timestamp"`
	User             string          `json:"user"`
	Bot              bool            `json:"bot"`
	Minor            bool            `json:"minor"`
	Patrolled        *bool           `json:"patrolled"`
	Length           *rawOldNew      `json:"length"`
	Revision         *rawOldNew      `json:"revision"`
	ServerURL        string          `json:"server_url"`
	ServerName       string          `json:"server_name"`
	ServerScriptPath string          `json:"server_script_path"`
	Wiki             string          `json:"wiki"`
	LogID            *int64          `json:"log_id"`
	LogType          *string         `json:"log_type"`
	LogAction        *string         `json:"log_action"`
	LogParams        json.RawMessage `json:"log_params"`

	// revision/create, page/delete, page/move
	Database          string        `json:"database"`
	Dt                string        `json:"dt"`
	PageID            int64         `json:"page_id"`
	PageTitle         string        `json:"page_title"`
	PageNamespace     *int          `json:"page_namespace"`
	RevID             int64         `json:"rev_id"`
	RevParentID       int64         `json:"rev_parent_id"`
	RevTimestamp      string        `json:"rev_timestamp"`
	RevSHA1           string        `json:"rev_sha1"`
	RevMinorEdit      bool          `json:"rev_minor_edit"`
	RevLen            *int          `json:"rev_len"`
	RevContentModel   string        `json:"rev_content_model"`
	RevContentChanged *bool         `json:"rev_content_changed"`
	Performer         *rawPerformer `json:"performer"`
	PriorState        *struct {
		PageTitle     string `json:"page_title"`
		PageNamespace *int   `json:"page_namespace"`
		RevID         int64  `json:"rev_id"`
	} `json:"prior_state"`
}

type rawOldNew struct {
	Old *int64 `json:"old"`
	New *int64 `json:"new"`
}

type rawPerformer struct {
	UserText           string   `json:"user_text"`
	UserID             int64    `json:"user_id"`
	UserIsBot          bool     `json:"user_is_bot"`
	UserGroups         []string `json:"user_groups"`
	UserEditCount      *int64   `json:"user_edit_count"`
	UserRegistrationDt string   `json:"user_registration_dt"`
}

// DecodeEvent decodes one JSON event of the schemas mediawiki/recentchange
// (EventStreams or the RC feed), mediawiki/revision/create (the streams
// revision-create and page-create), mediawiki/page/delete and
// mediawiki/page/move. The caller sets Source and Position. It returns
// ErrCanary for heartbeat events and wraps ErrUnknownSchema for other
// schemas.
func DecodeEvent(data []byte) (Event, error) {
	if len(data) > maxEventBytes {
		return Event{}, fmt.Errorf("event of %d bytes; at most %d", len(data), maxEventBytes)
	}
	var r rawEvent
	if err := json.Unmarshal(data, &r); err != nil {
		return Event{}, fmt.Errorf("decode event: %w", err)
	}
	if r.Meta != nil && r.Meta.Domain == "canary" {
		return Event{}, ErrCanary
	}
	var (
		ev  Event
		err error
	)
	switch s := r.Schema; {
	case strings.HasPrefix(s, "/mediawiki/recentchange/"), s == "" && r.Type != nil:
		ev, err = r.recentChange()
	case strings.HasPrefix(s, "/mediawiki/revision/create/"):
		ev, err = r.revisionCreate()
	case strings.HasPrefix(s, "/mediawiki/page/delete/"):
		ev, err = r.pageDelete()
	case strings.HasPrefix(s, "/mediawiki/page/move/"):
		ev, err = r.pageMove()
	case s == "":
		return Event{}, fmt.Errorf("%w: no $schema and no type", ErrUnknownSchema)
	default:
		return Event{}, fmt.Errorf("%w %q", ErrUnknownSchema, s)
	}
	if err != nil {
		return Event{}, fmt.Errorf("decode %s event: %w", r.schemaName(), err)
	}
	if r.Meta != nil {
		ev.Stream, ev.MetaID = r.Meta.Stream, r.Meta.ID
	}
	return ev, nil
}

func (r *rawEvent) schemaName() string {
	if r.Schema == "" {
		return "recentchange"
	}
	return strings.TrimPrefix(r.Schema, "/mediawiki/")
}

// rcTypes maps rc_type numbers to names (RecentChange::RC_*).
var rcTypes = map[int]string{0: TypeEdit, 1: TypeNew, 3: TypeLog, 5: TypeExternal, 6: TypeCategorize}

func (r *rawEvent) recentChange() (Event, error) {
	var typ string
	if err := json.Unmarshal(r.Type, &typ); err != nil {
		var n int
		if json.Unmarshal(r.Type, &n) != nil || rcTypes[n] == "" {
			return Event{}, fmt.Errorf("bad type %s", r.Type)
		}
		typ = rcTypes[n]
	}
	switch {
	case r.Wiki == "":
		return Event{}, errors.New("no wiki")
	case typ == "":
		return Event{}, errors.New("no type")
	case r.Title == "":
		return Event{}, errors.New("no title")
	}
	ev := Event{
		Wiki:          r.Wiki,
		Type:          typ,
		PrefixedTitle: r.Title,
		User:          r.User,
		Bot:           r.Bot,
		Minor:         r.Minor,
		Patrolled:     r.Patrolled,
		Comment:       r.Comment,
		ServerURL:     r.ServerURL,
		ServerName:    r.ServerName,
		ScriptPath:    strings.TrimSuffix(r.ServerScriptPath, "/"),
	}
	if r.Namespace != nil {
		ev.Namespace = *r.Namespace
	}
	ev.Title = splitTitle(ev.Namespace, ev.PrefixedTitle)
	if r.ID != nil {
		ev.RCID = *r.ID
	}
	if r.Revision != nil {
		ev.OldRevID, ev.NewRevID = deref(r.Revision.Old), deref(r.Revision.New)
	}
	if r.Length != nil {
		ev.OldLen, ev.NewLen = intPtr(r.Length.Old), intPtr(r.Length.New)
	}
	if typ == TypeLog {
		ev.LogID = deref(r.LogID)
		if r.LogType != nil {
			ev.LogType = *r.LogType
		}
		if r.LogAction != nil {
			ev.LogAction = *r.LogAction
		}
		if len(r.LogParams) > 0 && !bytes.Equal(r.LogParams, []byte("null")) {
			ev.LogParams = r.LogParams
		}
		if t, ok := ev.MoveTarget(); ok {
			ev.Target = &t
		}
	}
	switch {
	case r.Timestamp != nil:
		ev.Timestamp = time.Unix(*r.Timestamp, 0).UTC()
	case r.Meta != nil && r.Meta.Dt != "":
		t, err := parseTime(r.Meta.Dt)
		if err != nil {
			return Event{}, fmt.Errorf("meta.dt: %w", err)
		}
		ev.Timestamp = t
	}
	return ev, nil
}

// revisionCreate reads a mediawiki/revision/create event. The page-create
// stream uses this schema too; its events have no parent revision.
func (r *rawEvent) revisionCreate() (Event, error) {
	ev, err := r.pageEvent()
	if err != nil {
		return Event{}, err
	}
	ev.Type = TypeEdit
	if r.RevParentID == 0 || (r.Meta != nil && r.Meta.Stream == "mediawiki.page-create") {
		ev.Type = TypeNew
	}
	ev.NewRevID, ev.OldRevID = r.RevID, r.RevParentID
	ev.NewLen = r.RevLen
	ev.Minor = r.RevMinorEdit
	ev.SHA1 = r.RevSHA1
	ev.ContentModel = r.RevContentModel
	ev.NullRevision = r.RevContentChanged != nil && !*r.RevContentChanged
	if r.RevTimestamp != "" {
		t, err := parseTime(r.RevTimestamp)
		if err != nil {
			return Event{}, fmt.Errorf("rev_timestamp: %w", err)
		}
		ev.Timestamp = t
	}
	return ev, nil
}

func (r *rawEvent) pageDelete() (Event, error) {
	ev, err := r.pageEvent()
	if err != nil {
		return Event{}, err
	}
	ev.Type, ev.LogType, ev.LogAction = TypeLog, "delete", "delete"
	ev.OldRevID = r.RevID // the page's latest revision when it was deleted
	return ev, nil
}

// pageMove reads a mediawiki/page/move event: the page is where it moved
// from (prior_state), as in recentchange, and Target where it went.
func (r *rawEvent) pageMove() (Event, error) {
	ev, err := r.pageEvent()
	if err != nil {
		return Event{}, err
	}
	if r.PriorState == nil || r.PriorState.PageTitle == "" {
		return Event{}, errors.New("no prior_state.page_title")
	}
	ns := ev.Namespace
	ev.Target = &Target{Namespace: &ns, PrefixedTitle: ev.PrefixedTitle}
	ev.Type, ev.LogType, ev.LogAction = TypeLog, "move", "move"
	ev.Namespace = 0
	if r.PriorState.PageNamespace != nil {
		ev.Namespace = *r.PriorState.PageNamespace
	}
	ev.PrefixedTitle = strings.ReplaceAll(r.PriorState.PageTitle, "_", " ")
	ev.Title = splitTitle(ev.Namespace, ev.PrefixedTitle)
	ev.OldRevID, ev.NewRevID = r.PriorState.RevID, r.RevID
	return ev, nil
}

// pageEvent reads the fields the page and revision schemas share.
func (r *rawEvent) pageEvent() (Event, error) {
	switch {
	case r.Database == "":
		return Event{}, errors.New("no database")
	case r.PageTitle == "":
		return Event{}, errors.New("no page_title")
	}
	ev := Event{
		Wiki:          r.Database,
		PageID:        r.PageID,
		PrefixedTitle: strings.ReplaceAll(r.PageTitle, "_", " "),
		Comment:       r.Comment,
	}
	if r.PageNamespace != nil {
		ev.Namespace = *r.PageNamespace
	}
	ev.Title = splitTitle(ev.Namespace, ev.PrefixedTitle)
	if p := r.Performer; p != nil {
		ev.User, ev.UserID, ev.Bot = p.UserText, p.UserID, p.UserIsBot
		u := &User{Name: p.UserText, ID: p.UserID, Groups: p.UserGroups, EditCount: p.UserEditCount}
		if p.UserRegistrationDt != "" {
			t, err := parseTime(p.UserRegistrationDt)
			if err != nil {
				return Event{}, fmt.Errorf("performer.user_registration_dt: %w", err)
			}
			u.Registration = &t
		}
		ev.Performer = u
	}
	for _, dt := range []string{r.Dt, r.metaDt()} {
		if dt != "" {
			t, err := parseTime(dt)
			if err != nil {
				return Event{}, fmt.Errorf("dt: %w", err)
			}
			ev.Timestamp = t
			break
		}
	}
	if r.Meta != nil {
		ev.ServerName = r.Meta.Domain
		if u, err := url.Parse(r.Meta.URI); err == nil && u.Scheme != "" && u.Host != "" {
			ev.ServerURL = u.Scheme + "://" + u.Host
			// Wikimedia's article path /wiki/$1 goes with the script path /w;
			// these schemas do not carry the script path itself.
			if strings.HasPrefix(u.EscapedPath(), "/wiki/") {
				ev.ScriptPath = "/w"
			}
		}
	}
	return ev, nil
}

func (r *rawEvent) metaDt() string {
	if r.Meta == nil {
		return ""
	}
	return r.Meta.Dt
}

// parseTime reads an ISO 8601 time as MediaWiki and EventGate write it.
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

func intPtr(p *int64) *int {
	if p == nil {
		return nil
	}
	n := int(*p)
	return &n
}

// itoa formats an id for an API parameter.
func itoa(n int64) string { return strconv.FormatInt(n, 10) }
