package sqlstore

import (
	"bytes"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
)

func readDump(t *testing.T, d *dumpFiles, ref dumpRef) []byte {
	t.Helper()
	r := d.reader()
	defer r.close()
	b, err := r.read(ref)
	if err != nil {
		t.Fatalf("read %+v: %v", ref, err)
	}
	return b
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// TestDumpFilesShareAndReopen: one record for consecutive entries of one
// action, every dump read back, and a second opening of the directory
// appends after what is there (a crash's torn tail included).
func TestDumpFilesShareAndReopen(t *testing.T) {
	dir := t.TempDir()
	d := newDumpFiles(dir)
	a, b := []byte("first action's dump"), []byte("second")
	refs, err := d.appendShared([][]byte{a, a, b})
	if err != nil {
		t.Fatal(err)
	}
	if refs[0] != refs[1] || refs[1] == refs[2] {
		t.Fatalf("refs %+v: the first two entries share one action's dump, the third has its own", refs)
	}
	d.committed(refs) // as insertLog does once the rows are in
	// Equal bytes but not one action's slice: stored apart.
	c := []byte("second")
	refs2, err := d.appendShared([][]byte{b, c})
	if err != nil {
		t.Fatal(err)
	}
	if refs2[0] == refs2[1] {
		t.Fatalf("refs %+v: two actions' dumps share a record", refs2)
	}
	want := int64(4*dumpHeader + len(a) + 3*len(b))
	if got := fileSize(t, d.path(1)); got != want {
		t.Fatalf("file holds %d bytes, want %d (four records)", got, want)
	}
	for i, ref := range append(refs, refs2...) {
		if got, want := readDump(t, d, ref), [][]byte{a, a, b, b, c}[i]; !bytes.Equal(got, want) {
			t.Fatalf("dump %d: %q, want %q", i, got, want)
		}
	}
	if err := d.close(); err != nil {
		t.Fatal(err)
	}

	// A crash left half a record at the end.
	f, err := os.OpenFile(d.path(1), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte{200, 0, 0, 0, 1, 2})
	f.Close()
	d2 := newDumpFiles(dir)
	defer d2.close()
	refs3, err := d2.appendShared([][]byte{[]byte("after the restart")})
	if err != nil {
		t.Fatal(err)
	}
	if refs3[0].file != 1 || refs3[0].offset != want+6 {
		t.Fatalf("appended at %+v, want file 1 offset %d (after the torn tail)", refs3[0], want+6)
	}
	if got := readDump(t, d2, refs3[0]); string(got) != "after the restart" {
		t.Fatalf("read %q", got)
	}
	if got := readDump(t, d2, refs[2]); !bytes.Equal(got, b) {
		t.Fatalf("an earlier dump after the restart: %q", got)
	}
}

// TestDumpFilesRoll: a full file takes no more appends; a batch bigger
// than a file still goes whole into a new one; after a failed write the
// next append goes to a new file.
func TestDumpFilesRoll(t *testing.T) {
	dir := t.TempDir()
	d := newDumpFiles(dir)
	defer d.close()
	d.maxSize = 100
	small := bytes.Repeat([]byte("s"), 40)
	big := bytes.Repeat([]byte("b"), 300)
	var refs []dumpRef
	for _, batch := range [][][]byte{{small}, {small}, {small}, {big}, {small}} {
		r, err := d.appendShared(batch)
		if err != nil {
			t.Fatal(err)
		}
		d.committed(r)
		refs = append(refs, r...)
	}
	var files []int64
	for _, r := range refs {
		files = append(files, r.file)
	}
	if want := []int64{1, 1, 2, 3, 4}; !slices.Equal(files, want) {
		t.Fatalf("files %v, want %v", files, want)
	}
	// The writer's file closed under it: the append fails, and the next
	// goes to a new file, not after bytes that may not be on disk.
	d.w.Close()
	if _, err := d.appendShared([][]byte{small}); err == nil {
		t.Fatal("append to a closed file succeeded")
	}
	r, err := d.appendShared([][]byte{small})
	if err != nil {
		t.Fatal(err)
	}
	if r[0].file != 5 || r[0].offset != 0 {
		t.Fatalf("after a failed write: %+v, want the start of file 5", r[0])
	}
	for i, ref := range append(refs, r[0]) {
		want := small
		if i == 3 {
			want = big
		}
		if got := readDump(t, d, ref); !bytes.Equal(got, want) {
			t.Fatalf("dump %d read back wrong", i)
		}
	}
}

// TestDumpFilesDamage: a damaged or missing record is an error that says
// where, never a panic or a huge allocation.
func TestDumpFilesDamage(t *testing.T) {
	dir := t.TempDir()
	d := newDumpFiles(dir)
	defer d.close()
	refs, err := d.appendShared([][]byte{[]byte("0123456789"), []byte("abcdefghij")})
	if err != nil {
		t.Fatal(err)
	}
	// Flip a byte of the second dump.
	f, err := os.OpenFile(d.path(1), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("X"), refs[1].offset+dumpHeader+3)
	f.Close()
	for _, c := range []struct {
		name string
		ref  dumpRef
		want string
	}{
		{"damaged", refs[1], "damaged"},
		{"wrong length", dumpRef{1, refs[0].offset, 9, refs[0].crc}, "damaged"},
		{"another record's checksum", dumpRef{1, refs[0].offset, 10, refs[1].crc}, "not this entry's"},
		{"past the end", dumpRef{1, refs[1].offset + 8, 10, refs[1].crc}, "past the end"},
		{"a length the file cannot hold", dumpRef{1, 0, 200 << 20, refs[0].crc}, "past the end"},
		{"no such file", dumpRef{7, 0, 10, 0}, "no such file"},
		{"file 0", dumpRef{0, 0, 10, 0}, "not a place"},
		{"negative offset", dumpRef{1, -1, 10, 0}, "not a place"},
		{"huge length", dumpRef{1, 0, 1 << 50, 0}, "not a place"},
		{"an offset near the largest", dumpRef{1, math.MaxInt64 - 100, 200 << 20, 0}, "past the end"},
	} {
		r := d.reader()
		_, err := r.read(c.ref)
		r.close()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q", c.name, err, c.want)
		}
	}
	if got := readDump(t, d, refs[0]); string(got) != "0123456789" {
		t.Fatalf("the undamaged dump: %q", got)
	}
}

// TestDumpFilesRetry: a batch the database refused, appended again before
// any commit, reuses its records instead of writing them again; after a
// commit the same bytes are a new action's and are written.
func TestDumpFilesRetry(t *testing.T) {
	dir := t.TempDir()
	d := newDumpFiles(dir)
	defer d.close()
	batch := func() [][]byte { // as a retry decodes them: new slices, same bytes
		a := bytes.Repeat([]byte("action one "), 100)
		return [][]byte{a, a, []byte("action two")}
	}
	first, err := d.appendShared(batch())
	if err != nil {
		t.Fatal(err)
	}
	size := fileSize(t, d.path(1))
	again, err := d.appendShared(batch())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(first, again) || fileSize(t, d.path(1)) != size {
		t.Fatalf("the retried batch was written again: %+v then %+v, file %d then %d bytes", first, again, size, fileSize(t, d.path(1)))
	}
	d.committed(first)
	later, err := d.appendShared(batch())
	if err != nil {
		t.Fatal(err)
	}
	if later[0] == first[0] || fileSize(t, d.path(1)) <= size {
		t.Fatalf("after a commit, equal dumps of new actions share the old records: %+v", later)
	}
}

// TestDumpFilesLocked: a second writer on the same directory is refused,
// not left to append where it believes the end is; once the first closes,
// it appends after the first's records.
func TestDumpFilesLocked(t *testing.T) {
	dir := t.TempDir()
	d1, d2 := newDumpFiles(dir), newDumpFiles(dir)
	defer d2.close()
	r1, err := d1.appendShared([][]byte{[]byte("first writer")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d2.appendShared([][]byte{[]byte("second writer")}); err == nil || !strings.Contains(err.Error(), "another process") {
		t.Fatalf("second writer: %v, want an error saying another process writes the dumps", err)
	}
	d1.close()
	r2, err := d2.appendShared([][]byte{[]byte("second writer")})
	if err != nil {
		t.Fatal(err)
	}
	if r2[0].file != 1 || r2[0].offset != int64(dumpHeader+len("first writer")) {
		t.Fatalf("second writer appended at %+v, want after the first's record", r2[0])
	}
	if got := readDump(t, d2, r1[0]); string(got) != "first writer" {
		t.Fatalf("the first writer's dump: %q", got)
	}
}

// TestDumpFilesOverlappingBatches: one batch's commit leaves another's
// records pending, so that its retry still reuses them.
func TestDumpFilesOverlappingBatches(t *testing.T) {
	d := newDumpFiles(t.TempDir())
	defer d.close()
	a, err := d.appendShared([][]byte{[]byte("batch A")})
	if err != nil {
		t.Fatal(err)
	}
	b, err := d.appendShared([][]byte{[]byte("batch B")})
	if err != nil {
		t.Fatal(err)
	}
	d.committed(a)
	size := fileSize(t, d.path(1))
	retry, err := d.appendShared([][]byte{[]byte("batch B")})
	if err != nil {
		t.Fatal(err)
	}
	if retry[0] != b[0] || fileSize(t, d.path(1)) != size {
		t.Fatalf("batch B's retry after A's commit wrote its dump again: %+v, was %+v", retry[0], b[0])
	}
}
