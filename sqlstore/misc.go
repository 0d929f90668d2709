package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/vigilwiki/vigil"
)

// Blocks.

func (s *Store) PutBlock(ctx context.Context, b *vigil.Block) (placed bool, err error) {
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var id, expiry int64
		err := s.queryRow(ctx, tx, `SELECT id, expiry FROM blocks WHERE wiki = ? AND target = ?`, b.Wiki, b.Target).
			Scan(&id, &expiry)
		switch {
		case err == sql.ErrNoRows:
			err = s.queryRow(ctx, tx, `INSERT INTO blocks (wiki, target, expiry, reason, filter_id, talk_access, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, b.Wiki, b.Target, micros(b.Expiry), b.Reason, b.FilterID,
				b.TalkAccess, micros(b.Created)).Scan(&b.ID)
			placed = err == nil
			return s.wrap(err, "put block")
		case err != nil:
			return s.wrap(err, "put block")
		}
		b.ID = id
		if old := (vigil.Block{Expiry: fromMicros(expiry)}); old.Active(b.Created) {
			return nil
		}
		_, err = s.exec(ctx, tx, `UPDATE blocks SET expiry = ?, reason = ?, filter_id = ?, talk_access = ?, created_at = ?
			WHERE id = ?`, micros(b.Expiry), b.Reason, b.FilterID, b.TalkAccess, micros(b.Created), id)
		placed = err == nil
		return s.wrap(err, "put block")
	})
	return placed, err
}

func (s *Store) ActiveBlocks(ctx context.Context, wiki string, t time.Time) ([]*vigil.Block, error) {
	rows, err := s.query(ctx, s.ro, `SELECT id, wiki, target, expiry, reason, filter_id, talk_access, created_at
		FROM blocks WHERE wiki = ? AND (expiry = 0 OR expiry > ?) ORDER BY id`, wiki, micros(t))
	if err != nil {
		return nil, s.wrap(err, "active blocks")
	}
	defer rows.Close()
	var out []*vigil.Block
	for rows.Next() {
		var b vigil.Block
		var expiry, created int64
		if err := rows.Scan(&b.ID, &b.Wiki, &b.Target, &expiry, &b.Reason, &b.FilterID, &b.TalkAccess, &created); err != nil {
			return nil, s.wrap(err, "active blocks")
		}
		b.Expiry, b.Created = fromMicros(expiry), fromMicros(created)
		out = append(out, &b)
	}
	return out, s.wrap(rows.Err(), "active blocks")
}

func (s *Store) Unblock(ctx context.Context, wiki, target string, t time.Time) error {
	res, err := s.exec(ctx, s.rw, `UPDATE blocks SET expiry = ? WHERE wiki = ? AND target = ? AND (expiry = 0 OR expiry > ?)`,
		micros(t), wiki, target, micros(t))
	if err != nil {
		return s.wrap(err, "unblock")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return vigil.Errorf(vigil.ENOTFOUND, "%s is not blocked on %s", target, wiki)
	}
	return nil
}

// Tokens.

func (s *Store) CreateToken(ctx context.Context, t *vigil.Token, secretHash []byte) error {
	t.Created = s.now().UTC()
	err := s.queryRow(ctx, s.rw, `INSERT INTO tokens (name, hash, scopes, created_at, revoked) VALUES (?, ?, ?, ?, ?)
		RETURNING id`, t.Name, secretHash, strings.Join(t.Scopes, " "), micros(t.Created), false).Scan(&t.ID)
	return s.wrap(err, "create token "+t.Name)
}

func scanToken(row interface{ Scan(...any) error }) (*vigil.Token, error) {
	var t vigil.Token
	var scopes string
	var created int64
	if err := row.Scan(&t.ID, &t.Name, &scopes, &created, &t.Revoked); err != nil {
		return nil, err
	}
	t.Scopes = strings.Fields(scopes)
	t.Created = fromMicros(created)
	return &t, nil
}

func (s *Store) FindToken(ctx context.Context, secretHash []byte) (*vigil.Token, error) {
	t, err := scanToken(s.queryRow(ctx, s.ro, `SELECT id, name, scopes, created_at, revoked FROM tokens
		WHERE hash = ? AND revoked = ?`, secretHash, false))
	if err != nil {
		return nil, s.wrap(err, "token")
	}
	return t, nil
}

func (s *Store) ListTokens(ctx context.Context) ([]*vigil.Token, error) {
	rows, err := s.query(ctx, s.ro, `SELECT id, name, scopes, created_at, revoked FROM tokens ORDER BY id`)
	if err != nil {
		return nil, s.wrap(err, "list tokens")
	}
	defer rows.Close()
	var out []*vigil.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, s.wrap(err, "list tokens")
		}
		out = append(out, t)
	}
	return out, s.wrap(rows.Err(), "list tokens")
}

func (s *Store) RevokeToken(ctx context.Context, id int64) error {
	res, err := s.exec(ctx, s.rw, `UPDATE tokens SET revoked = ? WHERE id = ?`, true, id)
	if err != nil {
		return s.wrap(err, "revoke token")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return vigil.Errorf(vigil.ENOTFOUND, "token %d: not found", id)
	}
	return nil
}

// Audit.

func (s *Store) AppendAudit(ctx context.Context, e *vigil.AuditEntry) error {
	if e.Time.IsZero() {
		e.Time = s.now().UTC()
	}
	err := s.queryRow(ctx, s.rw, `INSERT INTO audit (created_at, token, access, resource, reason) VALUES (?, ?, ?, ?, ?)
		RETURNING id`, micros(e.Time), e.Token, e.Access, e.Resource, e.Reason).Scan(&e.ID)
	return s.wrap(err, "append audit")
}

func (s *Store) ListAudit(ctx context.Context, after int64, limit int) ([]*vigil.AuditEntry, error) {
	if limit <= 0 || limit > vigil.MaxLogLimit {
		limit = vigil.MaxLogLimit
	}
	rows, err := s.query(ctx, s.ro, `SELECT id, created_at, token, access, resource, reason FROM audit
		WHERE id > ? ORDER BY id LIMIT ?`, after, limit)
	if err != nil {
		return nil, s.wrap(err, "list audit")
	}
	defer rows.Close()
	var out []*vigil.AuditEntry
	for rows.Next() {
		var e vigil.AuditEntry
		var t int64
		if err := rows.Scan(&e.ID, &t, &e.Token, &e.Access, &e.Resource, &e.Reason); err != nil {
			return nil, s.wrap(err, "list audit")
		}
		e.Time = fromMicros(t)
		out = append(out, &e)
	}
	return out, s.wrap(rows.Err(), "list audit")
}

// Recent actions.

func (s *Store) AppendRecent(ctx context.Context, actions []*vigil.RecentAction) error {
	if len(actions) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, a := range actions {
			var protected []byte
			if a.Protected != nil {
				protected = compress(a.Protected)
			}
			if err := s.queryRow(ctx, tx, `INSERT INTO recent_actions (wiki, created_at, payload, protected) VALUES (?, ?, ?, ?)
				RETURNING id`, a.Wiki, micros(a.Time), compress(a.Payload), protected).Scan(&a.ID); err != nil {
				return s.wrap(err, "append recent actions")
			}
		}
		return nil
	})
}

func (s *Store) RecentActions(ctx context.Context, wiki string, since time.Time, before int64, limit int) ([]*vigil.RecentAction, error) {
	if before <= 0 {
		before = math.MaxInt64
	}
	rows, err := s.query(ctx, s.ro, `SELECT id, wiki, created_at, payload, protected FROM recent_actions
		WHERE wiki = ? AND created_at >= ? AND id < ? ORDER BY id DESC LIMIT ?`, wiki, micros(since), before, limit)
	if err != nil {
		return nil, s.wrap(err, "recent actions")
	}
	defer rows.Close()
	var out []*vigil.RecentAction
	for rows.Next() {
		var a vigil.RecentAction
		var t int64
		if err := rows.Scan(&a.ID, &a.Wiki, &t, &a.Payload, &a.Protected); err != nil {
			return nil, s.wrap(err, "recent actions")
		}
		a.Time = fromMicros(t)
		if a.Payload, err = decompress(a.Payload); err != nil {
			return nil, fmt.Errorf("recent action %d: %w", a.ID, err)
		}
		if a.Protected != nil {
			if a.Protected, err = decompress(a.Protected); err != nil {
				return nil, fmt.Errorf("recent action %d: %w", a.ID, err)
			}
		}
		out = append(out, &a)
	}
	return out, s.wrap(rows.Err(), "recent actions")
}

func (s *Store) PruneRecent(ctx context.Context, before time.Time, keep int) error {
	if _, err := s.exec(ctx, s.rw, `DELETE FROM recent_actions WHERE created_at < ?`, micros(before)); err != nil {
		return s.wrap(err, "prune recent actions")
	}
	var cut sql.NullInt64
	err := s.queryRow(ctx, s.rw, `SELECT id FROM recent_actions ORDER BY id DESC LIMIT 1 OFFSET ?`, keep).Scan(&cut)
	switch {
	case err == sql.ErrNoRows || err == nil && !cut.Valid:
	case err != nil:
		return s.wrap(err, "prune recent actions")
	default:
		if _, err := s.exec(ctx, s.rw, `DELETE FROM recent_actions WHERE id <= ?`, cut.Int64); err != nil {
			return s.wrap(err, "prune recent actions")
		}
	}
	// The pruned actions' IP addresses and user agents go from the WAL too.
	return s.wrap(s.scrub(ctx), "prune recent actions: scrub")
}

// Statistics.

func (s *Store) AddStats(ctx context.Context, deltas []*vigil.FilterStats) error {
	now := micros(s.now())
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, d := range deltas {
			res, err := s.exec(ctx, tx, `UPDATE filter_stats SET checked = checked + ?, matches = matches + ?,
				total_time_ns = total_time_ns + ?, conditions = conditions + ?, overflows = overflows + ?,
				errors = errors + ?, updated_at = ? WHERE filter_id = ?`,
				d.Checked, d.Matches, d.TotalTimeNS, d.Conditions, d.Overflows, d.Errors, now, d.FilterID)
			if err != nil {
				return s.wrap(err, "add stats")
			}
			if n, _ := res.RowsAffected(); n > 0 {
				continue
			}
			if _, err := s.exec(ctx, tx, `INSERT INTO filter_stats (filter_id, checked, matches, total_time_ns, conditions,
				overflows, errors, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
				d.FilterID, d.Checked, d.Matches, d.TotalTimeNS, d.Conditions, d.Overflows, d.Errors, now); err != nil {
				return s.wrap(err, "add stats")
			}
		}
		return nil
	})
}

func (s *Store) LoadStats(ctx context.Context) ([]*vigil.FilterStats, error) {
	rows, err := s.query(ctx, s.ro, `SELECT filter_id, checked, matches, total_time_ns, conditions, overflows, errors,
		updated_at FROM filter_stats ORDER BY filter_id`)
	if err != nil {
		return nil, s.wrap(err, "load stats")
	}
	defer rows.Close()
	var out []*vigil.FilterStats
	for rows.Next() {
		var st vigil.FilterStats
		var t int64
		if err := rows.Scan(&st.FilterID, &st.Checked, &st.Matches, &st.TotalTimeNS, &st.Conditions, &st.Overflows,
			&st.Errors, &t); err != nil {
			return nil, s.wrap(err, "load stats")
		}
		st.UpdatedAt = fromMicros(t)
		out = append(out, &st)
	}
	return out, s.wrap(rows.Err(), "load stats")
}
