package follow

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func decodeLines(t *testing.T, rel string) []Event {
	t.Helper()
	var out []Event
	for i, line := range sampleLines(t, rel) {
		ev, err := DecodeEvent(line)
		if err != nil {
			t.Fatalf("%s:%d: %v", rel, i+1, err)
		}
		out = append(out, ev)
	}
	return out
}

func TestDecodeRecentChangeJSONL(t *testing.T) {
	misc := decodeLines(t, "recentchange/misc-2020-2021.jsonl")
	if len(misc) != 3 {
		t.Fatalf("misc: %d events, want 3", len(misc))
	}
	e := misc[0]
	want := Event{Wiki: "commonswiki", Type: TypeEdit, Namespace: 6, Title: "Abydos-Bold-hieroglyph-O10A.png",
		PrefixedTitle: "File:Abydos-Bold-hieroglyph-O10A.png", RCID: 1390275467, OldRevID: 326564921,
		NewRevID: 420613296, User: "SchlurcherBot", Bot: true, ServerURL: "https://commons.wikimedia.org",
		ServerName: "commons.wikimedia.org", ScriptPath: "/w", Stream: "mediawiki.recentchange",
		MetaID: "013846b7-9e2a-430a-8959-7a423bf38385", Timestamp: time.Unix(1590020802, 0).UTC()}
	checkEvent(t, e, want)
	if *e.OldLen != 366 || *e.NewLen != 1010 || !*e.Patrolled {
		t.Errorf("lengths %d→%d patrolled %v", *e.OldLen, *e.NewLen, *e.Patrolled)
	}
	if got := e.APIURL(); got != "https://commons.wikimedia.org/w/api.php" {
		t.Errorf("APIURL = %q", got)
	}
	if ko := misc[1]; ko.Wiki != "kowiki" || ko.Namespace != 2 || ko.Title != "廢后" || ko.PrefixedTitle != "사용자:廢后" ||
		ko.User != "廢后" || ko.Patrolled != nil || !strings.HasPrefix(ko.Timestamp.Format(time.RFC3339), "2021-09-14T14:39:43Z") {
		t.Errorf("kowiki event: %+v", ko)
	}
	if !misc[2].Minor || misc[2].User != "RudolphousBot" {
		t.Errorf("third event: minor %v user %q", misc[2].Minor, misc[2].User)
	}

	wd := decodeLines(t, "recentchange/wikidata-2020-02-02.from-rust-tests.jsonl")
	if len(wd) != 5 {
		t.Fatalf("wikidata: %d events, want 5", len(wd))
	}
	hit := wd[3]
	checkEvent(t, hit, Event{Wiki: "wikidatawiki", Type: TypeLog, LogType: "abusefilter", LogAction: "hit",
		Namespace: 0, Title: "Q881745", PrefixedTitle: "Q881745", User: "2A01:E0A:1C8:9A00:F0C3:F1E2:400B:11B2",
		ServerURL: "https://www.wikidata.org", ServerName: "www.wikidata.org", ScriptPath: "/w",
		Stream: "mediawiki.recentchange", MetaID: "1b9134f7-8448-41b7-ac30-6be5acdadcc9",
		Timestamp: time.Unix(1580648724, 0).UTC()})
	if hit.RCID != 0 || hit.LogID != 0 { // the event has no "id" and log_id 0
		t.Errorf("abusefilter hit: rcid %d log id %d", hit.RCID, hit.LogID)
	}
	var params struct{ Filter, Log int }
	if err := json.Unmarshal(hit.LogParams, &params); err != nil || params.Filter != 79 || params.Log != 11639581 {
		t.Errorf("log params %s: %+v %v", hit.LogParams, params, err)
	}
	nw := wd[4]
	if nw.Type != TypeNew || nw.OldLen != nil || *nw.NewLen != 18711 || nw.OldRevID != 0 || nw.NewRevID != 1108521371 {
		t.Errorf("new page: %+v", nw)
	}
	if wd[0].Comment != "/* wbmergeitems-to:0||Q1216649 */ [[MediaWiki:Gadget-Merge.js|merge.js]]  duplicate entry" {
		t.Errorf("comment %q", wd[0].Comment)
	}
}

func TestDecodeRevisionCreateJSONL(t *testing.T) {
	evs := decodeLines(t, "revision-create/misc-2021-2022.jsonl")
	if len(evs) != 2 {
		t.Fatalf("%d events, want 2", len(evs))
	}
	e := evs[0]
	checkEvent(t, e, Event{Wiki: "enwiki", Type: TypeEdit, Namespace: 2, Title: "Peter I. Vardy/sandbox",
		PrefixedTitle: "User:Peter I. Vardy/sandbox", PageID: 8188575, OldRevID: 1107530092, NewRevID: 1107535873,
		User: "Peter I. Vardy", UserID: 2675188, ServerURL: "https://en.wikipedia.org", ServerName: "en.wikipedia.org",
		ScriptPath: "/w", Comment: "z", Stream: "mediawiki.revision-create",
		MetaID: "63a721ff-a3d0-4ab8-a9c2-0890642a2696", Timestamp: mustTime(t, "2022-08-30T14:13:57Z")})
	if *e.NewLen != 6319 || e.OldLen != nil || e.ContentModel != "wikitext" || e.SHA1 != "j67dl0l3cxot84gy2qft4rs2jnsb3cz" || e.NullRevision {
		t.Errorf("revision fields: %+v", e)
	}
	p := e.Performer
	if p == nil || p.ID != 2675188 || *p.EditCount != 205321 || len(p.Groups) != 6 || p.Groups[0] != "autoreviewer" ||
		!p.Registration.Equal(mustTime(t, "2006-11-06T14:56:58Z")) {
		t.Errorf("performer: %+v", p)
	}
	// A protection's null revision: content unchanged.
	if n := evs[1]; !n.NullRevision || n.Wiki != "metawiki" || n.Namespace != 8 || !n.Minor || n.OldRevID != 21941943 {
		t.Errorf("null revision: %+v", n)
	}
}

func TestDecodeRecentChangeRCFeed(t *testing.T) {
	evs := decodeLines(t, "local-mediawiki-1.39/rcfeed-udp-JSONRCFeedFormatter.jsonl")
	if len(evs) != 11 {
		t.Fatalf("%d events, want 11", len(evs))
	}
	type row struct {
		rcid                    int64
		typ, logType, logAction string
		ns                      int
		title                   string
	}
	want := []row{
		{13, TypeEdit, "", "", 0, "Sandbox"},
		{14, TypeLog, "block", "block", 2, "127.0.0.3"},
		{15, TypeEdit, "", "", 0, "Sandbox"},
		{16, TypeNew, "", "", 0, "Brand new page"},
		{18, TypeLog, "newusers", "create", 2, "NewSpammer1"},
		{19, TypeLog, "move", "move", 0, "Brand new page"},
		{20, TypeLog, "protect", "protect", 0, "Sandbox"},
		{21, TypeLog, "delete", "delete", 0, "Moved page"},
		{22, TypeLog, "abusefilter", "hit", 1, "Sandbox"},
		{23, TypeEdit, "", "", 0, "Main Page"},
		{24, TypeCategorize, "", "", 14, "Test"},
	}
	for i, w := range want {
		e := evs[i]
		got := row{e.RCID, e.Type, e.LogType, e.LogAction, e.Namespace, e.Title}
		if got != w {
			t.Errorf("event %d: %+v, want %+v", i, got, w)
		}
		if e.Wiki != "my_wiki" || e.ScriptPath != "" || e.APIURL() != "http://127.0.0.1:8080/api.php" || e.Stream != "" {
			t.Errorf("event %d: wiki %q script path %q api %q", i, e.Wiki, e.ScriptPath, e.APIURL())
		}
	}
	if e := evs[0]; e.User != "127.0.0.1" || e.OldRevID != 10 || e.NewRevID != 11 || *e.OldLen != 50 || *e.NewLen != 69 ||
		e.Comment != "/* section */ rcfeed test" || !e.Timestamp.Equal(mustTime(t, "2026-11-21T23:46:01Z")) {
		t.Errorf("anonymous edit: %+v", e)
	}
	if e := evs[3]; e.OldLen != nil || *e.NewLen != 32 || e.OldRevID != 0 || e.NewRevID != 13 { // "old": null
		t.Errorf("new page: %+v", e)
	}
	var kinds []string
	for _, e := range evs {
		kinds = append(kinds, e.ActionKind())
	}
	if got := strings.Join(kinds, ","); got != "edit,,edit,edit,createaccount,move,,delete,,edit," {
		t.Errorf("action kinds %s", got)
	}
	move := evs[5]
	if move.Target == nil || move.Target.PrefixedTitle != "Moved page" || move.Target.Namespace != nil || move.LogID != 16 {
		t.Errorf("move target %+v", move.Target)
	}
	if string(evs[7].LogParams) != "[]" { // PHP's empty array
		t.Errorf("delete log params %s", evs[7].LogParams)
	}
}

func TestDecodeSSECaptures(t *testing.T) {
	read := func(rel string) []sseMessage {
		sc := newSSEScanner(strings.NewReader(string(sample(t, rel))), "", 0, 0)
		var out []sseMessage
		for {
			m, err := sc.Next()
			if err != nil {
				if err.Error() != "EOF" {
					t.Fatalf("%s: %v", rel, err)
				}
				return out
			}
			out = append(out, m)
		}
	}
	rc := read("recentchange/sse-capture-2025-08-29.txt")
	if len(rc) != 9 {
		t.Fatalf("recentchange capture: %d events, want 9", len(rc))
	}
	count := map[string]int{}
	wikis := map[string]int{}
	var evs []Event
	for _, m := range rc {
		if m.Event != "message" {
			t.Errorf("event type %q", m.Event)
		}
		ev, err := DecodeEvent([]byte(m.Data))
		if err != nil {
			t.Fatal(err)
		}
		count[ev.Type]++
		wikis[ev.Wiki]++
		evs = append(evs, ev)
	}
	if count[TypeCategorize] != 4 || count[TypeEdit] != 4 || count[TypeNew] != 1 {
		t.Errorf("types %v", count)
	}
	if wikis["mgwiktionary"] != 4 || wikis["commonswiki"] != 3 || wikis["eswiki"] != 1 || wikis["rowiki"] != 1 {
		t.Errorf("wikis %v", wikis)
	}
	if id := `[{"topic":"eqiad.mediawiki.recentchange","partition":0,"timestamp":1756449917002},{"topic":"codfw.mediawiki.recentchange","partition":0,"offset":-1}]`; rc[0].ID != id {
		t.Errorf("first id %s", rc[0].ID)
	}
	es := evs[2]
	checkEvent(t, es, Event{Wiki: "eswiki", Type: TypeEdit, Namespace: 104, Title: "Películas de Walt Disney Pictures",
		PrefixedTitle: "Anexo:Películas de Walt Disney Pictures", RCID: 336406451, OldRevID: 169223990, NewRevID: 169228781,
		User: "BrookTheHumming", ServerURL: "https://es.wikipedia.org", ServerName: "es.wikipedia.org", ScriptPath: "/w",
		Stream: "mediawiki.recentchange", MetaID: "4625d6f5-f402-48c5-aeff-37189cc25d0b", Timestamp: time.Unix(1756449914, 0).UTC()})
	if *es.OldLen != 83624 || *es.NewLen != 83535 || es.Patrolled != nil {
		t.Errorf("eswiki edit: %+v", es)
	}
	if last := evs[8]; last.Type != TypeNew || last.Title != "arponeaban" || last.NewRevID != 36040297 || last.RCID != 68147967 {
		t.Errorf("last event %+v", last)
	}

	pc := read("page-create/sse-capture-commonswiki-2025-09-06.txt")
	if len(pc) != 3 {
		t.Fatalf("page-create capture: %d events, want 3", len(pc))
	}
	ev, err := DecodeEvent([]byte(pc[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	checkEvent(t, ev, Event{Wiki: "commonswiki", Type: TypeNew, Namespace: 6,
		Title:         "Keith's Magazine on Home Building, 1915; Keith's Home-Builder - DPLA - baf2c6b254fbda2f3d9d0b3059945d19 (page 617).jpg",
		PrefixedTitle: "File:Keith's Magazine on Home Building, 1915; Keith's Home-Builder - DPLA - baf2c6b254fbda2f3d9d0b3059945d19 (page 617).jpg",
		PageID:        174482800, NewRevID: 1081516708, User: "DPLA bot", UserID: 8609812, Bot: true,
		ServerURL: "https://commons.wikimedia.org", ServerName: "commons.wikimedia.org", ScriptPath: "/w",
		Comment: `Uploading DPLA ID "[[dpla:baf2c6b254fbda2f3d9d0b3059945d19|baf2c6b254fbda2f3d9d0b3059945d19]]".`,
		Stream:  "mediawiki.page-create", MetaID: "b6a5fea2-91be-48db-b78c-6abbb72bdab4",
		Timestamp: mustTime(t, "2025-09-06T03:28:51Z")})
	if *ev.NewLen != 1172 || ev.Performer == nil || *ev.Performer.EditCount != 26531708 || ev.Performer.Groups[0] != "bot" {
		t.Errorf("page-create: %+v", ev)
	}
	for _, m := range pc[1:] {
		if ev, err := DecodeEvent([]byte(m.Data)); err != nil || ev.Type != TypeNew || ev.Wiki != "commonswiki" {
			t.Errorf("page-create %s: %+v %v", m.ID, ev, err)
		}
	}
}

// The protsack samples are JSON arrays of {id, data}.
func TestDecodeProtsackSamples(t *testing.T) {
	type rec struct {
		ID   json.RawMessage `json:"id"`
		Data json.RawMessage `json:"data"`
	}
	load := func(name string) []Event {
		var recs []rec
		if err := json.Unmarshal(sample(t, "protsack-mediawiki-eventstream-client/"+name), &recs); err != nil {
			t.Fatal(err)
		}
		if len(recs) != 2 {
			t.Fatalf("%s: %d records", name, len(recs))
		}
		var out []Event
		for _, r := range recs {
			ev, err := DecodeEvent(r.Data)
			if errors.Is(err, ErrUnknownSchema) {
				continue
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			out = append(out, ev)
		}
		return out
	}
	pc := load("page-create.json")
	if len(pc) != 2 || pc[0].Type != TypeNew || pc[0].Wiki != "enwiki" || pc[0].Namespace != 3 ||
		pc[0].Title != "NR 01 RE" || pc[0].User != "ClueBot NG" || pc[0].PageID != 72231974 || pc[1].Wiki != "enwiktionary" {
		t.Errorf("page-create: %+v", pc)
	}
	del := load("page-delete.json")
	if len(del) != 2 {
		t.Fatalf("page-delete: %d", len(del))
	}
	checkEvent(t, del[0], Event{Wiki: "mgwiktionary", Type: TypeLog, LogType: "delete", LogAction: "delete",
		Title: "réduisit", PrefixedTitle: "réduisit", PageID: 4656021, OldRevID: 22058660, User: "Jagwar", UserID: 177,
		ServerURL: "https://mg.wiktionary.org", ServerName: "mg.wiktionary.org", ScriptPath: "/w",
		Comment: "[[:m:Requests for comment/Large-scale errors at Malagasy Wiktionary/mg|Famafana ambongadiny vokatry ny fanadihadiana momba ny Wikibolana malagasy]]",
		Stream:  "mediawiki.page-delete", MetaID: "702c233d-7613-4e39-8118-bc72f48169a0",
		Timestamp: mustTime(t, "2020-11-18T19:19:21Z")})
	mv := load("page-move.json")
	if len(mv) != 2 {
		t.Fatalf("page-move: %d", len(mv))
	}
	m := mv[0]
	if m.Type != TypeLog || m.LogType != "move" || m.Wiki != "nlwiki" || m.Title != "Coulon" || m.OldRevID != 48800727 ||
		m.NewRevID != 57655779 || m.Target == nil || m.Target.PrefixedTitle != "Coulon (gemeente)" || *m.Target.Namespace != 0 {
		t.Errorf("page-move: %+v target %+v", m, m.Target)
	}
	if tg, ok := m.MoveTarget(); !ok || tg.PrefixedTitle != "Coulon (gemeente)" {
		t.Errorf("MoveTarget %+v %v", tg, ok)
	}
	if mv[1].Wiki != "dewiki" || mv[1].Title != "Olson" || mv[1].Target.PrefixedTitle != "Olson (Rapper)" {
		t.Errorf("second move %+v", mv[1])
	}
	rc := load("revision-create.json")
	if len(rc) != 2 || rc[0].Type != TypeEdit || rc[0].OldRevID != 352825217 || rc[0].Title != "Cyprian Dylczyński" ||
		rc[1].ContentModel != "wikibase-item" || rc[1].Wiki != "wikidatawiki" || !rc[1].Bot {
		t.Errorf("revision-create: %+v", rc)
	}
	if got := load("revision-score.json"); len(got) != 0 {
		t.Errorf("revision-score decoded: %+v", got)
	}
	if got := load("revision-visibility-change.json"); len(got) != 0 {
		t.Errorf("revision-visibility-change decoded: %+v", got)
	}
}

func TestDecodeUnknownAndBad(t *testing.T) {
	score := sampleLines(t, "revision-score/itwiki-2021-08-27.jsonl")
	if len(score) != 1 {
		t.Fatalf("%d lines", len(score))
	}
	if _, err := DecodeEvent(score[0]); !errors.Is(err, ErrUnknownSchema) || !strings.Contains(err.Error(), "/mediawiki/revision/score/2.0.0") {
		t.Errorf("revision-score: %v", err)
	}
	// A canary is a real event with meta.domain "canary".
	canary := strings.Replace(string(sampleLines(t, "recentchange/misc-2020-2021.jsonl")[0]),
		`"domain": "commons.wikimedia.org"`, `"domain": "canary"`, 1)
	if !strings.Contains(canary, `"canary"`) {
		canary = strings.Replace(canary, `"domain":"commons.wikimedia.org"`, `"domain":"canary"`, 1)
	}
	if _, err := DecodeEvent([]byte(canary)); !errors.Is(err, ErrCanary) {
		t.Errorf("canary: %v", err)
	}
	for _, tc := range []struct {
		name, in string
		want     string // part of the error; "" for no error
		typ      string
	}{
		{"empty object", `{}`, "no $schema", ""},
		{"array", `[]`, "decode event", ""},
		{"truncated", `{"$schema":"/mediawiki/recentchange/1.0.0","wiki":"enwiki","type":"ed`, "decode event", ""},
		{"no wiki", `{"$schema":"/mediawiki/recentchange/1.0.0","type":"edit","title":"X"}`, "no wiki", ""},
		{"null type", `{"wiki":"w","type":null,"title":"X"}`, "no type", ""},
		{"no title", `{"wiki":"w","type":"edit"}`, "no title", ""},
		{"bad type number", `{"wiki":"w","type":2,"title":"X"}`, "bad type", ""},
		{"type as number", `{"wiki":"w","type":3,"title":"X","log_type":"delete","log_action":"delete"}`, "", TypeLog},
		{"timestamp string", `{"wiki":"w","type":"edit","title":"X","timestamp":"now"}`, "decode event", ""},
		{"bad meta.dt", `{"$schema":"/mediawiki/recentchange/1.0.0","meta":{"dt":"yesterday"},"wiki":"w","type":"edit","title":"X"}`, "meta.dt", ""},
		{"revision-create without database", `{"$schema":"/mediawiki/revision/create/2.0.0","page_title":"X"}`, "no database", ""},
		{"move without prior state", `{"$schema":"/mediawiki/page/move/1.0.0","database":"w","page_title":"X"}`, "prior_state", ""},
		{"other schema", `{"$schema":"/mediawiki/page/undelete/1.0.0"}`, "unknown event schema", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := DecodeEvent([]byte(tc.in))
			if tc.want == "" {
				if err != nil || ev.Type != tc.typ {
					t.Fatalf("got %+v, %v; want type %s", ev, err, tc.typ)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestMoveTargetAPIParams(t *testing.T) {
	ev := Event{Type: TypeLog, LogType: "move", LogParams: json.RawMessage(`{"target_ns":1,"target_title":"Talk:Moved page","suppressredirect":false}`)}
	tg, ok := ev.MoveTarget()
	if !ok || tg.PrefixedTitle != "Talk:Moved page" || tg.Namespace == nil || *tg.Namespace != 1 {
		t.Errorf("%+v %v", tg, ok)
	}
	if _, ok := (&Event{Type: TypeLog, LogType: "delete", LogParams: json.RawMessage(`[]`)}).MoveTarget(); ok {
		t.Error("a delete has no move target")
	}
}

// checkEvent compares the scalar fields of want that are set.
func checkEvent(t *testing.T, got, want Event) {
	t.Helper()
	type cmp struct {
		name      string
		got, want any
	}
	for _, c := range []cmp{
		{"wiki", got.Wiki, want.Wiki}, {"type", got.Type, want.Type}, {"log_type", got.LogType, want.LogType},
		{"log_action", got.LogAction, want.LogAction}, {"namespace", got.Namespace, want.Namespace},
		{"title", got.Title, want.Title}, {"prefixed_title", got.PrefixedTitle, want.PrefixedTitle},
		{"page_id", got.PageID, want.PageID}, {"rcid", got.RCID, want.RCID}, {"old_rev_id", got.OldRevID, want.OldRevID},
		{"new_rev_id", got.NewRevID, want.NewRevID}, {"user", got.User, want.User}, {"user_id", got.UserID, want.UserID},
		{"bot", got.Bot, want.Bot}, {"server_url", got.ServerURL, want.ServerURL},
		{"server_name", got.ServerName, want.ServerName}, {"script_path", got.ScriptPath, want.ScriptPath},
		{"comment", got.Comment, want.Comment}, {"stream", got.Stream, want.Stream}, {"meta_id", got.MetaID, want.MetaID},
		{"timestamp", got.Timestamp.UTC(), want.Timestamp.UTC()},
	} {
		if !reflect.ValueOf(c.want).IsZero() && c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestActionKind(t *testing.T) {
	for _, tc := range []struct {
		ev   Event
		want string
	}{
		{Event{Type: TypeNew}, "edit"},
		{Event{Type: TypeEdit, NullRevision: true}, ""},
		{Event{Type: TypeLog, LogType: "move", LogAction: "move_redir"}, "move"},
		{Event{Type: TypeLog, LogType: "upload", LogAction: "overwrite"}, "upload"},
		{Event{Type: TypeLog, LogType: "newusers", LogAction: "autocreate"}, "autocreateaccount"},
		{Event{Type: TypeLog, LogType: "delete", LogAction: "restore"}, ""},
		{Event{Type: TypeExternal}, ""},
	} {
		if got := tc.ev.ActionKind(); got != tc.want {
			t.Errorf("%s %s/%s: %q, want %q", tc.ev.Type, tc.ev.LogType, tc.ev.LogAction, got, tc.want)
		}
	}
}
