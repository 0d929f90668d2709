package vigil

import (
	"context"
	"encoding/json"
	"time"
)

// LogEntry is one filter match, AbuseFilter's abuse log row. Protected
// data (the IP address, the user agent and protected variables) is kept
// apart and read only with the read-protected scope, with a reason, and
// every such read is audited.
type LogEntry struct {
	ID            int64           `json:"id"`
	Wiki          string          `json:"wiki"`
	FilterID      int64           `json:"filter_id"`
	FilterVersion int             `json:"filter_version"`
	Action        string          `json:"action"` // edit, move, ...
	Performer     string          `json:"performer"`
	PageNamespace int             `json:"page_namespace"`
	PageTitle     string          `json:"page_title"`
	ActionsTaken  []string        `json:"actions_taken"` // consequences applied; empty for a log-only match
	LogOnly       bool            `json:"log_only"`
	Vars          json.RawMessage `json:"vars"` // the variables the filters saw, without protected ones
	Time          time.Time       `json:"time"`

	Protected *ProtectedData `json:"protected,omitempty"`
}

// ProtectedData is what only the read-protected scope sees.
type ProtectedData struct {
	IP        string          `json:"ip,omitempty"`
	UserAgent string          `json:"user_agent,omitempty"`
	Vars      json.RawMessage `json:"vars,omitempty"` // protected variables (user_unnamed_ip, ...)
}

// LogQuery selects abuse log entries, newest first. Zero fields select
// everything.
type LogQuery struct {
	Wiki          string
	FilterID      int64
	Performer     string
	PageNamespace *int
	PageTitle     string
	From, To      time.Time // From <= Time < To
	ActionTaken   string    // entries whose consequences include this one
	// After continues a previous page: the ID of its last entry.
	After int64
	Limit int // default 50, at most 500
	// WithProtected fills Protected (the caller has checked the scope and
	// audited the read).
	WithProtected bool
}

// Paging limits of LogQuery.
const (
	DefaultLogLimit = 50
	MaxLogLimit     = 500
)

// LogStore is the abuse log.
type LogStore interface {
	// AppendLog writes entries durably (committed) and sets their IDs.
	AppendLog(ctx context.Context, entries []*LogEntry) error
	// QueryLog returns up to q.Limit entries, newest first.
	QueryLog(ctx context.Context, q LogQuery) ([]*LogEntry, error)
	// PurgeProtected deletes the protected data (IP address, user agent,
	// protected variables) of every entry logged before before, in
	// transactions of at most batch entries, and returns how many entries
	// lost theirs; the entries stay. Nothing of the deleted data is left
	// in the store's files, where the database allows (PostgreSQL keeps
	// dead rows until its vacuum).
	PurgeProtected(ctx context.Context, before time.Time, batch int) (int64, error)
}

// Block is a block Vigil placed: the performer or IP range it names cannot
// act on the wiki until it expires.
type Block struct {
	ID         int64     `json:"id"`
	Wiki       string    `json:"wiki"`
	Target     string    `json:"target"`               // a user name, an IP address or a CIDR range
	Expiry     time.Time `json:"expiry,omitzero"`      // zero: indefinite
	Indefinite bool      `json:"indefinite,omitempty"` // set on the blocks the API shows, as in a block decision
	Reason     string    `json:"reason"`
	FilterID   int64     `json:"filter_id"`
	TalkAccess bool      `json:"talk_access"` // the blocked may still edit their talk page
	Created    time.Time `json:"created"`
}

// Active reports whether the block is in force at t.
func (b *Block) Active(t time.Time) bool { return b.Expiry.IsZero() || t.Before(b.Expiry) }

// BlockStore keeps blocks.
type BlockStore interface {
	// PutBlock records a block, unless the target is already blocked on
	// that wiki (as MediaWiki never re-blocks): placed reports which. An
	// expired block is replaced.
	PutBlock(ctx context.Context, b *Block) (placed bool, err error)
	// ActiveBlocks returns the blocks of a wiki in force at t.
	ActiveBlocks(ctx context.Context, wiki string, t time.Time) ([]*Block, error)
	// Unblock ends the block of target on wiki at t (its row stays, as
	// history); ENOTFOUND when none is in force.
	Unblock(ctx context.Context, wiki, target string, t time.Time) error
}

// Scopes of service tokens.
const (
	ScopeScreen        = "screen"
	ScopeReadLog       = "read-log"
	ScopeManageFilters = "manage-filters"
	ScopeReadProtected = "read-protected"
	// ScopeManageBlocks lifts blocks Vigil placed (the MediaWiki
	// extension mirrors unblocks made on its wiki).
	ScopeManageBlocks = "manage-blocks"
)

// Scopes lists every scope.
var Scopes = []string{ScopeScreen, ScopeReadLog, ScopeManageFilters, ScopeReadProtected, ScopeManageBlocks}

// Token is a service token: a caller (the MediaWiki extension, a tool) and
// what it may do. Only a hash of its secret is stored.
type Token struct {
	ID      int64     `json:"id"`
	Name    string    `json:"name"`
	Scopes  []string  `json:"scopes"`
	Created time.Time `json:"created"`
	Revoked bool      `json:"revoked"`
}

// Has reports whether the token has scope.
func (t *Token) Has(scope string) bool {
	for _, s := range t.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

// TokenStore keeps service tokens.
type TokenStore interface {
	// CreateToken stores a token under the hash of its secret.
	CreateToken(ctx context.Context, t *Token, secretHash []byte) error
	// FindToken returns the token whose secret hashes to secretHash, or
	// ENOTFOUND (also for a revoked one).
	FindToken(ctx context.Context, secretHash []byte) (*Token, error)
	ListTokens(ctx context.Context) ([]*Token, error)
	RevokeToken(ctx context.Context, id int64) error
}

// AuditEntry records one access to protected data.
type AuditEntry struct {
	ID       int64     `json:"id"`
	Time     time.Time `json:"time"`
	Token    string    `json:"token"`    // the token's name
	Access   string    `json:"access"`   // what was read, e.g. "log.protected"
	Resource string    `json:"resource"` // which, e.g. "wiki=enwiki filter=12"
	Reason   string    `json:"reason"`   // the reason the caller gave
}

// AuditStore is the audit trail of protected reads. Entries are only ever
// appended.
type AuditStore interface {
	AppendAudit(ctx context.Context, e *AuditEntry) error
	ListAudit(ctx context.Context, after int64, limit int) ([]*AuditEntry, error)
}

// RecentAction is one screened action kept for testing filters before
// they are enabled.
type RecentAction struct {
	ID      int64     `json:"id"`
	Wiki    string    `json:"wiki"`
	Time    time.Time `json:"time"`
	Payload []byte    `json:"-"` // the action as JSON, protected fields removed (stores compress it)
	// Protected holds the protected fields (IP address, user agent) as
	// JSON, or nothing.
	Protected []byte `json:"-"`
}

// RecentStore keeps the rolling window of recent actions.
type RecentStore interface {
	AppendRecent(ctx context.Context, actions []*RecentAction) error
	// RecentActions returns the actions of a wiki newer than since, newest
	// first, at most limit; with before > 0, only those with a lower ID
	// (the next page after an action of that ID).
	RecentActions(ctx context.Context, wiki string, since time.Time, before int64, limit int) ([]*RecentAction, error)
	// PruneRecent deletes actions older than before, and the oldest beyond
	// keep per store.
	PruneRecent(ctx context.Context, before time.Time, keep int) error
}

// FilterStats are a filter's running totals, as AbuseFilter's profiler
// keeps them.
type FilterStats struct {
	FilterID    int64     `json:"filter_id"`
	Checked     int64     `json:"checked"`
	Matches     int64     `json:"matches"`
	TotalTimeNS int64     `json:"total_time_ns"`
	Conditions  int64     `json:"conditions"`
	Overflows   int64     `json:"overflows"` // actions where the condition limit was reached
	Errors      int64     `json:"errors"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// StatsStore keeps filter statistics across restarts.
type StatsStore interface {
	// AddStats adds deltas to the stored totals.
	AddStats(ctx context.Context, deltas []*FilterStats) error
	LoadStats(ctx context.Context) ([]*FilterStats, error)
}

// Store is everything Vigil keeps.
type Store interface {
	FilterStore
	LogStore
	BlockStore
	TokenStore
	AuditStore
	RecentStore
	StatsStore
	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
	Close() error
}
