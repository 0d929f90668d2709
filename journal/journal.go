// Package journal is a write-ahead journal in front of a slower store.
// Append puts records on disk (concurrent calls share one write and one
// data sync) and returns; a background applier hands them, in order and in
// larger batches, to the store, and retires a segment file once all its
// records are in (it is kept as a spare, to be written over by a later
// segment, or deleted). On a restart, Open first applies what a previous
// process left.
//
// Vigil's embedded store writes the abuse log through it: a request waits
// for one append and one sync of a sequential file instead of SQLite's
// B-tree inserts, WAL frames and commit, and SQLite takes the entries in
// batches of many actions, off the requests' path.
//
// The store's apply function must be idempotent: a crash between a batch
// being applied and its segment being retired replays the batch.
package journal

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigilwiki/vigil/internal/fsdir"
	"github.com/vigilwiki/vigil/internal/groupcommit"
)

// ErrFull is returned by Append when the records not yet applied take
// more memory than the limit: the store is slow or down, and the caller
// should take another way (Vigil writes to the store directly, then to its
// spool).
var ErrFull = errors.New("journal: too many records wait to be applied")

// ErrClosed is returned by Append after Close.
var ErrClosed = errors.New("journal: closed")

const (
	frameHeader = 16        // the segment's mark, the length, CRC-32C of those, CRC-32C of the record
	maxRecord   = 256 << 20 // a longer length is a damaged frame
	segmentExt  = ".journal"
	spareExt    = ".spare"
	damagedExt  = ".damaged"
	maxSpares   = 2
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Options tune a journal; the zero value is sensible.
type Options struct {
	SegmentSize int64         // start a new segment file beyond this size; default 16 MB
	MaxQueued   int           // bytes of records waiting to be applied before Append says ErrFull; default 64 MB
	MaxBatch    int           // records per call of apply; default 1,000
	Retry       time.Duration // wait after a failed apply (doubling, up to 5 s); default 50 ms
	// ReplayPatience: how long Open retries a store that refuses the
	// records left by an earlier process before it gives up; default 30 s.
	ReplayPatience time.Duration
	// Gather: the applier waits this long after a batch for more records
	// (unless MaxBatch are queued, or a Wait is waiting), so that the store
	// takes many at once. Zero: it applies whatever is queued at once.
	Gather time.Duration
	Logger *slog.Logger
	// Now is the clock that dates a segment's first record (see Scrub);
	// default time.Now.
	Now func() time.Time
}

// Apply takes records into the store, in the order they were appended. It
// must not keep the slices.
type Apply func(records [][]byte) error

type item struct {
	rec []byte
	seg int
}

// Journal is a directory of segment files, each a sequence of frames.
type Journal struct {
	dir   string
	opts  Options
	apply Apply
	lock  *os.File

	group groupcommit.Group[[]byte]

	mu     sync.Mutex // the file
	f      *os.File   // the segment being appended to, or nil
	seg    int        // its number (or the last one's)
	size   int64
	first  time.Time // when its first record was appended
	writes int       // appends written and synced (groups of calls)
	buf    []byte
	closed bool

	qmu         sync.Mutex
	queue       []item
	queuedBytes int
	pending     map[int]int // segment -> records not yet applied
	current     int         // the segment appended to (j.seg, readable without mu)
	appended    uint64      // records appended since Open
	applied     uint64      // of those, applied
	progress    chan struct{}
	wake        chan struct{}
	hurry       chan struct{} // a Wait is waiting: apply now
	stop        chan struct{}
	done        chan struct{}
	applyErr    error // the last apply's error, nil once one succeeds
}

// Open locks dir (creating it) for this process (on Unix; elsewhere
// nothing keeps a second process out), applies the records that segments
// left by an earlier process hold, retires those segments, and starts the
// applier. It fails when another process holds the journal, or when the
// leftover records cannot be applied within ReplayPatience (they stay on
// disk).
func Open(dir string, apply Apply, opts Options) (*Journal, error) {
	if opts.SegmentSize <= 0 {
		opts.SegmentSize = 16 << 20
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxQueued <= 0 {
		opts.MaxQueued = 64 << 20
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 1000
	}
	if opts.Retry <= 0 {
		opts.Retry = 50 * time.Millisecond
	}
	if opts.ReplayPatience <= 0 {
		opts.ReplayPatience = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("journal %s: %w", dir, err)
	}
	lock, err := fsdir.Lock(dir)
	if errors.Is(err, fsdir.ErrLocked) {
		return nil, fmt.Errorf("journal %s: another process uses it (is another vigil serve running on this data directory?)", dir)
	}
	if err != nil {
		return nil, fmt.Errorf("journal %s: lock: %w", dir, err)
	}
	j := &Journal{dir: dir, opts: opts, apply: apply, lock: lock, pending: map[int]int{},
		progress: make(chan struct{}), wake: make(chan struct{}, 1), hurry: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	if err := j.replay(); err != nil {
		fsdir.Unlock(lock)
		return nil, err
	}
	go j.run()
	return j, nil
}

// numbered lists the numbers of the files in dir with the extension ext
// (segments or spares), in order.
func (j *Journal) numbered(ext string) ([]int, error) {
	entries, err := os.ReadDir(j.dir)
	if err != nil {
		return nil, fmt.Errorf("journal %s: %w", j.dir, err)
	}
	var out []int
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ext)
		if !ok {
			continue
		}
		if n, err := strconv.Atoi(name); err == nil && n > 0 {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out, nil
}

// path is segment seg's file.
func (j *Journal) path(seg int) string { return j.file(seg, segmentExt) }

// file is the name of the file numbered n with extension ext: a segment,
// a spare, or a damaged segment kept aside.
func (j *Journal) file(n int, ext string) string {
	return filepath.Join(j.dir, fmt.Sprintf("%012d%s", n, ext))
}

// replay applies the leftover segments in order, retiring each once its
// records are in. A store that refuses them is retried for a while (a
// busy or briefly unavailable database should not stop a start).
func (j *Journal) replay() error {
	segs, err := j.numbered(segmentExt)
	if err != nil {
		return err
	}
	// A spare keeps the number of the segment it was: new segments are
	// numbered beyond every number any file's frames may carry.
	spares, err := j.numbered(spareExt)
	if err != nil {
		return err
	}
	if len(spares) > 0 {
		j.seg = spares[len(spares)-1]
	}
	for _, seg := range segs {
		j.seg = max(j.seg, seg)
		data, err := os.ReadFile(j.path(seg))
		if err != nil {
			return fmt.Errorf("journal: %w", err)
		}
		var batch [][]byte
		size := 0
		flush := func() error {
			if len(batch) == 0 {
				return nil
			}
			wait := j.opts.Retry
			for deadline := time.Now().Add(j.opts.ReplayPatience); ; {
				err := j.apply(batch)
				if err == nil {
					break
				}
				if time.Now().After(deadline) {
					return fmt.Errorf("journal: the store does not take the records of %s (they stay there): %w", j.path(seg), err)
				}
				j.opts.Logger.Warn("journal: replayed records not applied yet; retrying", "segment", j.path(seg), "err", err)
				time.Sleep(wait)
				wait = min(2*wait, 2*time.Second)
			}
			batch, size = batch[:0], 0
			return nil
		}
		n, damaged, err := ScanFrames(data, seg, func(rec []byte) error {
			batch = append(batch, rec)
			size += len(rec)
			if len(batch) >= j.opts.MaxBatch || size >= j.opts.MaxQueued {
				return flush()
			}
			return nil
		})
		if err == nil {
			err = flush()
		}
		if err != nil {
			return err
		}
		if len(damaged) > 0 {
			// Records were acknowledged after a frame that no longer
			// reads: the disk changed it. Those after it are applied; the
			// file is kept for a look, never written over.
			aside := j.file(seg, damagedExt)
			j.opts.Logger.Error("journal segment has damaged frames; the records after them were applied, the damaged ones are lost",
				"segment", j.path(seg), "offsets", damaged, "records", n, "kept_as", aside)
			if err := os.Rename(j.path(seg), aside); err != nil {
				return fmt.Errorf("journal: %w", err)
			}
			continue
		}
		if err := j.retire(seg); err != nil {
			return fmt.Errorf("journal: %w", err)
		}
		j.opts.Logger.Info("journal segment replayed", "segment", j.path(seg), "records", n)
	}
	return nil
}

// ScanFrames calls fn with each record of segment seg held in data, in
// order, and returns how many there were. The records end where no frame
// of this segment begins (the end of data, the zeros or the older frames
// of a recycled file, whose marks are another segment's) and no whole
// frame of it follows, or at a frame whose header checks but whose record
// runs past the data (an append a crash cut short, never acknowledged).
// A frame that does not check but is followed by a whole frame of the
// segment was damaged on disk: it is skipped, its offset returned in
// damaged. The slices passed to fn are their own; fn's error stops the
// scan.
func ScanFrames(data []byte, seg int, fn func(rec []byte) error) (n int, damaged []int64, err error) {
	seed := segmentSeed(seg)
	var mark [4]byte
	binary.LittleEndian.PutUint32(mark[:], frameMark(seed))
	off := 0
	for off+frameHeader <= len(data) {
		rec, ok := frameAt(data, off, seed)
		if ok {
			if err := fn(bytes.Clone(rec)); err != nil {
				return n, damaged, err
			}
			n++
			off += frameHeader + len(rec)
			continue
		}
		// Where to look for the next whole frame: past this one when its
		// header checks (never inside its record, which may hold a frame
		// of someone's making), else anywhere after its start.
		from := off + 1
		if size, hdrOK := headerAt(data, off, seed); hdrOK {
			if size > len(data)-off-frameHeader {
				return n, damaged, nil // cut short: the end
			}
			from = off + frameHeader + size
		}
		next := -1
		for from+frameHeader <= len(data) {
			i := bytes.Index(data[from:], mark[:])
			if i < 0 {
				break
			}
			if _, ok := frameAt(data, from+i, seed); ok {
				next = from + i
				break
			}
			from += i + 1
		}
		if next < 0 {
			return n, damaged, nil
		}
		damaged = append(damaged, int64(off))
		off = next
	}
	return n, damaged, nil
}

// headerAt reports the record length of the frame at off when its header
// (mark, length, header checksum) checks: O(1), so that a search through
// damaged data costs a scan, not a checksum of the rest at every mark.
func headerAt(data []byte, off int, seed uint32) (int, bool) {
	if off+frameHeader > len(data) || binary.LittleEndian.Uint32(data[off:]) != frameMark(seed) {
		return 0, false
	}
	size := binary.LittleEndian.Uint32(data[off+4:])
	if crc32.Update(seed, castagnoli, data[off:off+8]) != binary.LittleEndian.Uint32(data[off+8:]) || size == 0 || size > maxRecord {
		return 0, false
	}
	return int(size), true
}

// frameAt returns the record of the frame at off, if it is whole and
// checks.
func frameAt(data []byte, off int, seed uint32) ([]byte, bool) {
	size, ok := headerAt(data, off, seed)
	if !ok || size > len(data)-off-frameHeader {
		return nil, false
	}
	rec := data[off+frameHeader : off+frameHeader+size]
	if crc32.Update(seed, castagnoli, rec) != binary.LittleEndian.Uint32(data[off+12:]) {
		return nil, false
	}
	return rec, true
}

// AppendFrame appends the frame of rec, a record of segment seg, to buf:
// a mark of the segment, the length, a checksum of those two, and a
// checksum of the record. Both checksums cover the segment's number too,
// so that the frames a recycled file still holds from its earlier life do
// not pass as records of the new segment.
func AppendFrame(buf []byte, seg int, rec []byte) []byte {
	seed := segmentSeed(seg)
	start := len(buf)
	buf = binary.LittleEndian.AppendUint32(buf, frameMark(seed))
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(rec)))
	buf = binary.LittleEndian.AppendUint32(buf, crc32.Update(seed, castagnoli, buf[start:start+8]))
	buf = binary.LittleEndian.AppendUint32(buf, crc32.Update(seed, castagnoli, rec))
	return append(buf, rec...)
}

func segmentSeed(seg int) uint32 {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(seg))
	return crc32.Checksum(b[:], castagnoli)
}

// frameMark begins each frame of a segment; never zero, so that the zeros
// of a file's unwritten end are no frame.
func frameMark(seed uint32) uint32 {
	return seed ^ 0x4c4e524a | 1
}

// Append writes records and syncs them to disk; when it returns nil they
// are durable and queued for the applier, which owns the slices from then
// on. Concurrent calls share one write and one sync, so callers should
// prepare their records (compress, encode) before calling, in parallel.
// On an error nothing is queued, and the records must go another way: a
// partial write is cut off again where that can be done, and the journal
// moves on to a new segment, so a replay may still find the records only
// when cutting failed too (which is why apply must be idempotent).
func (j *Journal) Append(records [][]byte) error {
	if len(records) == 0 {
		return nil
	}
	total := 0
	for _, r := range records {
		if len(r) == 0 {
			return errors.New("journal: an empty record")
		}
		if len(r) > maxRecord {
			return fmt.Errorf("journal: a record of %d bytes is beyond the limit of %d", len(r), maxRecord)
		}
		total += len(r)
	}
	j.qmu.Lock()
	full := j.queuedBytes > 0 && j.queuedBytes+total > j.opts.MaxQueued
	j.qmu.Unlock()
	if full {
		return ErrFull
	}
	// Concurrent calls share one write and one sync (see groupcommit).
	return j.group.Do(records, j.write)
}

// write appends records to the segment and syncs them; see Append.
func (j *Journal) write(records [][]byte) error {
	total := 0
	for _, r := range records {
		total += len(r)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return ErrClosed
	}
	if j.f == nil || j.size >= j.opts.SegmentSize {
		if err := j.rotate(); err != nil {
			return err
		}
	}
	if j.size == 0 {
		j.first = j.opts.Now()
	}
	buf := j.buf[:0]
	for _, r := range records {
		buf = AppendFrame(buf, j.seg, r)
	}
	if cap(buf) <= 4<<20 {
		j.buf = buf
	}
	_, err := j.f.WriteAt(buf, j.size)
	if err == nil {
		err = syncData(j.f)
	}
	if err != nil {
		// Cut the unacknowledged bytes off, and leave this file: after a
		// failed sync its cached pages cannot be trusted.
		if terr := j.f.Truncate(j.size); terr == nil {
			_ = syncData(j.f)
		}
		j.f.Close()
		j.f = nil
		return fmt.Errorf("journal: append to %s: %w", j.path(j.seg), err)
	}
	j.size += int64(len(buf))
	j.writes++
	j.qmu.Lock()
	for _, r := range records {
		j.queue = append(j.queue, item{rec: r, seg: j.seg})
	}
	j.queuedBytes += total
	j.pending[j.seg] += len(records)
	j.appended += uint64(len(records))
	j.qmu.Unlock()
	nudge(j.wake)
	return nil
}

// rotate starts a new segment file. Called with mu held.
func (j *Journal) rotate() error {
	if j.f != nil {
		j.f.Close()
		j.f = nil
	}
	next := j.seg + 1
	// A spare (a segment whose records are all applied) is written over
	// rather than a new file grown: a data sync then has no file size to
	// write, which made it 40 % cheaper on the machine measured (docs/
	// performance.md). Its old frames fail the new segment's checksums.
	if spare := j.spare(); spare != "" {
		if err := os.Rename(spare, j.path(next)); err != nil {
			return fmt.Errorf("journal: new segment: %w", err)
		}
	}
	f, err := os.OpenFile(j.path(next), os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("journal: new segment: %w", err)
	}
	// The new name must survive a crash along with what is written into it.
	if err := fsdir.Sync(j.dir); err != nil {
		f.Close()
		os.Remove(j.path(next))
		return fmt.Errorf("journal: new segment: %w", err)
	}
	prev := j.seg
	j.f, j.seg, j.size = f, next, 0
	j.qmu.Lock()
	j.current = next
	done := j.reap(prev)
	j.qmu.Unlock()
	if done {
		j.retireLogged(prev)
	}
	return nil
}

// reap reports whether segment seg is done with (no longer appended to,
// all its records applied), and forgets it if so; the caller then retires
// it, outside qmu (retiring renames and syncs the directory, which
// appends should not wait for). Called with qmu held.
func (j *Journal) reap(seg int) bool {
	if seg <= 0 || seg == j.current || j.pending[seg] > 0 {
		return false
	}
	delete(j.pending, seg)
	return true
}

// retireLogged retires segment seg; a failure is logged, since a segment
// left on disk is only replayed at the next start, which is harmless
// (applying is idempotent).
func (j *Journal) retireLogged(seg int) {
	if err := j.retire(seg); err != nil && !errors.Is(err, os.ErrNotExist) {
		j.opts.Logger.Warn("journal segment not retired", "segment", j.path(seg), "err", err)
	}
}

// retire makes an applied segment a spare, keeping its number (see
// replay), or deletes it when there are enough spares.
func (j *Journal) retire(seg int) error {
	var err error
	if spares, _ := j.numbered(spareExt); len(spares) < maxSpares {
		err = os.Rename(j.path(seg), j.file(seg, spareExt))
	} else {
		err = os.Remove(j.path(seg))
	}
	if err != nil {
		return err
	}
	// Lost in a crash, the change would only replay what is applied; but
	// kept, it keeps replays short.
	return fsdir.Sync(j.dir)
}

// Scrub deletes the files that hold only applied records (the spare
// segments, kept to be written over), and when the segment being written
// holds records appended before t, all applied, starts a new one and
// deletes it. Applied records otherwise stay on disk until a new segment is
// written over their file, which on a quiet journal may be long after their
// data should be gone (the abuse log's protected data expires). The next
// segments then grow new files until spares are kept again.
func (j *Journal) Scrub(t time.Time) error {
	j.mu.Lock() // rotate renames spares and segments under mu
	defer j.mu.Unlock()
	if j.closed {
		return ErrClosed
	}
	if j.f != nil && j.size > 0 && j.first.Before(t) {
		j.qmu.Lock()
		applied := j.pending[j.seg] == 0
		j.qmu.Unlock()
		if applied {
			if err := j.rotate(); err != nil {
				return err
			}
		}
	}
	spares, err := j.numbered(spareExt)
	if err != nil || len(spares) == 0 {
		return err
	}
	for _, n := range spares {
		if err := os.Remove(j.file(n, spareExt)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("journal: scrub: %w", err)
		}
	}
	return fsdir.Sync(j.dir)
}

// spare returns a spare file's path, or "".
func (j *Journal) spare() string {
	spares, _ := j.numbered(spareExt)
	if len(spares) == 0 {
		return ""
	}
	return j.file(spares[0], spareExt)
}

// nudge signals ch (a channel of capacity 1) without waiting.
func nudge(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// run is the applier.
func (j *Journal) run() {
	defer close(j.done)
	retry := j.opts.Retry
	for {
		if j.opts.Gather > 0 {
			j.gather()
		}
		j.qmu.Lock()
		n := min(len(j.queue), j.opts.MaxBatch)
		batch := make([][]byte, n)
		for i := range n {
			batch[i] = j.queue[i].rec
		}
		j.qmu.Unlock()
		if n == 0 {
			select {
			case <-j.wake:
				continue
			case <-j.stop:
				return
			}
		}
		select {
		case <-j.stop: // Close's time is up: what is left stays on disk
			return
		default:
		}
		err := j.apply(batch)
		if err == nil {
			for _, seg := range j.settle(n) {
				j.retireLogged(seg)
			}
			retry = j.opts.Retry
			continue
		}
		j.qmu.Lock()
		j.applyErr = err
		j.qmu.Unlock()
		j.opts.Logger.Warn("journal: records not applied yet; retrying", "records", n, "retry_in", retry, "err", err)
		select {
		case <-time.After(retry):
		case <-j.stop:
			return
		}
		retry = min(2*retry, 5*time.Second)
	}
}

// settle takes the first n queued records, now applied, off the queue,
// wakes those waiting for them, and returns the segments that are done
// with (to retire).
func (j *Journal) settle(n int) []int {
	j.qmu.Lock()
	defer j.qmu.Unlock()
	j.applyErr = nil
	var segs []int
	bytes := 0
	for _, it := range j.queue[:n] {
		j.pending[it.seg]--
		if !slices.Contains(segs, it.seg) {
			segs = append(segs, it.seg)
		}
		bytes += len(it.rec)
	}
	clear(j.queue[:n])
	j.queue = j.queue[n:]
	j.queuedBytes -= bytes
	j.applied += uint64(n)
	close(j.progress)
	j.progress = make(chan struct{})
	return slices.DeleteFunc(segs, func(seg int) bool { return !j.reap(seg) })
}

// gather waits up to Gather for a full batch.
func (j *Journal) gather() {
	j.qmu.Lock()
	enough := len(j.queue) >= j.opts.MaxBatch
	j.qmu.Unlock()
	if enough {
		return
	}
	t := time.NewTimer(j.opts.Gather)
	defer t.Stop()
	select {
	case <-t.C:
	case <-j.hurry:
	case <-j.stop:
	}
}

// Wait returns once every record appended before it was called has been
// applied, or with ctx's error, or with the last apply's error when the
// store refuses them.
func (j *Journal) Wait(ctx context.Context) error {
	j.qmu.Lock()
	target := j.appended
	if j.applied < target {
		nudge(j.hurry)
	}
	for j.applied < target {
		if j.applyErr != nil {
			err := j.applyErr
			j.qmu.Unlock()
			return fmt.Errorf("journal: records not applied: %w", err)
		}
		ch := j.progress
		j.qmu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(j.opts.Retry):
			// Look at applyErr again.
		}
		j.qmu.Lock()
	}
	j.qmu.Unlock()
	return nil
}

// Backlog reports the records appended and not yet applied.
func (j *Journal) Backlog() int {
	j.qmu.Lock()
	defer j.qmu.Unlock()
	return len(j.queue)
}

// Close stops appends, waits up to timeout (and the apply under way then)
// for the applier to apply what is queued, stops it and releases the
// directory. Records not applied by then stay on disk for the next Open.
func (j *Journal) Close(timeout time.Duration) error {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return nil
	}
	j.closed = true
	j.mu.Unlock()
	var err error
	deadline := time.Now().Add(timeout)
	for j.Backlog() > 0 && time.Now().Before(deadline) {
		nudge(j.hurry)
		j.qmu.Lock()
		ch := j.progress
		j.qmu.Unlock()
		select {
		case <-ch:
		case <-time.After(time.Until(deadline)):
		}
	}
	close(j.stop)
	<-j.done // after at most the apply under way
	if n := j.Backlog(); n > 0 {
		err = fmt.Errorf("journal: %d records not applied at close; they stay in %s for the next start", n, j.dir)
	}
	j.mu.Lock()
	if j.f != nil {
		j.f.Close()
		j.f = nil
	}
	j.qmu.Lock()
	// Nothing is appended any more: the last segment goes too once its
	// records are in.
	j.current = 0
	done := j.reap(j.seg)
	j.qmu.Unlock()
	if done {
		j.retireLogged(j.seg)
	}
	j.mu.Unlock()
	fsdir.Unlock(j.lock)
	return err
}
