package sqlstore

import (
	"bytes"
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

	"github.com/vigilwiki/vigil/internal/fsdir"
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
// the file, unread; when the same batch is retried, its records are used
// again rather than written again (see pending). The directory is locked
// for one process: two writers would each append where they believe the
// end is.
type dumpFiles struct {
	dir     string
	maxSize int64 // a file takes no more appends once this size is reached

	mu   sync.Mutex // all of what follows
	lock *os.File   // the directory's lock, from the first append to close
	w    *os.File   // the file appended to; nil until the first append or after an error
	num  int64      // its number; 0: not chosen yet
	size int64      // where the next record goes
	// The records written since the last committed batch, by checksum
	// and length: a batch the database refused comes back (the journal
	// retries it, the spool resends it) with the same dumps.
	pending      map[uint64]pendingDump
	pendingBytes int
	buf          []byte // a batch's records, reused (up to maxBuf)
}

// maxBuf bounds the write buffer dumpFiles keeps between batches.
const maxBuf = 4 << 20

type pendingDump struct {
	ref  dumpRef
	dump []byte
}

// maxPending bounds the memory pending keeps (the journal keeps at most
// 64 MB of records waiting).
const maxPending = 64 << 20

// dumpRef is where a dump is: its record's file and offset, the dump's
// length (the record's header aside) and its CRC-32C, which the row keeps
// too, so that a record read back is known to be the row's.
type dumpRef struct {
	file, offset, length int64
	crc                  uint32
}

const (
	dumpHeader   = 8
	dumpFileSize = 1 << 30
	dumpSuffix   = ".dumps"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func newDumpFiles(dir string) *dumpFiles {
	return &dumpFiles{dir: dir, maxSize: dumpFileSize, pending: map[uint64]pendingDump{}}
}

// pendingKey is a dump's key in pending.
func pendingKey(crc uint32, length int64) uint64 { return uint64(crc)<<32 | uint64(uint32(length)) }

func (d *dumpFiles) path(num int64) string {
	return filepath.Join(d.dir, fmt.Sprintf("%012d%s", num, dumpSuffix))
}

// appendShared appends the dumps and syncs them, and returns where each
// is. Consecutive entries with the same dump (sameDump: one action's)
// share one record.
func (d *dumpFiles) appendShared(packed [][]byte) ([]dumpRef, error) {
	refs := make([]dumpRef, len(packed))
	crcs := make([]uint32, len(packed))
	total := 0
	for i, b := range packed {
		if i == 0 || !sameDump(packed[i-1], b) {
			crcs[i] = crc32.Checksum(b, castagnoli)
			total += dumpHeader + len(b)
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.ready(int64(total)); err != nil {
		return nil, fmt.Errorf("abuse log dumps %s: %w", d.dir, err)
	}
	buf := d.buf[:0]
	if cap(buf) < total {
		buf = make([]byte, 0, total)
	}
	if cap(buf) <= maxBuf {
		d.buf = buf
	}
	var added []pendingDump
	for i, b := range packed {
		if i > 0 && sameDump(packed[i-1], b) {
			refs[i] = refs[i-1]
			continue
		}
		if p, ok := d.pending[pendingKey(crcs[i], int64(len(b)))]; ok && bytes.Equal(p.dump, b) {
			refs[i] = p.ref // written for this batch's earlier try
			continue
		}
		refs[i] = dumpRef{file: d.num, offset: d.size + int64(len(buf)), length: int64(len(b)), crc: crcs[i]}
		buf = binary.LittleEndian.AppendUint32(buf, uint32(len(b)))
		buf = binary.LittleEndian.AppendUint32(buf, crcs[i])
		buf = append(buf, b...)
		added = append(added, pendingDump{refs[i], b})
	}
	if len(buf) == 0 {
		return refs, nil
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
	for _, p := range added {
		if d.pendingBytes+len(p.dump) > maxPending {
			clear(d.pending)
			d.pendingBytes = 0
		}
		d.pending[pendingKey(p.ref.crc, p.ref.length)] = p
		d.pendingBytes += len(p.dump)
	}
	return refs, nil
}

// committed says that the rows pointing at refs are in the database:
// those records will not be asked for again. Other batches' stay pending
// (batches overlap: the journal's writer beside its fallback, the spool's
// drain beside requests).
func (d *dumpFiles) committed(refs []dumpRef) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, ref := range refs {
		key := pendingKey(ref.crc, ref.length)
		if p, ok := d.pending[key]; ok && p.ref == ref {
			delete(d.pending, key)
			d.pendingBytes -= len(p.dump)
		}
	}
}

// ready opens the file to append n bytes to: the newest one at the first
// append, a new one when it is full or after an error.
func (d *dumpFiles) ready(n int64) error {
	if d.lock == nil {
		if err := d.takeLock(); err != nil {
			return err
		}
	}
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
		if err := fsdir.Sync(d.dir); err != nil {
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

// takeLock creates the directory if need be (its name made durable in
// the parent, as the records will be) and locks it.
func (d *dumpFiles) takeLock() error {
	if err := os.MkdirAll(d.dir, 0o700); err != nil {
		return err
	}
	// Every time, not only when this call made it: an earlier try may
	// have made it and failed to sync.
	if err := fsdir.Sync(filepath.Dir(d.dir)); err != nil {
		return err
	}
	lock, err := fsdir.Lock(d.dir)
	if errors.Is(err, fsdir.ErrLocked) {
		return errors.New("another process writes these dumps (is another vigil serve running on this database?)")
	}
	if err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	d.lock = lock
	return nil
}

func (d *dumpFiles) close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var err error
	if d.w != nil {
		err = d.w.Close()
		d.w = nil
	}
	if d.lock != nil {
		fsdir.Unlock(d.lock)
		d.lock = nil
	}
	return err
}

// dumpReader reads dumps, keeping the files it opened until close: one
// query's entries mostly point into one file.
type dumpReader struct {
	d     *dumpFiles
	files map[int64]readFile
}

type readFile struct {
	f    *os.File
	size int64 // as the reader first saw it: records read are older
}

func (d *dumpFiles) reader() *dumpReader { return &dumpReader{d: d, files: map[int64]readFile{}} }

// read returns the dump at ref, checked against its record's header.
func (r *dumpReader) read(ref dumpRef) ([]byte, error) {
	if ref.file <= 0 || ref.offset < 0 || ref.length < 0 || ref.length > maxDecoded {
		return nil, fmt.Errorf("dump at %d:%d (%d bytes): not a place a dump can be", ref.file, ref.offset, ref.length)
	}
	rf, ok := r.files[ref.file]
	if !ok {
		f, err := os.Open(r.d.path(ref.file))
		if err != nil {
			return nil, fmt.Errorf("dump at %d:%d: %w", ref.file, ref.offset, err)
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("dump at %d:%d: %w", ref.file, ref.offset, err)
		}
		rf = readFile{f, st.Size()}
		r.files[ref.file] = rf
	}
	// A damaged row's length must not cost memory the file cannot fill.
	if ref.offset > rf.size || ref.length > rf.size-ref.offset-dumpHeader {
		return nil, fmt.Errorf("dump at %d:%d (%d bytes) in %s: past the end of the file (%d bytes)", ref.file, ref.offset, ref.length, rf.f.Name(), rf.size)
	}
	buf := make([]byte, dumpHeader+ref.length)
	if _, err := rf.f.ReadAt(buf, ref.offset); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("dump at %d:%d in %s: %w", ref.file, ref.offset, rf.f.Name(), err)
	}
	dump := buf[dumpHeader:]
	crc := binary.LittleEndian.Uint32(buf[4:])
	if int64(binary.LittleEndian.Uint32(buf)) != ref.length || crc != ref.crc || crc32.Checksum(dump, castagnoli) != crc {
		return nil, fmt.Errorf("dump at %d:%d in %s: damaged, or not this entry's (its length or checksum does not match)", ref.file, ref.offset, rf.f.Name())
	}
	return dump, nil
}

func (r *dumpReader) close() {
	for _, rf := range r.files {
		rf.f.Close()
	}
}
