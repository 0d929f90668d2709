package sqlstore

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/vigilwiki/vigil"
	"github.com/vigilwiki/vigil/journal"
)

// UseLogJournal makes AppendLog write the abuse log through a journal in
// dir (see package journal): an append is durable once its records are
// written and synced to the journal's file, and the entries reach the
// database in batches, in the background. Entries left in the journal by
// a process that stopped are written first. Only the process that writes
// the log may use it (the directory is locked), and the store must be its
// only writer of abuse-log rows, since the journal numbers the entries
// itself. QueryLog waits (a little) for the entries appended before it.
//
// It pays where a commit costs much more than a sequential write and a
// sync: on SQLite, whose commit writes each changed B-tree page to the WAL
// with two system calls and syncs it, with one writer at a time.
func (s *Store) UseLogJournal(ctx context.Context, dir string, log *slog.Logger) error {
	j, err := s.openLogJournal(ctx, dir, log)
	if err != nil {
		return err
	}
	s.journal = j
	// Before the pools close: what is queued is written first.
	s.onClose = append([]func() error{func() error { return j.Close(10 * time.Second) }}, s.onClose...)
	return nil
}

// DrainLogJournal writes into the database the entries a journal in dir
// holds (left by a process that used it, see UseLogJournal), and leaves
// the journal unused. A store that runs without the journal calls it
// first, so that those entries are neither lost nor their numbers given to
// others.
func (s *Store) DrainLogJournal(ctx context.Context, dir string, log *slog.Logger) error {
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	j, err := s.openLogJournal(ctx, dir, log)
	if err != nil {
		return err
	}
	return j.Close(10 * time.Second)
}

// openLogJournal opens the journal in dir, which first writes what it
// holds into the database.
func (s *Store) openLogJournal(ctx context.Context, dir string, log *slog.Logger) (*journal.Journal, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s.log = log
	s.logDir = dir
	// Numbers for entries a replay must renumber (see insertLog); then
	// again past all that the replay wrote.
	if err := s.loadLastLogID(ctx); err != nil {
		return nil, err
	}
	// The applier gathers records for 200 ms: each transaction then writes
	// more entries to the same index pages, and SQLite writes and syncs each
	// page once. At 1,000 requests/s that saved 3–9 % of the server's CPU
	// against 50 ms, with the same p99 (docs/performance.md, twenty-fourth
	// session). A query hurries it instead of waiting out the 200 ms (see
	// awaitJournal and journal.Wait).
	j, err := journal.Open(dir, s.applyLogRecords, journal.Options{Logger: log, Gather: 200 * time.Millisecond,
		Now: func() time.Time { return s.now() }}) // read at each call: SetClock may come later
	if err != nil {
		return nil, fmt.Errorf("abuse log journal: %w", err)
	}
	if err := s.loadLastLogID(ctx); err != nil {
		j.Close(0)
		return nil, err
	}
	return j, nil
}

func (s *Store) loadLastLogID(ctx context.Context) error {
	var last int64
	if err := s.queryRow(ctx, s.rw, `SELECT COALESCE(MAX(id), 0) FROM abuse_log`).Scan(&last); err != nil {
		return s.wrap(err, "abuse log journal: last ID")
	}
	for {
		cur := s.logIDs.Load()
		if cur >= last || s.logIDs.CompareAndSwap(cur, last) {
			return nil
		}
	}
}

// GroupsAppends reports whether AppendLog gathers concurrent calls into
// one write itself (with the journal: each call compresses and encodes its
// entries, then the journal writes and syncs all waiting calls' records at
// once), so that callers need not batch them.
func (s *Store) GroupsAppends() bool { return s.journal != nil }

// appendJournaled numbers the entries that have no number yet and
// appends them to the journal;
// when the journal cannot take them, it writes them to the database
// directly, under the same numbers.
func (s *Store) appendJournaled(ctx context.Context, entries []*vigil.LogEntry) error {
	for _, e := range entries {
		if e.ID == 0 {
			e.ID = s.logIDs.Add(1)
		}
	}
	records, packed, err := encodeLogRecords(entries)
	if err != nil {
		packed = packDumps(entries)
	} else {
		err = s.journal.Append(records)
		if err == nil {
			return nil
		}
	}
	if !errors.Is(err, journal.ErrFull) {
		s.log.Warn("abuse log journal failed; writing to the database directly", "entries", len(entries), "err", err)
	}
	// A failed append may still have reached the disk (see
	// journal.Append): a replay then finds these entries in and skips
	// them.
	return s.insertLog(ctx, entries, packed, insertKeepID)
}

// awaitJournal lets a query see the entries appended before it, waiting
// at most a second: when the database does not take them, the query
// answers with what it has.
func (s *Store) awaitJournal(ctx context.Context) {
	if s.journal == nil {
		return
	}
	wctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if err := s.journal.Wait(wctx); err != nil && ctx.Err() == nil {
		s.log.Warn("abuse log query without the newest entries: they wait in the journal", "backlog", s.journal.Backlog(), "err", err)
	}
}

// A journal record holds the entries of one action that share a dump:
// the length of their JSON (4 bytes, little-endian), the JSON (an array
// of entries without their dumps), then the compressed dump.
// encodeLogRecords also returns each entry's compressed dump, a part of
// its record (for writing to the database directly).
func encodeLogRecords(entries []*vigil.LogEntry) (records, packed [][]byte, err error) {
	packed = make([][]byte, len(entries))
	for i := 0; i < len(entries); {
		k := i + 1
		for k < len(entries) && sameDump(entries[k].Vars, entries[i].Vars) {
			k++
		}
		meta := make([]vigil.LogEntry, 0, k-i)
		for _, e := range entries[i:k] {
			m := *e
			m.Vars = nil
			meta = append(meta, m)
		}
		js, err := json.Marshal(meta)
		if err != nil {
			return nil, nil, fmt.Errorf("abuse log journal: %w", err)
		}
		head := append(binary.LittleEndian.AppendUint32(make([]byte, 0, 4+len(js)), uint32(len(js))), js...)
		rec := appendCompressed(head, dumpOf(entries[i]))
		for j := i; j < k; j++ {
			packed[j] = rec[len(head):]
		}
		records = append(records, rec)
		i = k
	}
	return records, packed, nil
}

func decodeLogRecord(rec []byte) ([]*vigil.LogEntry, []byte, error) {
	if len(rec) < 4 {
		return nil, nil, errors.New("abuse log journal: record too short")
	}
	n := binary.LittleEndian.Uint32(rec)
	if uint64(n) > uint64(len(rec)-4) {
		return nil, nil, fmt.Errorf("abuse log journal: entries of %d bytes in a record of %d", n, len(rec))
	}
	var entries []*vigil.LogEntry
	if err := json.Unmarshal(rec[4:4+n], &entries); err != nil {
		return nil, nil, fmt.Errorf("abuse log journal: %w", err)
	}
	for _, e := range entries {
		if e == nil || e.ID <= 0 {
			return nil, nil, errors.New("abuse log journal: an entry without its ID")
		}
	}
	return entries, rec[4+n:], nil
}

// applyLogRecords writes journal records to the database in one
// transaction. A record that cannot be decoded (which the journal's
// checksums make all but impossible) is put aside in a file of its own,
// so that it cannot stop every later entry from being written; the log
// says where, not what (it holds protected data).
func (s *Store) applyLogRecords(records [][]byte) error {
	var entries []*vigil.LogEntry
	var packed [][]byte
	for _, rec := range records {
		es, dump, err := decodeLogRecord(rec)
		if err != nil {
			name := filepath.Join(s.logDir, fmt.Sprintf("unreadable-%d-%08x.record", time.Now().UnixNano(), crc32.ChecksumIEEE(rec)))
			if werr := os.WriteFile(name, rec, 0o600); werr != nil {
				return fmt.Errorf("abuse log journal: an unreadable record (%v) could not be put aside: %w", err, werr)
			}
			s.log.Error("abuse log journal record unreadable; put aside", "err", err, "file", name)
			continue
		}
		for _, e := range es {
			entries = append(entries, e)
			packed = append(packed, dump)
		}
	}
	if len(entries) == 0 {
		return nil
	}
	return s.insertLog(context.Background(), entries, packed, insertKeepID)
}
