package sqlite_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilwiki/vigil"
	"github.com/vigilwiki/vigil/sqlite"
	"github.com/vigilwiki/vigil/sqlstore"
	"github.com/vigilwiki/vigil/storetest"
)

// The store with its abuse log written through the journal passes the
// same suite: IDs, queries right after an append, protected data.
func TestStoreWithLogJournal(t *testing.T) {
	storetest.Run(t, func(t *testing.T) vigil.Store { return openJournaled(t, t.TempDir()) })
}

// openJournaled opens the store in dir with its abuse log through the
// journal in dir/log-journal, as vigil serve does; the caller closes it.
func openJournaled(t *testing.T, dir string) *sqlstore.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(dir, "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.UseLogJournal(context.Background(), filepath.Join(dir, "log-journal"), nil); err != nil {
		s.Close()
		t.Fatal(err)
	}
	return s
}

// journalChild, run as a child process by TestLogJournalCrash, appends
// abuse-log entries through the journal, prints each acknowledged ID, and
// dies without closing anything (os.Exit: no deferred function, no
// flush) — as a process killed mid-load.
func journalChild(dir string, n, waitAfter int) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(dir, "vigil.db"))
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	if err := s.UseLogJournal(ctx, filepath.Join(dir, "log-journal"), nil); err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	// holdWriter keeps SQLite's write lock from another connection, so
	// that the entries appended from then on can reach only the journal,
	// however fast or slow this process runs.
	holdWriter := func() {
		db, err := sql.Open("sqlite", filepath.Join(dir, "vigil.db"))
		if err == nil {
			var conn *sql.Conn
			if conn, err = db.Conn(ctx); err == nil {
				_, err = conn.ExecContext(ctx, "BEGIN IMMEDIATE")
			}
		}
		if err != nil {
			fmt.Println("error", err)
			os.Exit(2)
		}
	}
	if waitAfter == 0 {
		holdWriter()
	}
	for i := range n {
		vars, _ := json.Marshal(map[string]any{"new_wikitext": strings.Repeat(fmt.Sprintf("entry %d ", i), 500)})
		entries := []*vigil.LogEntry{
			{Wiki: "w", FilterID: 1, FilterVersion: 1, Action: "edit", Performer: fmt.Sprint("u", i), PageTitle: "P",
				ActionsTaken: []string{"warn"}, Vars: vars, Time: time.Now(),
				Protected: &vigil.ProtectedData{IP: fmt.Sprintf("192.0.2.%d", i%250), UserAgent: "ua"}},
			{Wiki: "w", FilterID: 2, FilterVersion: 1, Action: "edit", Performer: fmt.Sprint("u", i), PageTitle: "P",
				Vars: vars, Time: time.Now()}, // the same action's second match shares the dump
		}
		if err := s.AppendLog(ctx, entries); err != nil {
			fmt.Println("error", err)
			os.Exit(2)
		}
		fmt.Println(entries[0].ID, entries[1].ID)
		if i+1 == waitAfter {
			// These are in the database; the rest only in the journal.
			if _, err := s.QueryLog(ctx, vigil.LogQuery{Limit: 1}); err != nil {
				fmt.Println("error", err)
				os.Exit(2)
			}
			holdWriter()
		}
	}
	os.Exit(0)
}

func TestMain(m *testing.M) {
	if dir := os.Getenv("VIGIL_JOURNAL_CHILD"); dir != "" {
		n, _ := strconv.Atoi(os.Getenv("VIGIL_JOURNAL_N"))
		w, _ := strconv.Atoi(os.Getenv("VIGIL_JOURNAL_WAIT"))
		journalChild(dir, n, w)
	}
	os.Exit(m.Run())
}

// TestLogJournalCrash: a process that dies right after its appends were
// acknowledged loses none of them: the next start writes what only the
// journal held, under the IDs the appends returned, and nothing twice
// (part of the entries had reached the database before the crash).
func TestLogJournalCrash(t *testing.T) {
	for _, tc := range []struct{ n, waitAfter int }{{40, 0}, {40, 25}} {
		t.Run(fmt.Sprintf("%d applied of %d", tc.waitAfter, tc.n), func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run", "^$")
			cmd.Env = append(os.Environ(), "VIGIL_JOURNAL_CHILD="+dir, fmt.Sprint("VIGIL_JOURNAL_N=", tc.n),
				fmt.Sprint("VIGIL_JOURNAL_WAIT=", tc.waitAfter))
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("child: %v\n%s", err, out)
			}
			var acked []int64
			sc := bufio.NewScanner(strings.NewReader(string(out)))
			for sc.Scan() {
				for _, f := range strings.Fields(sc.Text()) {
					id, err := strconv.ParseInt(f, 10, 64)
					if err != nil {
						t.Fatalf("child said %q", sc.Text())
					}
					acked = append(acked, id)
				}
			}
			if len(acked) != 2*tc.n {
				t.Fatalf("child acknowledged %d entries, want %d", len(acked), 2*tc.n)
			}
			for i := 1; i < len(acked); i++ {
				if acked[i] != acked[i-1]+1 {
					t.Fatalf("IDs not consecutive: %v", acked)
				}
			}

			ctx := context.Background()
			s, err := sqlite.Open(ctx, filepath.Join(dir, "vigil.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			var before int
			if err := s.DB().QueryRow(`SELECT count(*) FROM abuse_log`).Scan(&before); err != nil {
				t.Fatal(err)
			}
			if before != 2*tc.waitAfter {
				t.Fatalf("%d entries in the database before the replay, want the %d the child waited for", before, 2*tc.waitAfter)
			}
			if err := s.UseLogJournal(ctx, filepath.Join(dir, "log-journal"), nil); err != nil {
				t.Fatal(err)
			}
			got, err := s.QueryLog(ctx, vigil.LogQuery{Limit: 500, WithProtected: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2*tc.n {
				t.Fatalf("%d entries after the replay, want %d (%d were in before it)", len(got), 2*tc.n, before)
			}
			for i, e := range got { // newest first
				want := acked[len(acked)-1-i]
				k := (len(acked) - 1 - i) / 2
				if e.ID != want || e.Performer != fmt.Sprint("u", k) || !strings.Contains(string(e.Vars), fmt.Sprintf("entry %d ", k)) {
					t.Fatalf("entry %d: ID %d performer %s, want ID %d performer u%d", i, e.ID, e.Performer, want, k)
				}
				if e.FilterID == 1 && (e.Protected == nil || e.Protected.IP != fmt.Sprintf("192.0.2.%d", k%250)) {
					t.Fatalf("entry %d: protected data %+v", e.ID, e.Protected)
				}
			}
			// New appends continue the numbering.
			next := []*vigil.LogEntry{{Wiki: "w", FilterID: 3, Action: "edit", Performer: "x", Time: time.Now()}}
			if err := s.AppendLog(ctx, next); err != nil {
				t.Fatal(err)
			}
			if next[0].ID != acked[len(acked)-1]+1 {
				t.Errorf("next ID %d, want %d", next[0].ID, acked[len(acked)-1]+1)
			}
			if m, _ := filepath.Glob(filepath.Join(dir, "log-journal", "*.journal")); len(m) > 1 {
				t.Errorf("segments left after the replay: %v", m)
			}
		})
	}
}

// A journal left by a crash, then a run without it: with log_journal off,
// vigil serve drains the journal first (DrainLogJournal); a program that
// does not (an older Vigil) numbers its entries over the journal's. Either
// way every entry ends up in the database once, none in place of another.
func TestJournalLeftWhileDisabled(t *testing.T) {
	for _, drain := range []bool{true, false} {
		t.Run(fmt.Sprint("drain=", drain), func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run", "^$")
			cmd.Env = append(os.Environ(), "VIGIL_JOURNAL_CHILD="+dir, "VIGIL_JOURNAL_N=5", "VIGIL_JOURNAL_WAIT=0")
			if out, err := cmd.Output(); err != nil {
				t.Fatalf("child: %v\n%s", err, out)
			}
			ctx := context.Background()
			journalDir := filepath.Join(dir, "log-journal")
			s, err := sqlite.Open(ctx, filepath.Join(dir, "vigil.db"))
			if err != nil {
				t.Fatal(err)
			}
			if drain {
				if err := s.DrainLogJournal(ctx, journalDir, nil); err != nil {
					t.Fatal(err)
				}
			}
			var later []int64
			for i := range 3 {
				e := []*vigil.LogEntry{{Wiki: "w", FilterID: 9, Action: "edit", Performer: fmt.Sprint("later", i), Time: time.Now()}}
				if err := s.AppendLog(ctx, e); err != nil {
					t.Fatal(err)
				}
				later = append(later, e[0].ID)
			}
			s.Close()
			if !drain && later[0] != 1 {
				t.Fatalf("without the drain the first entry took ID %d; the test means it to take one of the journal's", later[0])
			}
			s = openJournaled(t, dir)
			defer s.Close()
			got, err := s.QueryLog(ctx, vigil.LogQuery{Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]int{}
			ids := map[int64]bool{}
			for _, e := range got {
				seen[fmt.Sprint(e.Performer, "/", e.FilterID)]++
				ids[e.ID] = true
			}
			if len(got) != 13 || len(ids) != 13 {
				t.Fatalf("%d entries (%d IDs), want 13: %v", len(got), len(ids), seen)
			}
			for i := range 5 {
				for _, f := range []int{1, 2} {
					if k := seen[fmt.Sprintf("u%d/%d", i, f)]; k != 1 {
						t.Errorf("entry u%d/%d written %d times", i, f, k)
					}
				}
			}
			for i, id := range later {
				if !ids[id] || seen[fmt.Sprintf("later%d/9", i)] != 1 {
					t.Errorf("later%d lost its ID %d", i, id)
				}
			}
		})
	}
}

// An entry renumbered because its ID was taken is not written again when
// its segment is replayed (the segment's retirement lost in a crash): the
// replay finds it by what it says, under its new number.
func TestJournalRenumberedNotReplayedTwice(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	journalDir := filepath.Join(dir, "log-journal")
	entry := func(who string, id int64) *vigil.LogEntry {
		return &vigil.LogEntry{ID: id, Wiki: "w", FilterID: 1, Action: "edit", Performer: who, PageTitle: "P",
			Time: time.UnixMicro(1_700_000_000_000_000)}
	}
	s := openJournaled(t, dir)
	a := []*vigil.LogEntry{entry("A", 0)}
	if err := s.AppendLog(ctx, a); err != nil {
		t.Fatal(err)
	}
	// B arrives under A's number (as from a writer that numbered it
	// elsewhere) and is renumbered when applied.
	if err := s.AppendLog(ctx, []*vigil.LogEntry{entry("B", a[0].ID)}); err != nil {
		t.Fatal(err)
	}
	segs, _ := filepath.Glob(filepath.Join(journalDir, "*.journal"))
	if len(segs) != 1 {
		t.Fatalf("segments %v", segs)
	}
	saved, err := os.ReadFile(segs[0])
	if err != nil {
		t.Fatal(err)
	}
	count := func(s *sqlstore.Store, who string) int {
		got, err := s.QueryLog(ctx, vigil.LogQuery{Performer: who})
		if err != nil {
			t.Fatal(err)
		}
		return len(got)
	}
	if count(s, "B") != 1 || count(s, "A") != 1 {
		t.Fatalf("before the crash: A %d, B %d", count(s, "A"), count(s, "B"))
	}
	s.Close()
	if err := os.WriteFile(segs[0], saved, 0o600); err != nil { // the retirement undone
		t.Fatal(err)
	}
	s = openJournaled(t, dir)
	defer s.Close()
	if count(s, "B") != 1 || count(s, "A") != 1 {
		t.Fatalf("after the replay: A %d, B %d entries, want one each", count(s, "A"), count(s, "B"))
	}
}

// TestJournalRetryWritesDumpOnce: while the database refuses a batch, the
// journal retries it; its dumps are written once, not once per try.
func TestJournalRetryWritesDumpOnce(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openJournaled(t, dir)
	defer s.Close()
	if _, err := s.DB().Exec(`CREATE TRIGGER refuse BEFORE INSERT ON abuse_log BEGIN SELECT RAISE(ABORT, 'refused'); END`); err != nil {
		t.Fatal(err)
	}
	noise := make([]byte, 50_000)
	for i := range noise {
		noise[i] = "0123456789abcdef"[mrand.IntN(16)]
	}
	vars := json.RawMessage(`{"x":"` + string(noise) + `"}`)
	e := &vigil.LogEntry{Wiki: "w", FilterID: 1, Action: "edit", Performer: "p", Vars: vars, Time: time.Now()}
	if err := s.AppendLog(ctx, []*vigil.LogEntry{e}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond) // tries at about 0, 50, 150, 350, 750 ms
	if _, err := s.DB().Exec(`DROP TRIGGER refuse`); err != nil {
		t.Fatal(err)
	}
	var got []*vigil.LogEntry
	for deadline := time.Now().Add(10 * time.Second); len(got) == 0 && time.Now().Before(deadline); {
		var err error
		if got, err = s.QueryLog(ctx, vigil.LogQuery{Wiki: "w"}); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != 1 || !bytes.Equal(got[0].Vars, vars) {
		t.Fatalf("after the retries: %d entries", len(got))
	}
	st, err := os.Stat(filepath.Join(dir, "vigil.db-dumps", "000000000001.dumps"))
	if err != nil {
		t.Fatal(err)
	}
	// Random hex digits do not compress with S2: one copy is a little
	// over len(vars), two are twice that.
	if st.Size() >= int64(len(vars))*3/2 {
		t.Fatalf("the dump file holds %d bytes for one %d-byte dump: written more than once", st.Size(), len(vars))
	}
}

// TestDumpFilesOneWriter: a second store writing the same database's log
// (log_journal: false in an overlapping restart, say) is refused rather than
// left to write over the first's dumps; once the first is closed it writes,
// and every entry reads back its own variables.
func TestDumpFilesOneWriter(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "vigil.db")
	s1, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	entry := func(filter int64) *vigil.LogEntry {
		return &vigil.LogEntry{Wiki: "w", FilterID: filter, Action: "edit", Performer: "p",
			Vars: json.RawMessage(fmt.Sprintf(`{"filter":%d}`, filter)), Time: time.Now()}
	}
	if err := s1.AppendLog(ctx, []*vigil.LogEntry{entry(1)}); err != nil {
		t.Fatal(err)
	}
	if err := s2.AppendLog(ctx, []*vigil.LogEntry{entry(2)}); err == nil || !strings.Contains(err.Error(), "another process") {
		t.Fatalf("second writer: %v, want an error saying another process writes the dumps", err)
	}
	s1.Close()
	if err := s2.AppendLog(ctx, []*vigil.LogEntry{entry(3)}); err != nil {
		t.Fatal(err)
	}
	got, err := s2.QueryLog(ctx, vigil.LogQuery{Wiki: "w"})
	if err != nil || len(got) != 2 {
		t.Fatalf("%d entries, %v; want 2", len(got), err)
	}
	for _, e := range got {
		if want := fmt.Sprintf(`{"filter":%d}`, e.FilterID); string(e.Vars) != want {
			t.Fatalf("entry of filter %d: vars %s, want %s", e.FilterID, e.Vars, want)
		}
	}
}

// TestPurgedDataLeavesNoTrace: after a purge, the purged IP addresses and
// user agents are in none of the files of the data directory (the
// database, its WAL, the journal's segments and spares, the dump files),
// while a younger entry's are still in the database.
func TestPurgedDataLeavesNoTrace(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openJournaled(t, dir)
	var mu sync.Mutex
	now := time.Now().Add(-100 * 24 * time.Hour)
	s.SetClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now }) // the journal reads it too
	entry := func(ip, agent string) *vigil.LogEntry {
		mu.Lock()
		defer mu.Unlock()
		return &vigil.LogEntry{Wiki: "enwiki", FilterID: 1, FilterVersion: 1, Action: "edit", Performer: "Someone",
			PageTitle: "Page", Vars: json.RawMessage(`{"action":"edit","new_wikitext":"` + strings.Repeat("text ", 200) + `"}`), Time: now,
			Protected: &vigil.ProtectedData{IP: ip, UserAgent: agent, Vars: json.RawMessage(`{"user_unnamed_ip":"` + ip + `"}`)}}
	}
	for i := range 40 {
		if err := s.AppendLog(ctx, []*vigil.LogEntry{entry(fmt.Sprint("198.51.100.", i), "SecretAgent/1.0")}); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	now = time.Now()
	mu.Unlock()
	if err := s.AppendLog(ctx, []*vigil.LogEntry{entry("203.0.113.77", "YoungAgent/2.0")}); err != nil {
		t.Fatal(err)
	}
	n, err := s.PurgeProtected(ctx, time.Now().Add(-90*24*time.Hour), 7)
	if err != nil || n != 40 {
		t.Fatalf("purged %d, %v; want 40", n, err)
	}
	// Looked at while the store is open (closing it removes the WAL),
	// and again after.
	scan(t, dir, "/vigil.db", "while open")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	scan(t, dir, "/vigil.db", "after closing")
}

func scan(t *testing.T, dir, db, when string) {
	t.Helper()
	found := map[string][]string{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, secret := range []string{"SecretAgent/1.0", "198.51.100.", "YoungAgent/2.0"} {
			if bytes.Contains(b, []byte(secret)) {
				found[secret] = append(found[secret], strings.TrimPrefix(path, dir))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(found["SecretAgent/1.0"]) > 0 || len(found["198.51.100."]) > 0 {
		t.Errorf("%s: purged data still in %v", when, found)
	}
	if fmt.Sprint(found["YoungAgent/2.0"]) != "["+db+"]" {
		t.Errorf("%s: the young entry's user agent in %v, want only in %s", when, found["YoungAgent/2.0"], db)
	}
}

// TestPrunedWindowLeavesNoTrace: actions pruned from the recent window
// leave their IP addresses and user agents in none of its files.
func TestPrunedWindowLeavesNoTrace(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	w, err := sqlite.OpenWindow(ctx, filepath.Join(dir, "recent.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	old := time.Now().Add(-8 * 24 * time.Hour)
	var actions []*vigil.RecentAction
	for i := range 30 {
		actions = append(actions, &vigil.RecentAction{Wiki: "enwiki", Time: old, Payload: []byte(`{"action":"edit"}`),
			Protected: []byte(fmt.Sprintf(`{"ip":"198.51.100.%d","user_agent":"SecretAgent/1.0"}`, i))})
	}
	actions = append(actions, &vigil.RecentAction{Wiki: "enwiki", Time: time.Now(), Payload: []byte(`{"action":"edit"}`),
		Protected: []byte(`{"ip":"203.0.113.77","user_agent":"YoungAgent/2.0"}`)})
	if err := w.AppendRecent(ctx, actions); err != nil {
		t.Fatal(err)
	}
	if err := w.PruneRecent(ctx, time.Now().Add(-7*24*time.Hour), 100000); err != nil {
		t.Fatal(err)
	}
	scan(t, dir, "/recent.db", "while open")
}
