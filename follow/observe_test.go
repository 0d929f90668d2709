package follow

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigilwiki/vigil"
)

// TestObserverActions maps the real RC feed of a MediaWiki 1.39 to Vigil
// actions: edits and creations, a self-made account (which AbuseFilter
// sees as an anonymous user), a move whose target namespace the wiki is
// asked for, a deletion; blocks, protections, filter hits and
// categorizations are not screened.
func TestObserverActions(t *testing.T) {
	wiki := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("titles") == "Moved page" {
			// The wiki's own reading wins (here as if the name were a
			// localized namespace prefix).
			w.Write([]byte(`{"query":{"pages":[{"ns":4,"title":"TestWiki:Moved page","missing":true}]}}`))
			return
		}
		http.Error(w, "unexpected", 400)
	}))
	defer wiki.Close()
	data, err := os.ReadFile("../../shared/testdata/eventstreams/samples/local-mediawiki-1.39/rcfeed-udp-JSONRCFeedFormatter.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	var got []*vigil.Action
	o := NewObserver(ObserverConfig{Wiki: "demowiki", Fetch: true, APIURL: wiki.URL + "/api.php",
		Screen: func(ctx context.Context, a *vigil.Action) error {
			got = append(got, a)
			return nil
		}})
	o.cfg.Fetch = false // texts are not what this test is about; the move asks below
	for i, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		ev, err := DecodeEvent([]byte(line))
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		o.cfg.Fetch = ev.LogType == "move"
		if err := o.Handle(context.Background(), ev); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
	}
	var kinds []string
	for _, a := range got {
		kinds = append(kinds, a.Action)
		a.Normalize(time.Now()) // as the server does before validating
		if a.Wiki != "demowiki" || a.Validate() != nil {
			t.Errorf("%s: wiki %q, %v", a.Action, a.Wiki, a.Validate())
		}
	}
	if strings.Join(kinds, " ") != "edit edit edit createaccount move delete edit" {
		t.Fatalf("actions %v", kinds)
	}
	if o.Skipped != 4 || o.Screened != 7 {
		t.Fatalf("screened %d, skipped %d", o.Screened, o.Skipped)
	}
	if a := got[0]; a.Performer.Type != "ip" || a.IP != "127.0.0.1" || a.Page.Title != "Sandbox" {
		t.Errorf("anonymous edit: %+v", a)
	}
	if a := got[3]; a.AccountName != "NewSpammer1" || a.Performer.Type != "ip" {
		t.Errorf("self-made account: %+v", a)
	}
	if a := got[4]; a.Page.Title != "Brand new page" || a.Target == nil || a.Target.Title != "Moved page" ||
		a.Target.Namespace != 4 || a.Performer.Name != "Admin" || a.Performer.Type != "named" {
		t.Errorf("move: %+v %+v", a, a.Target)
	}
}

func TestCanonicalNamespace(t *testing.T) {
	for _, tt := range []struct {
		in    string
		ns    int
		title string
	}{{"User talk:Bob", 3, "Bob"}, {"Help:FAQ", 12, "FAQ"}, {"Plain", 0, "Plain"}, {"Utilisateur:Bob", 0, "Utilisateur:Bob"},
		{"Category_talk:X", 15, "X"}} {
		if ns, title := canonicalNamespace(tt.in); ns != tt.ns || title != tt.title {
			t.Errorf("%q: %d %q", tt.in, ns, title)
		}
	}
}

// TestObserverFetchesOnlyFromAllowedWikis: an event names its wiki's
// server, but only an allowed https host (or the configured API) is asked.
func TestObserverFetchesOnlyFromAllowedWikis(t *testing.T) {
	var hits atomic.Int32
	answer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte(`{"query":{"pages":[],"users":[]}}`))
	})
	plain := httptest.NewServer(answer)
	defer plain.Close()
	tlsSrv := httptest.NewTLSServer(answer)
	defer tlsSrv.Close()
	edit := func(server string) Event {
		return Event{Wiki: "enwiki", Type: TypeEdit, Title: "X", PrefixedTitle: "X", OldRevID: 1, NewRevID: 2,
			User: "Alice", ServerURL: server, Timestamp: time.Now()}
	}
	screen := func(ctx context.Context, a *vigil.Action) error { return nil }
	for _, tt := range []struct {
		name  string
		hosts []string
		ev    Event
		want  bool
	}{
		{"plain http named by the event", []string{"127.0.0.1"}, edit(plain.URL), false},
		{"https host not allowed", []string{"wikipedia.org"}, edit(tlsSrv.URL), false},
		{"https host allowed", []string{"127.0.0.1"}, edit(tlsSrv.URL), true},
	} {
		hits.Store(0)
		o := NewObserver(ObserverConfig{Screen: screen, Fetch: true, FetchHosts: tt.hosts,
			Fetcher: FetcherConfig{Client: tlsSrv.Client(), MaxRetries: -1}})
		if err := o.Handle(context.Background(), tt.ev); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := hits.Load() > 0; got != tt.want {
			t.Errorf("%s: fetched %v, want %v", tt.name, got, tt.want)
		}
	}
}
