package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/vigilwiki/vigil"
)

const filterColumns = `id, wiki, grp, global, name, pattern, notes, enabled, deleted, log_only, privacy, actions,
	version, created_at, updated_at, updated_by, throttled`

func scanFilter(row interface{ Scan(...any) error }) (*vigil.Filter, error) {
	var f vigil.Filter
	var actions string
	var privacy string
	var created, updated int64
	if err := row.Scan(&f.ID, &f.Wiki, &f.Group, &f.Global, &f.Name, &f.Pattern, &f.Notes, &f.Enabled, &f.Deleted,
		&f.LogOnly, &privacy, &actions, &f.Version, &created, &updated, &f.UpdatedBy, &f.Throttled); err != nil {
		return nil, err
	}
	f.Privacy = vigil.Privacy(privacy)
	if err := json.Unmarshal([]byte(actions), &f.Actions); err != nil {
		return nil, fmt.Errorf("filter %d: actions: %w", f.ID, err)
	}
	f.CreatedAt, f.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &f, nil
}

func (s *Store) CreateFilter(ctx context.Context, f *vigil.Filter, author, summary string) error {
	actions, err := json.Marshal(f.Actions)
	if err != nil {
		return fmt.Errorf("create filter: %w", err)
	}
	now := s.now().UTC()
	return s.tx(ctx, func(tx *sql.Tx) error {
		row := s.queryRow(ctx, tx, `INSERT INTO filters (wiki, grp, global, name, pattern, notes, enabled, deleted,
			log_only, privacy, actions, version, created_at, updated_at, updated_by, throttled)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?) RETURNING id`,
			f.Wiki, f.Group, f.Global, f.Name, f.Pattern, f.Notes, f.Enabled, f.Deleted, f.LogOnly, string(f.Privacy),
			string(actions), micros(now), micros(now), author, false)
		if err := row.Scan(&f.ID); err != nil {
			return s.wrap(err, "create filter")
		}
		f.Version, f.CreatedAt, f.UpdatedAt, f.UpdatedBy, f.Throttled = 1, now, now, author, false
		return s.saveVersion(ctx, tx, f, author, summary)
	})
}

func (s *Store) UpdateFilter(ctx context.Context, f *vigil.Filter, author, summary string) error {
	actions, err := json.Marshal(f.Actions)
	if err != nil {
		return fmt.Errorf("update filter %d: %w", f.ID, err)
	}
	now := s.now().UTC()
	return s.tx(ctx, func(tx *sql.Tx) error {
		var current int
		var created int64
		err := s.queryRow(ctx, tx, `SELECT version, created_at FROM filters WHERE id = ?`, f.ID).Scan(&current, &created)
		if err != nil {
			return s.wrap(err, fmt.Sprintf("filter %d", f.ID))
		}
		if current != f.Version {
			return vigil.Errorf(vigil.ECONFLICT, "filter %d is at version %d, not %d: it was saved meanwhile", f.ID, current, f.Version)
		}
		next := current + 1
		_, err = s.exec(ctx, tx, `UPDATE filters SET wiki = ?, grp = ?, global = ?, name = ?, pattern = ?, notes = ?,
			enabled = ?, deleted = ?, log_only = ?, privacy = ?, actions = ?, version = ?, updated_at = ?, updated_by = ?,
			throttled = ? WHERE id = ? AND version = ?`,
			f.Wiki, f.Group, f.Global, f.Name, f.Pattern, f.Notes, f.Enabled, f.Deleted, f.LogOnly, string(f.Privacy),
			string(actions), next, micros(now), author, false, f.ID, current)
		if err != nil {
			return s.wrap(err, fmt.Sprintf("update filter %d", f.ID))
		}
		// Saving a filter lifts its emergency throttle, as AbuseFilter does.
		f.Version, f.UpdatedAt, f.UpdatedBy, f.CreatedAt, f.Throttled = next, now, author, fromMicros(created), false
		return s.saveVersion(ctx, tx, f, author, summary)
	})
}

// saveVersion records f as it is now, and tells every instance that the
// filters changed.
func (s *Store) saveVersion(ctx context.Context, tx *sql.Tx, f *vigil.Filter, author, summary string) error {
	data, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("filter %d version %d: %w", f.ID, f.Version, err)
	}
	if _, err := s.exec(ctx, tx, `INSERT INTO filter_versions (filter_id, version, data, author, summary, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`, f.ID, f.Version, string(data), author, summary, micros(f.UpdatedAt)); err != nil {
		return s.wrap(err, fmt.Sprintf("filter %d version %d", f.ID, f.Version))
	}
	if _, err := s.exec(ctx, tx, `UPDATE meta SET value = value + 1 WHERE name = 'filters_generation'`); err != nil {
		return s.wrap(err, "filters generation")
	}
	return nil
}

func (s *Store) FindFilter(ctx context.Context, id int64) (*vigil.Filter, error) {
	f, err := scanFilter(s.queryRow(ctx, s.ro, `SELECT `+filterColumns+` FROM filters WHERE id = ?`, id))
	if err != nil {
		return nil, s.wrap(err, fmt.Sprintf("filter %d", id))
	}
	return f, nil
}

func (s *Store) ListFilters(ctx context.Context, q vigil.FilterQuery) ([]*vigil.Filter, error) {
	var where []string
	var args []any
	if q.Wiki != "" {
		if q.WithGlobal {
			where = append(where, "(wiki = ? OR global = ?)")
			args = append(args, q.Wiki, true)
		} else {
			where = append(where, "wiki = ?")
			args = append(args, q.Wiki)
		}
	}
	if q.Group != "" {
		where = append(where, "grp = ?")
		args = append(args, q.Group)
	}
	if q.EnabledOnly {
		where = append(where, "enabled = ?")
		args = append(args, true)
	}
	if !q.IncludeDeleted {
		where = append(where, "deleted = ?")
		args = append(args, false)
	}
	query := `SELECT ` + filterColumns + ` FROM filters`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY id"
	rows, err := s.query(ctx, s.ro, query, args...)
	if err != nil {
		return nil, s.wrap(err, "list filters")
	}
	defer rows.Close()
	var out []*vigil.Filter
	for rows.Next() {
		f, err := scanFilter(rows)
		if err != nil {
			return nil, s.wrap(err, "list filters")
		}
		out = append(out, f)
	}
	return out, s.wrap(rows.Err(), "list filters")
}

func (s *Store) FilterHistory(ctx context.Context, id int64) ([]*vigil.FilterVersion, error) {
	rows, err := s.query(ctx, s.ro, `SELECT data, author, summary, created_at FROM filter_versions
		WHERE filter_id = ? ORDER BY version DESC`, id)
	if err != nil {
		return nil, s.wrap(err, fmt.Sprintf("filter %d history", id))
	}
	defer rows.Close()
	var out []*vigil.FilterVersion
	for rows.Next() {
		v, err := scanVersion(rows)
		if err != nil {
			return nil, s.wrap(err, fmt.Sprintf("filter %d history", id))
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap(err, fmt.Sprintf("filter %d history", id))
	}
	if len(out) == 0 {
		return nil, vigil.Errorf(vigil.ENOTFOUND, "filter %d: not found", id)
	}
	return out, nil
}

func (s *Store) FindFilterVersion(ctx context.Context, id int64, version int) (*vigil.FilterVersion, error) {
	v, err := scanVersion(s.queryRow(ctx, s.ro, `SELECT data, author, summary, created_at FROM filter_versions
		WHERE filter_id = ? AND version = ?`, id, version))
	if err != nil {
		return nil, s.wrap(err, fmt.Sprintf("filter %d version %d", id, version))
	}
	return v, nil
}

func scanVersion(row interface{ Scan(...any) error }) (*vigil.FilterVersion, error) {
	var v vigil.FilterVersion
	var data string
	var created int64
	if err := row.Scan(&data, &v.Author, &v.Summary, &created); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(data), &v.Filter); err != nil {
		return nil, err
	}
	v.Time = fromMicros(created)
	return &v, nil
}

func (s *Store) FiltersGeneration(ctx context.Context) (int64, error) {
	var g int64
	err := s.queryRow(ctx, s.ro, `SELECT value FROM meta WHERE name = 'filters_generation'`).Scan(&g)
	return g, s.wrap(err, "filters generation")
}

func (s *Store) SetFilterThrottled(ctx context.Context, id int64, throttled bool) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, `UPDATE filters SET throttled = ? WHERE id = ?`, throttled, id)
		if err != nil {
			return s.wrap(err, fmt.Sprintf("throttle filter %d", id))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return vigil.Errorf(vigil.ENOTFOUND, "filter %d: not found", id)
		}
		_, err = s.exec(ctx, tx, `UPDATE meta SET value = value + 1 WHERE name = 'filters_generation'`)
		return s.wrap(err, "filters generation")
	})
}
