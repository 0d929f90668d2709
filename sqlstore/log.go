package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/vigilwiki/vigil"
)

func (s *Store) AppendLog(ctx context.Context, entries []*vigil.LogEntry) error {
	if len(entries) == 0 {
		return nil
	}
	// The entries of one action share their dump: compress it once.
	packed := make([][]byte, len(entries))
	for i, e := range entries {
		vars := e.Vars
		if len(vars) == 0 {
			vars = json.RawMessage("{}")
		}
		if i > 0 && len(vars) > 0 && len(entries[i-1].Vars) == len(vars) && &entries[i-1].Vars[0] == &vars[0] {
			packed[i] = packed[i-1]
			continue
		}
		packed[i] = compress(vars)
	}
	logStmt, err := s.prepared(ctx, `INSERT INTO abuse_log (wiki, filter_id, filter_version, action, performer,
		page_namespace, page_title, actions_taken, log_only, vars, vars_zstd, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?, ?) RETURNING id`)
	if err != nil {
		return s.wrap(err, "append log")
	}
	protectedStmt, err := s.prepared(ctx, `INSERT INTO abuse_log_protected (log_id, ip, user_agent, vars) VALUES (?, ?, ?, ?)`)
	if err != nil {
		return s.wrap(err, "append log (protected)")
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		insert, insertProtected := tx.StmtContext(ctx, logStmt), tx.StmtContext(ctx, protectedStmt)
		for i, e := range entries {
			err := insert.QueryRowContext(ctx, e.Wiki, e.FilterID, e.FilterVersion, e.Action, e.Performer, e.PageNamespace, e.PageTitle,
				"|"+strings.Join(e.ActionsTaken, "|")+"|", e.LogOnly, packed[i], micros(e.Time)).Scan(&e.ID)
			if err != nil {
				return s.wrap(err, "append log")
			}
			if p := e.Protected; p != nil {
				pvars := string(p.Vars)
				if pvars == "" {
					pvars = "{}"
				}
				if _, err := insertProtected.ExecContext(ctx, e.ID, p.IP, p.UserAgent, pvars); err != nil {
					return s.wrap(err, "append log (protected)")
				}
			}
		}
		return nil
	})
}

func (s *Store) QueryLog(ctx context.Context, q vigil.LogQuery) ([]*vigil.LogEntry, error) {
	var where []string
	var args []any
	add := func(cond string, arg any) {
		where = append(where, cond)
		args = append(args, arg)
	}
	if q.Wiki != "" {
		add("l.wiki = ?", q.Wiki)
	}
	if q.FilterID != 0 {
		add("l.filter_id = ?", q.FilterID)
	}
	if q.Performer != "" {
		add("l.performer = ?", q.Performer)
	}
	if q.PageNamespace != nil {
		add("l.page_namespace = ?", *q.PageNamespace)
	}
	if q.PageTitle != "" {
		add("l.page_title = ?", q.PageTitle)
	}
	if !q.From.IsZero() {
		add("l.created_at >= ?", micros(q.From))
	}
	if !q.To.IsZero() {
		add("l.created_at < ?", micros(q.To))
	}
	if q.ActionTaken != "" {
		add("l.actions_taken LIKE ?", "%|"+q.ActionTaken+"|%")
	}
	if q.After != 0 {
		add("l.id < ?", q.After)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = vigil.DefaultLogLimit
	}
	limit = min(limit, vigil.MaxLogLimit)
	cols := `l.id, l.wiki, l.filter_id, l.filter_version, l.action, l.performer, l.page_namespace, l.page_title,
		l.actions_taken, l.log_only, l.vars, l.vars_zstd, l.created_at`
	from := ` FROM abuse_log l`
	if q.WithProtected {
		cols += `, p.ip, p.user_agent, p.vars`
		from += ` LEFT JOIN abuse_log_protected p ON p.log_id = l.id`
	}
	query := `SELECT ` + cols + from
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += fmt.Sprintf(" ORDER BY l.id DESC LIMIT %d", limit)
	rows, err := s.query(ctx, s.ro, query, args...)
	if err != nil {
		return nil, s.wrap(err, "query log")
	}
	defer rows.Close()
	var out []*vigil.LogEntry
	for rows.Next() {
		var e vigil.LogEntry
		var taken, vars string
		var packed []byte
		var created int64
		dest := []any{&e.ID, &e.Wiki, &e.FilterID, &e.FilterVersion, &e.Action, &e.Performer, &e.PageNamespace,
			&e.PageTitle, &taken, &e.LogOnly, &vars, &packed, &created}
		var ip, ua, pvars sql.NullString
		if q.WithProtected {
			dest = append(dest, &ip, &ua, &pvars)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, s.wrap(err, "query log")
		}
		e.ActionsTaken = []string{}
		for _, a := range strings.Split(strings.Trim(taken, "|"), "|") {
			if a != "" {
				e.ActionsTaken = append(e.ActionsTaken, a)
			}
		}
		e.Vars = json.RawMessage(vars)
		if packed != nil {
			raw, err := decompress(packed)
			if err != nil {
				return nil, fmt.Errorf("query log: entry %d: %w", e.ID, err)
			}
			e.Vars = raw
		}
		e.Time = fromMicros(created)
		if q.WithProtected && ip.Valid {
			e.Protected = &vigil.ProtectedData{IP: ip.String, UserAgent: ua.String, Vars: json.RawMessage(pvars.String)}
		}
		out = append(out, &e)
	}
	return out, s.wrap(rows.Err(), "query log")
}
