// Package sqlstore implements vigil.Store over database/sql, for the SQL
// databases Vigil runs on. Queries are written once, with "?" parameters;
// every query goes through one helper that renders the parameters in the
// database's style, so no query can be missed. What differs between the
// databases (connection settings, column types in the migrations) lives
// in sqlite/ and postgres/, which build a Store with their Dialect.
//
// Times are stored as microseconds since the Unix epoch in both
// databases, JSON as text (jsonb in PostgreSQL).
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigilwiki/vigil"
	"github.com/vigilwiki/vigil/journal"
)

// Dialect is what a database does differently.
type Dialect struct {
	Name string
	// Numbered parameters ($1, $2, ...) instead of "?".
	NumberedParams bool
	// IsConflict reports a unique-constraint violation.
	IsConflict func(error) bool
	// IsUnavailable reports an error that means the database is down or
	// unreachable (worth retrying later) rather than a bad query.
	IsUnavailable func(error) bool
	// Scrub, run after protected data was deleted, clears what the
	// database's own files may still hold of it (SQLite: the write-ahead
	// log's older frames); empty: nothing to run. A query whose first row
	// begins with a nonzero integer says it was blocked (SQLite's
	// checkpoint, while another connection writes or reads an older
	// snapshot), and it is run again.
	Scrub string
}

// Store is a vigil.Store on a SQL database.
type Store struct {
	rw, ro  *sql.DB // writes go to rw; SQLite has one writer connection
	dialect Dialect
	now     func() time.Time
	queries sync.Map // query text with "?" -> rendered text
	stmts   sync.Map // query text with "?" -> *sql.Stmt prepared on rw
	onClose []func() error

	// The abuse log's journal (see UseLogJournal), when used.
	journal *journal.Journal
	logIDs  atomic.Int64 // the last abuse-log ID handed out
	logDir  string       // the journal's directory
	log     *slog.Logger

	// Where the abuse log's dumps go, if not into their rows (see
	// UseDumpFiles).
	dumps *dumpFiles
}

var _ vigil.Store = (*Store)(nil)

// New returns a Store. rw and ro may be the same pool.
func New(rw, ro *sql.DB, d Dialect) *Store {
	return &Store{rw: rw, ro: ro, dialect: d, now: time.Now}
}

// SetClock replaces the clock (for tests).
func (s *Store) SetClock(now func() time.Time) { s.now = now }

// OnClose registers fn to run when the store closes, before its pools
// close: for what a dialect runs beside them (SQLite's checkpointer).
func (s *Store) OnClose(fn func() error) { s.onClose = append(s.onClose, fn) }

// UseDumpFiles makes the abuse log keep its entries' variable dumps in
// append-only files in dir instead of in their rows (see dumpFiles), one
// per action, and read them from there. SQLite uses it; rows written
// before keep their dumps and are read as before.
func (s *Store) UseDumpFiles(dir string) {
	s.dumps = newDumpFiles(dir)
	s.onClose = append(s.onClose, s.dumps.close)
}

// Close closes the pools.
func (s *Store) Close() error {
	var err error
	for _, fn := range s.onClose {
		err = errors.Join(err, fn())
	}
	s.stmts.Range(func(k, v any) bool {
		err = errors.Join(err, v.(*sql.Stmt).Close())
		s.stmts.Delete(k)
		return true
	})
	err = errors.Join(err, s.rw.Close())
	if s.ro != s.rw {
		err = errors.Join(err, s.ro.Close())
	}
	return err
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.rw.PingContext(ctx); err != nil {
		return s.wrap(err, "ping")
	}
	return nil
}

// DB returns the writing pool (for migrations and tests).
func (s *Store) DB() *sql.DB { return s.rw }

// q renders a query's parameters for the dialect.
func (s *Store) q(query string) string {
	if !s.dialect.NumberedParams {
		return query
	}
	if r, ok := s.queries.Load(query); ok {
		return r.(string)
	}
	var b strings.Builder
	n := 0
	inString := false
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'':
			inString = !inString
		case c == '?' && !inString:
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	r := b.String()
	s.queries.Store(query, r)
	return r
}

// querier is a pool or a transaction.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// scrub runs the dialect's Scrub, if it has one, after deleting protected
// data, again while it says it was blocked, for up to scrubPatience:
// purged data should not wait for the next purge to leave the files.
func (s *Store) scrub(ctx context.Context) error {
	if s.dialect.Scrub == "" {
		return nil
	}
	deadline := time.Now().Add(scrubPatience)
	for wait := 5 * time.Millisecond; ; wait = min(2*wait, 200*time.Millisecond) {
		blocked, err := s.scrubOnce(ctx)
		if err != nil || !blocked {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("scrub: still blocked after %s; the next purge tries again", scrubPatience)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// scrubOnce runs the dialect's Scrub and reports whether it said it was
// blocked: its first row begins with a nonzero integer.
func (s *Store) scrubOnce(ctx context.Context) (blocked bool, err error) {
	rows, err := s.query(ctx, s.rw, s.dialect.Scrub)
	if err != nil {
		return false, err
	}
	if rows.Next() {
		cols, _ := rows.Columns()
		dest := make([]any, max(len(cols), 1))
		for i := range dest {
			dest[i] = new(any)
		}
		if rows.Scan(dest...) == nil {
			first, _ := (*dest[0].(*any)).(int64)
			blocked = first != 0
		}
	}
	return blocked, errors.Join(rows.Err(), rows.Close())
}

// scrubPatience bounds how long a purge retries a blocked scrub (a
// variable for tests).
var scrubPatience = 5 * time.Second

func (s *Store) exec(ctx context.Context, db querier, query string, args ...any) (sql.Result, error) {
	return db.ExecContext(ctx, s.q(query), args...)
}

func (s *Store) query(ctx context.Context, db querier, query string, args ...any) (*sql.Rows, error) {
	return db.QueryContext(ctx, s.q(query), args...)
}

func (s *Store) queryRow(ctx context.Context, db querier, query string, args ...any) *sql.Row {
	return db.QueryRowContext(ctx, s.q(query), args...)
}

// prepared returns query prepared once for the writing pool, for the
// statements of the hot path (the abuse log), whose parsing was a
// fiftieth of the service's CPU on SQLite. Call it outside a transaction
// (SQLite's pool has one connection) and use the statement in one with
// tx.StmtContext.
func (s *Store) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := s.stmts.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	fresh, err := s.rw.PrepareContext(ctx, s.q(query))
	if err != nil {
		return nil, err
	}
	st, loaded := s.stmts.LoadOrStore(query, fresh)
	if loaded {
		fresh.Close() // another caller prepared it first
	}
	return st.(*sql.Stmt), nil
}

// tx runs fn in a transaction on the writing pool, committed if fn returns
// nil.
func (s *Store) tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.rw.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap(err, "begin")
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return s.wrap(err, "commit")
	}
	return nil
}

// wrap turns a database error into a vigil error: EUNAVAILABLE when the
// database is down, ECONFLICT on a unique violation, else an internal
// error carrying what was being done.
func (s *Store) wrap(err error, what string) error {
	if err == nil {
		return nil
	}
	var ve *vigil.Error
	switch {
	case errors.As(err, &ve):
		return err
	case errors.Is(err, sql.ErrNoRows):
		return vigil.Errorf(vigil.ENOTFOUND, "%s: not found", what)
	case s.dialect.IsConflict != nil && s.dialect.IsConflict(err):
		return &vigil.Error{Code: vigil.ECONFLICT, Message: what + ": it exists already"}
	case s.dialect.IsUnavailable != nil && s.dialect.IsUnavailable(err),
		errors.Is(err, context.DeadlineExceeded):
		return &unavailable{what: what, err: err}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// unavailable is EUNAVAILABLE with the cause kept for the logs.
type unavailable struct {
	what string
	err  error
}

func (e *unavailable) Error() string { return e.what + ": database unavailable: " + e.err.Error() }
func (e *unavailable) Unwrap() error { return e.err }

// As lets vigil.ErrorCode see EUNAVAILABLE.
func (e *unavailable) As(target any) bool {
	if t, ok := target.(**vigil.Error); ok {
		*t = &vigil.Error{Code: vigil.EUNAVAILABLE, Message: "the database is unavailable; retry later"}
		return true
	}
	return false
}

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}
