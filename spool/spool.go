// Package spool is a durable local queue: records written to it are on
// disk (fsynced) before Append returns, and stay there until a Drain hands
// them to a consumer that succeeds. Vigil writes abuse log entries here
// when the database cannot take them, so that nothing accepted is lost.
package spool

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// Spool is a directory of append-only segment files.
type Spool struct {
	dir string
	mu  sync.Mutex
	cur *os.File // the open segment, or nil
	seq int
}

// Open opens (creating it) the spool in dir.
func Open(dir string) (*Spool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool %s: %w", dir, err)
	}
	s := &Spool{dir: dir}
	segs, err := s.segments()
	if err != nil {
		return nil, err
	}
	for _, name := range segs {
		var n int
		fmt.Sscanf(name, "segment-%d.jsonl", &n)
		s.seq = max(s.seq, n)
	}
	return s, nil
}

func (s *Spool) segments() ([]string, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("spool %s: %w", s.dir, err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "segment-") && strings.HasSuffix(e.Name(), ".jsonl") {
			out = append(out, e.Name())
		}
	}
	sort.Slice(out, func(i, j int) bool {
		var a, b int
		fmt.Sscanf(out[i], "segment-%d.jsonl", &a)
		fmt.Sscanf(out[j], "segment-%d.jsonl", &b)
		return a < b
	})
	return out, nil
}

// Append writes records (each one line of JSON, without newlines) and
// syncs them to disk.
func (s *Spool) Append(records [][]byte) error {
	var buf bytes.Buffer
	for _, r := range records {
		if bytes.IndexByte(r, '\n') >= 0 {
			return errors.New("spool: a record must not contain a newline")
		}
		buf.Write(r)
		buf.WriteByte('\n')
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil {
		s.seq++
		f, err := os.OpenFile(filepath.Join(s.dir, fmt.Sprintf("segment-%d.jsonl", s.seq)), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		s.cur = f
		if d, err := os.Open(s.dir); err == nil {
			d.Sync() // the new file's name is durable too
			d.Close()
		}
	}
	if _, err := s.cur.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if err := s.cur.Sync(); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	return nil
}

// Pending reports whether records wait in the spool.
func (s *Spool) Pending() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	segs, err := s.segments()
	return err == nil && len(segs) > 0
}

// Drain hands the spooled records to consume, segment by segment, oldest
// first, and deletes each segment consume accepted. It stops at the first
// error, leaving that segment and the later ones for the next Drain.
func (s *Spool) Drain(consume func(records [][]byte) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	// New records go to a new segment from now on.
	if s.cur != nil {
		s.cur.Close()
		s.cur = nil
	}
	segs, err := s.segments()
	if err != nil {
		return err
	}
	for _, name := range segs {
		path := filepath.Join(s.dir, name)
		records, err := readSegment(path)
		if err != nil {
			return err
		}
		if len(records) > 0 {
			if err := consume(records); err != nil {
				return err
			}
		}
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("spool: %w", err)
		}
	}
	return nil
}

// readSegment reads the complete lines of a segment; a torn last line (a
// crash in the middle of a write that was never acknowledged) is dropped.
func readSegment(path string) ([][]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 64<<20)
	complete := bytes.LastIndexByte(data, '\n') + 1
	read := 0
	for sc.Scan() {
		read += len(sc.Bytes()) + 1
		if read > complete {
			break
		}
		if len(sc.Bytes()) > 0 {
			out = append(out, bytes.Clone(sc.Bytes()))
		}
	}
	return out, sc.Err()
}

// Close closes the open segment.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != nil {
		err := s.cur.Close()
		s.cur = nil
		return err
	}
	return nil
}
