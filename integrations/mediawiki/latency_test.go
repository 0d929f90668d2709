package mediawiki_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilwiki/vigil/abusefilter"
	"github.com/vigilwiki/vigil/internal/mwtest"
	"github.com/vigilwiki/vigil/internal/workload"
	"github.com/vigilwiki/vigil/screen"
)

// BenchmarkSaveLatency measures what screening adds to the save of an API
// edit in a real MediaWiki: the same wiki, the same run, edits of 5-50 KB
// pages taking turns between three modes, switched per request:
//
//	none         neither AbuseFilter nor Vigil
//	vigil        the Vigil extension, Vigil with the enabled real filters
//	abusefilter  AbuseFilter itself with the same filters
//
// Filters are log-only on both sides (AbuseFilter: enabled, no actions) so
// that nothing refuses an edit and both evaluate every filter. Reported:
// median and p99 milliseconds per mode.
//
//	go test ./integrations/mediawiki -run '^$' -bench SaveLatency -benchtime 100x
func BenchmarkSaveLatency(b *testing.B) {
	mwtest.Require(b)
	v := startVigil(b)
	token := strings.TrimSpace(v.vigil("token", "create", "--data", v.data, "--config", v.config, "--name", "mediawiki",
		"--scopes", "screen"))

	// The enabled real filters that pass the 1.39 checker, on demowiki.
	rows := enabledRows(b)
	jsonl := filepath.Join(b.TempDir(), "filters.jsonl")
	f, _ := os.Create(jsonl)
	for _, r := range rows {
		r.Wiki = "demowiki"
		line, _ := json.Marshal(r)
		f.Write(append(line, '\n'))
	}
	f.Close()
	for id := 1; id <= 4; id++ { // the sample filters are not part of the comparison
		v.vigil("filters", "delete", fmt.Sprint(id))
	}
	out := v.vigil("filters", "import", "--log-only", jsonl)
	b.Logf("vigil: %s", strings.TrimSpace(out[strings.LastIndex(out, "imported"):]))

	ext, _ := filepath.Abs("Vigil/extension.json")
	w := mwtest.Start(b, mwtest.Options{Extensions: []string{"AbuseFilter"}, Settings: fmt.Sprintf(`
$vigilMode = trim( (string)@file_get_contents( '{{DIR}}/mode' ) );
if ( $vigilMode === 'vigil' ) {
	wfLoadExtension( 'Vigil', %q );
	$wgVigilUrl = 'http://%s'; $wgVigilToken = %q; $wgVigilWikiId = 'demowiki'; $wgVigilFailMode = 'closed';
}
`, ext, v.addr, token)})
	// AbuseFilter is loaded only when asked for (the settings are read at
	// each request).
	settings := filepath.Join(w.Dir, "LocalSettings.php")
	ls, _ := os.ReadFile(settings)
	patched := strings.Replace(string(ls), "wfLoadExtension( 'AbuseFilter' );",
		"if ( trim( (string)@file_get_contents( __DIR__ . '/mode' ) ) === 'abusefilter' ) { wfLoadExtension( 'AbuseFilter' ); }", 1)
	if patched == string(ls) {
		b.Fatal("LocalSettings.php does not load AbuseFilter as expected")
	}
	os.WriteFile(settings, []byte(patched), 0o644)
	mode := func(m string) { os.WriteFile(filepath.Join(w.Dir, "mode"), []byte(m), 0o644) }

	mode("abusefilter")
	admin := w.Login(b, "Admin", mwtest.AdminPassword)
	for _, r := range rows {
		afFilter(b, admin, r.Description, r.Pattern, nil)
	}
	b.Logf("abusefilter: %d filters created", len(rows))

	anon := w.Anonymous()
	gen := workload.New("demowiki", 7, 10)
	edit := func() time.Duration {
		a := gen.Next()
		start := time.Now()
		r := anon.Edit(b, a.Page.Title, *a.NewWikitext, *a.Summary)
		d := time.Since(start)
		if res := mwtest.Get(r, "edit", "result"); res != "Success" {
			b.Fatalf("edit not saved: %v", r)
		}
		return d
	}
	mode("none")
	for range 30 { // the pages exist before the timed edits
		edit()
	}
	modes := []string{"none", "vigil", "abusefilter"}
	times := map[string][]time.Duration{}
	b.ResetTimer()
	for i := range b.N {
		for k := range modes {
			m := modes[(i+k)%len(modes)]
			mode(m)
			times[m] = append(times[m], edit())
		}
	}
	b.StopTimer()
	for _, m := range modes {
		d := times[m]
		slices.Sort(d)
		b.ReportMetric(float64(d[len(d)/2].Microseconds())/1000, m+"-p50-ms")
		b.ReportMetric(float64(d[min(len(d)-1, len(d)*99/100)].Microseconds())/1000, m+"-p99-ms")
	}
}

// enabledRows are the enabled rows of real-filters.jsonl that pass
// AbuseFilter 1.39's checker (six do not).
func enabledRows(b *testing.B) []abusefilter.Row {
	f, err := os.Open("../../../shared/testdata/abusefilter/real-filters.jsonl")
	if err != nil {
		b.Skip("no test data: ", err)
	}
	defer f.Close()
	var rows []abusefilter.Row
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var r abusefilter.Row
		if json.Unmarshal(sc.Bytes(), &r) != nil || !r.Enabled || r.Deleted {
			continue
		}
		if flt, _ := abusefilter.FromRow(r); screen.CheckFilter(flt) == nil {
			rows = append(rows, r)
		}
	}
	return rows
}
