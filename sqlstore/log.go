package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/vigilwiki/vigil"
)

func (s *Store) AppendLog(ctx context.Context, entries []*vigil.LogEntry) error {
	if len(entries) == 0 {
		return nil
	}
	if s.journal != nil {
		return s.appendJournaled(ctx, entries)
	}
	return s.insertLog(ctx, entries, packDumps(entries), insertNew)
}

// packDumps compresses each entry's dump; the entries of one action share
// their dump, which is compressed once.
func packDumps(entries []*vigil.LogEntry) [][]byte {
	packed := make([][]byte, len(entries))
	for i, e := range entries {
		if i > 0 && sameDump(entries[i-1].Vars, e.Vars) {
			packed[i] = packed[i-1]
			continue
		}
		packed[i] = compress(dumpOf(e))
	}
	return packed
}

// dumpOf is an entry's variable dump, {} when it has none.
func dumpOf(e *vigil.LogEntry) []byte {
	if len(e.Vars) == 0 {
		return []byte("{}")
	}
	return e.Vars
}

// sameDump reports whether a and b are the same bytes in memory (one
// action's dump, shared by its entries), not merely equal.
func sameDump(a, b []byte) bool {
	return len(a) > 0 && len(a) == len(b) && &a[0] == &b[0]
}

// PurgeProtected deletes the protected data of every entry logged before
// before, in transactions of at most batch entries (other writers take
// turns between them), and returns how many entries lost theirs. Entries
// still in the journal are applied first. Then it clears what the
// database and the journal may still hold of the deleted data (see
// Dialect.Scrub and journal.Journal.Scrub).
func (s *Store) PurgeProtected(ctx context.Context, before time.Time, batch int) (int64, error) {
	if batch <= 0 {
		return 0, fmt.Errorf("purge protected data: batch %d, not positive", batch)
	}
	s.awaitJournal(ctx)
	var total int64
	for {
		// Until a batch finds nothing: another process may purge too.
		res, err := s.exec(ctx, s.rw, `DELETE FROM abuse_log_protected WHERE log_id IN
			(SELECT log_id FROM abuse_log_protected WHERE created_at < ? ORDER BY created_at LIMIT ?)`, micros(before), batch)
		if err != nil {
			return total, s.wrap(err, "purge protected data")
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, s.wrap(err, "purge protected data")
		}
		if total += n; n == 0 {
			break
		}
	}
	// Every time, not only when this call deleted something: a scrub that
	// could not finish (SQLite's checkpoint waits for no reader) is
	// tried again by the next purge.
	if err := s.scrub(ctx); err != nil {
		return total, s.wrap(err, "purge protected data: scrub")
	}
	if s.journal != nil {
		if err := s.journal.Scrub(before); err != nil {
			return total, fmt.Errorf("purge protected data: %w", err)
		}
	}
	return total, nil
}

// insertMode says where an entry's ID comes from.
type insertMode int

const (
	insertNew    insertMode = iota // the database numbers it
	insertKeepID                   // it has its ID (see insertLog)
)

// insertLog writes entries in one transaction. With insertKeepID each is
// inserted under its own ID; when a row holds that ID already, the entry
// is skipped if a row says the same (wiki, filter, action, performer,
// page, time: written before a restart and now replayed, perhaps under a
// new number), and otherwise takes a new number (the ID went to another
// entry, written by a process without the journal), and an error is
// logged.
func (s *Store) insertLog(ctx context.Context, entries []*vigil.LogEntry, packed [][]byte, mode insertMode) error {
	const cols = `wiki, filter_id, filter_version, action, performer,
		page_namespace, page_title, actions_taken, log_only, vars, created_at, vars_zstd, dump_file, dump_offset, dump_length, dump_crc`
	logStmt, err := s.prepared(ctx, `INSERT INTO abuse_log (`+cols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?, ?, ?, ?, ?, ?) RETURNING id`)
	if err != nil {
		return s.wrap(err, "append log")
	}
	var withID, sameStmt *sql.Stmt
	if mode == insertKeepID {
		withID, err = s.prepared(ctx, `INSERT INTO abuse_log (id, `+cols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO NOTHING`)
		if err != nil {
			return s.wrap(err, "append log")
		}
		// Wherever it is: a replay may meet an entry that an earlier
		// apply renumbered.
		sameStmt, err = s.prepared(ctx, `SELECT id FROM abuse_log WHERE performer = ? AND wiki = ? AND filter_id = ? AND action = ?
			AND page_namespace = ? AND page_title = ? AND created_at = ? LIMIT 1`)
		if err != nil {
			return s.wrap(err, "append log")
		}
	}
	protectedStmt, err := s.prepared(ctx, `INSERT INTO abuse_log_protected (log_id, ip, user_agent, vars, created_at) VALUES (?, ?, ?, ?, ?)`)
	if err != nil {
		return s.wrap(err, "append log (protected)")
	}
	// The dumps first: a committed row must find its dump.
	var refs []dumpRef
	if s.dumps != nil {
		if refs, err = s.dumps.appendShared(packed); err != nil {
			return err
		}
	}
	dumpAt := func(i int) []any {
		if refs == nil {
			return []any{packed[i], nil, nil, nil, nil}
		}
		return []any{nil, refs[i].file, refs[i].offset, refs[i].length, int64(refs[i].crc)}
	}
	type renumber struct{ from, to int64 }
	var renumbered []renumber
	ids := make([]int64, len(entries))
	err = s.tx(ctx, func(tx *sql.Tx) error {
		renumbered = renumbered[:0]
		insert, insertProtected := tx.StmtContext(ctx, logStmt), tx.StmtContext(ctx, protectedStmt)
		var insertID, same *sql.Stmt
		if withID != nil {
			insertID, same = tx.StmtContext(ctx, withID), tx.StmtContext(ctx, sameStmt)
		}
		for i, e := range entries {
			taken := "|" + strings.Join(e.ActionsTaken, "|") + "|"
			id := e.ID
			if mode == insertNew {
				args := append([]any{e.Wiki, e.FilterID, e.FilterVersion, e.Action, e.Performer, e.PageNamespace, e.PageTitle,
					taken, e.LogOnly, micros(e.Time)}, dumpAt(i)...)
				err := insert.QueryRowContext(ctx, args...).Scan(&id)
				if err != nil {
					return s.wrap(err, "append log")
				}
			} else {
				var inserted bool
				var err error
				if id, inserted, err = s.placeEntry(ctx, insertID, same, e, taken, dumpAt(i)); err != nil {
					return err
				}
				ids[i] = id
				if !inserted {
					continue // in already, with its protected row
				}
				if id != e.ID {
					renumbered = append(renumbered, renumber{e.ID, id})
				}
			}
			ids[i] = id
			if p := e.Protected; p != nil {
				pvars := string(p.Vars)
				if pvars == "" {
					pvars = "{}"
				}
				if _, err := insertProtected.ExecContext(ctx, ids[i], p.IP, p.UserAgent, pvars, micros(e.Time)); err != nil {
					return s.wrap(err, "append log (protected)")
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if refs != nil {
		s.dumps.committed(refs)
	}
	for i, e := range entries {
		e.ID = ids[i]
	}
	if len(renumbered) > 0 && s.log != nil {
		// Another writer took these IDs (a process writing the log
		// without the journal): the entries are kept, under new numbers.
		s.log.Error("abuse log entries renumbered: their IDs were taken by other entries", "renumbered", fmt.Sprint(renumbered))
	}
	return nil
}

// placeEntry inserts e under its own ID, or finds it in already, or
// inserts it under a new number (see insertLog). It returns the ID the
// entry is under and whether this call inserted it.
func (s *Store) placeEntry(ctx context.Context, insertID, same *sql.Stmt, e *vigil.LogEntry, taken string, dumpAt []any) (int64, bool, error) {
	id := e.ID
	for {
		args := append([]any{id, e.Wiki, e.FilterID, e.FilterVersion, e.Action, e.Performer, e.PageNamespace,
			e.PageTitle, taken, e.LogOnly, micros(e.Time)}, dumpAt...)
		res, err := insertID.ExecContext(ctx, args...)
		if err != nil {
			return 0, false, s.wrap(err, "append log")
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, false, s.wrap(err, "append log")
		}
		if n == 1 {
			return id, true, nil
		}
		var in int64
		err = same.QueryRowContext(ctx, e.Performer, e.Wiki, e.FilterID, e.Action, e.PageNamespace, e.PageTitle, micros(e.Time)).Scan(&in)
		if err == nil {
			return in, false, nil // under this number or another
		}
		if err != sql.ErrNoRows {
			return 0, false, s.wrap(err, "append log")
		}
		id = s.logIDs.Add(1)
	}
}

func (s *Store) QueryLog(ctx context.Context, q vigil.LogQuery) ([]*vigil.LogEntry, error) {
	s.awaitJournal(ctx)
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
		l.actions_taken, l.log_only, l.vars, l.vars_zstd, l.dump_file, l.dump_offset, l.dump_length, l.dump_crc, l.created_at`
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
	var dumps *dumpReader
	if s.dumps != nil {
		dumps = s.dumps.reader()
		defer dumps.close()
	}
	for rows.Next() {
		var e vigil.LogEntry
		var taken, vars string
		var packed []byte
		var dumpFile, dumpOffset, dumpLength, dumpCRC sql.NullInt64
		var created int64
		dest := []any{&e.ID, &e.Wiki, &e.FilterID, &e.FilterVersion, &e.Action, &e.Performer, &e.PageNamespace,
			&e.PageTitle, &taken, &e.LogOnly, &vars, &packed, &dumpFile, &dumpOffset, &dumpLength, &dumpCRC, &created}
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
		if dumpFile.Valid {
			if dumps == nil {
				return nil, fmt.Errorf("query log: entry %d: its dump is in a file, and this store reads no dump files", e.ID)
			}
			var err error
			if packed, err = dumps.read(dumpRef{dumpFile.Int64, dumpOffset.Int64, dumpLength.Int64, uint32(dumpCRC.Int64)}); err != nil {
				return nil, fmt.Errorf("query log: entry %d: %w", e.ID, err)
			}
		}
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
