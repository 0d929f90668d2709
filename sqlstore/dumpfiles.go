package sqlstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// dumpFiles keeps the abuse log's variable dumps (compressed, as in
// vars_zstd) in append-only files beside a SQLite database; a row holds
// where its dump is. In SQLite a 20 KB dump is five overflow pages, each
// written twice (to the WAL, with two system calls, then by the
// checkpoint into the database): that cost a sixth of the server's CPU at
// saturation. Here a batch's dumps are one write and one sync, and the
// entries of one action (several filters may match it) share one dump, as
// AbuseFilter's log rows share one stored dump.
//
// A file is `NNNNNNNNNNNN.dumps`: records of a length and a CRC-32C
// (little-endian uint32s) and the compressed dump. Records are appended
// and synced before the rows that point at them are committed, so a row
// never points at bytes a crash could lose. A record whose rows were not
// committed (the transaction failed, or a crash came between) stays in
// the file, unread.
type dumpFiles struct {
	dir     string
	maxSize int64 // a file takes no more appends once this size is reached

	mu   sync.Mutex // appends
	w    *os.File   // the file appended to; nil until the first append or after an error
	num  int64      // its number; 0: not chosen yet
	size int64      // where the next record goes
}

// dumpRef is where a dump is: its record's file and offset, and the
// dump's length (the record's header aside).
type dumpRef struct{ file, offset, length int64 }

const (
	dumpHeader   = 8
	dumpFileSize = 1 << 30
	dumpSuffix   = ".dumps"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func newDumpFiles(dir string) *dumpFiles {
	return &dumpFiles{dir: dir, maxSize: dumpFileSize}
}

func (d *dumpFiles) path(num int64) string {
	return filepath.Join(d.dir, fmt.Sprintf("%012d%s", num, dumpSuffix))
}

// appendShared appends the dumps and syncs them, and returns where each
// is. Consecutive entries with the same dump (sameDump: one action's)
// share one record.
func (d *dumpFiles) appendShared(packed [][]byte) ([]dumpRef, error) {
	total := 0
	for i, b := range packed {
		if i == 0 || !sameDump(packed[i-1], b) {
			total += dumpHeader + len(b)
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.ready(int64(total)); err != nil {
		return nil, fmt.Errorf("abuse log dumps: %w", err)
	}
	buf := make([]byte, 0, total)
	refs := make([]dumpRef, len(packed))
	for i, b := range packed {
		if i > 0 && sameDump(packed[i-1], b) {
			refs[i] = refs[i-1]
			continue
		}
		refs[i] = dumpRef{file: d.num, offset: d.size + int64(len(buf)), length: int64(len(b))}
		buf = binary.LittleEndian.AppendUint32(buf, uint32(len(b)))
		buf = binary.LittleEndian.AppendUint32(buf, crc32.Checksum(b, castagnoli))
		buf = append(buf, b...)
	}
	_, err := d.w.WriteAt(buf, d.size)
	if err == nil {
		err = d.w.Sync()
	}
	if err != nil {
		// After a failed sync the kernel may have dropped the pages it
		// could not write, so nothing more goes into this file.
		d.w.Close()
		d.w = nil
		if d.size == 0 {
			// Nothing of use in it: no empty files pile up while the
			// disk is full and the writer retries.
			_ = os.Remove(d.path(d.num))
		}
		d.num++
		return nil, fmt.Errorf("abuse log dumps: write %s: %w", d.dir, err)
	}
	d.size += int64(len(buf))
	return refs, nil
}

// ready opens the file to append n bytes to: the newest one at the first
// append, a new one when it is full or after an error.
func (d *dumpFiles) ready(n int64) error {
	if d.w != nil && (d.size == 0 || d.size+n <= d.maxSize) {
		return nil
	}
	if d.w != nil {
		d.w.Close()
		d.w = nil
		d.num++
	}
	if d.num == 0 {
		newest, err := d.newest()
		if err != nil {
			return err
		}
		if newest > 0 {
			f, err := os.OpenFile(d.path(newest), os.O_RDWR, 0)
			if err != nil {
				return err
			}
			st, err := f.Stat()
			if err != nil {
				f.Close()
				return err
			}
			if st.Size()+n <= d.maxSize {
				d.w, d.num, d.size = f, newest, st.Size()
				return nil
			}
			f.Close()
		}
		d.num = newest + 1
	}
	if err := os.MkdirAll(d.dir, 0o700); err != nil {
		return err
	}
	for {
		f, err := os.OpenFile(d.path(d.num), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			d.num++ // left by an append that failed
			continue
		}
		if err != nil {
			return err
		}
		// The new name must survive a crash as the records in it will.
		if err := syncDir(d.dir); err != nil {
			f.Close()
			return err
		}
		d.w, d.size = f, 0
		return nil
	}
}

// newest returns the highest file number in the directory, 0 if none.
func (d *dumpFiles) newest() (int64, error) {
	ents, err := os.ReadDir(d.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var newest int64
	for _, e := range ents {
		num, ok := strings.CutSuffix(e.Name(), dumpSuffix)
		if n, err := strconv.ParseInt(num, 10, 64); ok && err == nil && n > newest {
			newest = n
		}
	}
	return newest, nil
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

func (d *dumpFiles) close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.w == nil {
		return nil
	}
	err := d.w.Close()
	d.w = nil
	return err
}

// dumpReader reads dumps, keeping the files it opened until close: one
// query's entries mostly point into one file.
type dumpReader struct {
	d     *dumpFiles
	files map[int64]*os.File
}

func (d *dumpFiles) reader() *dumpReader { return &dumpReader{d: d, files: map[int64]*os.File{}} }

// read returns the dump at ref, checked against its record's header.
func (r *dumpReader) read(ref dumpRef) ([]byte, error) {
	if ref.file <= 0 || ref.offset < 0 || ref.length < 0 || ref.length > maxDecoded {
		return nil, fmt.Errorf("dump at %d:%d (%d bytes): not a place a dump can be", ref.file, ref.offset, ref.length)
	}
	f, ok := r.files[ref.file]
	if !ok {
		var err error
		if f, err = os.Open(r.d.path(ref.file)); err != nil {
			return nil, fmt.Errorf("dump at %d:%d: %w", ref.file, ref.offset, err)
		}
		r.files[ref.file] = f
	}
	buf := make([]byte, dumpHeader+ref.length)
	if _, err := f.ReadAt(buf, ref.offset); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("dump at %d:%d in %s: %w", ref.file, ref.offset, f.Name(), err)
	}
	dump := buf[dumpHeader:]
	if int64(binary.LittleEndian.Uint32(buf)) != ref.length || crc32.Checksum(dump, castagnoli) != binary.LittleEndian.Uint32(buf[4:]) {
		return nil, fmt.Errorf("dump at %d:%d in %s: damaged (its length or checksum does not match)", ref.file, ref.offset, f.Name())
	}
	return dump, nil
}

func (r *dumpReader) close() {
	for _, f := range r.files {
		f.Close()
	}
}
