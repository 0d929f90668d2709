// Package workload makes realistic wiki actions for benchmarks and load
// tests: articles of 5 to 50 KB of wikitext (sections, links, templates,
// references, categories) edited the way wikis are edited: mostly small
// good-faith changes, some by new or anonymous users, a few spam links,
// shouting, blanking or profanity, so that filters have real work.
package workload

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/vigilwiki/vigil"
)

// Generator makes actions. It is not safe for concurrent use; give each
// goroutine its own.
type Generator struct {
	r     *rand.Rand
	wiki  string
	pages []page
	now   time.Time
}

type page struct {
	id    int64
	title string
	text  string
}

// New returns a generator of actions on wiki with a fixed seed, so that
// runs are repeatable.
func New(wiki string, seed uint64, pages int) *Generator {
	g := &Generator{r: rand.New(rand.NewPCG(seed, seed^0x5eed)), wiki: wiki, now: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}
	for i := range pages {
		size := 5000 + g.r.IntN(45000)
		g.pages = append(g.pages, page{id: int64(1000 + i), title: g.title(), text: g.article(size)})
	}
	return g
}

var words = strings.Fields(`the of and in to was is for on as by with he at from his an were are which this be or has had
it first its new after who they not have but also one two three their been her she other all there more when into time
during city district river school university church station population village year years century war world team
season league club game album song film series company government party state national international county north
south east west known called named built founded located including became later early several many most between
history music art science history museum library bridge railway road island lake mountain park area region
province family children life career work works member members group played published released received award
awards record records largest small large major local public private original modern ancient`)

var people = strings.Fields(`Smith Johnson Müller García Rossi Tanaka Kowalski Novak Dubois Jensen Silva Ivanov Kim Nguyen`)

func (g *Generator) pick(list []string) string { return list[g.r.IntN(len(list))] }

func (g *Generator) title() string {
	return strings.ToUpper(g.pick(words)[:1]) + g.pick(words)[1:] + " " + g.pick(people) + " " + fmt.Sprint(1800+g.r.IntN(220))
}

func (g *Generator) sentence() string {
	n := 8 + g.r.IntN(18)
	parts := make([]string, n)
	for i := range parts {
		w := g.pick(words)
		switch g.r.IntN(12) {
		case 0:
			w = "[[" + strings.ToUpper(w[:1]) + w[1:] + "]]"
		case 1:
			w = "[[" + g.pick(people) + " " + g.pick(words) + "|" + w + "]]"
		case 2:
			w = fmt.Sprint(1800 + g.r.IntN(220))
		}
		parts[i] = w
	}
	s := strings.Join(parts, " ")
	s = strings.ToUpper(s[:1]) + s[1:] + "."
	if g.r.IntN(4) == 0 {
		s += fmt.Sprintf(`<ref>{{cite web|url=https://www.%s-%s.example/%d|title=%s %s|access-date=2021-0%d-1%d}}</ref>`,
			g.pick(words), g.pick(words), g.r.IntN(100000), g.pick(words), g.pick(people), 1+g.r.IntN(9), g.r.IntN(10))
	}
	return s
}

func (g *Generator) paragraph() string {
	n := 2 + g.r.IntN(6)
	s := make([]string, n)
	for i := range s {
		s[i] = g.sentence()
	}
	return strings.Join(s, " ")
}

func (g *Generator) article(size int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "{{Infobox %s\n| name = %s\n| established = %d\n| population = %d\n}}\n", g.pick(words), g.pick(people),
		1800+g.r.IntN(220), g.r.IntN(1000000))
	b.WriteString("'''" + g.pick(people) + "''' " + g.paragraph() + "\n\n")
	for b.Len() < size {
		fmt.Fprintf(&b, "== %s ==\n", strings.ToUpper(g.pick(words)[:1])+g.pick(words)[1:])
		for range 1 + g.r.IntN(3) {
			b.WriteString(g.paragraph() + "\n\n")
		}
	}
	b.WriteString("== References ==\n{{reflist}}\n\n")
	for range 2 + g.r.IntN(4) {
		fmt.Fprintf(&b, "[[Category:%s %s]]\n", strings.ToUpper(g.pick(words)[:1])+g.pick(words)[1:], g.pick(words))
	}
	return b.String()
}

// Next returns the next action: an edit of one of the pages.
func (g *Generator) Next() *vigil.Action {
	g.now = g.now.Add(time.Duration(g.r.IntN(2000)) * time.Millisecond)
	p := &g.pages[g.r.IntN(len(g.pages))]
	old := p.text
	lines := strings.Split(old, "\n")
	i := g.r.IntN(len(lines))
	var summary string
	switch k := g.r.IntN(100); {
	case k < 70: // a good-faith change to one paragraph
		lines[i] = g.paragraph()
		summary = "/* " + g.pick(words) + " */ copyedit"
	case k < 80: // a new paragraph
		lines = append(lines[:i], append([]string{g.paragraph(), ""}, lines[i:]...)...)
		summary = "expand"
	case k < 86: // a spam link
		lines[i] += fmt.Sprintf(" [http://best-casino-%d.example/ BEST ONLINE CASINO BONUS]", g.r.IntN(1000))
	case k < 91: // shouting and profanity
		lines[i] = "THIS ARTICLE IS WRONG AND STUPID!!!!!!!!!! fuck you " + strings.Repeat("lol", 1+g.r.IntN(5))
	case k < 94: // blanking
		lines = []string{"hi"}
	case k < 97: // repeated characters
		lines[i] += " " + strings.Repeat(g.pick(words)+" ", 12)
	default: // a removed reference
		lines[i] = strings.Split(lines[i], "<ref>")[0]
		summary = "rm unsourced"
	}
	text := strings.Join(lines, "\n")
	p.text = text
	if len(p.text) < 3000 { // keep pages realistic after a blanking
		p.text = g.article(5000 + g.r.IntN(45000))
	}
	a := &vigil.Action{Wiki: g.wiki, Action: vigil.ActionEdit, Time: g.now,
		Page:    &vigil.Page{ID: p.id, Namespace: 0, Title: p.title, Created: ptr(g.now.AddDate(-3, 0, 0))},
		Summary: &summary, OldWikitext: &old, NewWikitext: &text,
		OldContentModel: ptr("wikitext"), NewContentModel: ptr("wikitext")}
	switch k := g.r.IntN(10); {
	case k < 4: // anonymous
		ip := fmt.Sprintf("198.51.%d.%d", g.r.IntN(256), 1+g.r.IntN(254))
		a.Performer = vigil.Performer{Name: ip}
		a.IP = ip
	case k < 6: // a new account
		n := int64(g.r.IntN(10))
		reg := g.now.Add(-time.Duration(g.r.IntN(86400)) * time.Second)
		a.Performer = vigil.Performer{Name: "Newbie" + fmt.Sprint(g.r.IntN(100000)), ID: int64(500000 + g.r.IntN(100000)),
			EditCount: &n, Registration: &reg, Groups: []string{"*", "user"}}
	default: // an established editor
		n := int64(500 + g.r.IntN(50000))
		reg := g.now.AddDate(-5, 0, 0)
		a.Performer = vigil.Performer{Name: g.pick(people) + fmt.Sprint(g.r.IntN(1000)), ID: int64(1 + g.r.IntN(400000)),
			EditCount: &n, Registration: &reg, Groups: []string{"*", "user", "autoconfirmed", "extendedconfirmed"}}
	}
	a.Session = fmt.Sprint("s", g.r.Uint64())
	return a
}

// Dumps returns n abuse-log variable dumps of the generator's next edits,
// as JSON: their old and new wikitext, summary and user name, the bulk of
// what the abuse log stores for a match.
func (g *Generator) Dumps(n int) []json.RawMessage {
	out := make([]json.RawMessage, n)
	for i := range out {
		a := g.Next()
		d, err := json.Marshal(map[string]any{"old_wikitext": a.OldWikitext, "new_wikitext": a.NewWikitext,
			"summary": a.Summary, "user_name": a.Performer.Name})
		if err != nil {
			panic(err) // strings and pointers to strings always encode
		}
		out[i] = d
	}
	return out
}

func ptr[T any](v T) *T { return &v }
