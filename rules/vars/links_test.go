package vars

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/vigilwiki/vigil/internal/aforacle"
)

var linkFragments = []string{
	"see http://example.com/a, and more", "[https://foo.org/x y]", "<!-- http://hidden.com -->",
	"[//rel.org z]", "<nowiki>http://nowiki.example</nowiki>", "(http://paren.example/x)",
	"http://paren.example/(x)", "mailto:someone@example.org", "[mailto:a@b.c mail]",
	"http://e.com/a&amp;b", "http://e.com/x&lt;y", "HTTP://UPPER.example/Path", "ftp://files.example/f.",
	"<ref>[http://cite.example/p Cite]</ref>", `<span title="http://attr.example">t</span>`,
	"https://example.com/dup", "https://example.com/dup", "[http://x.example]", "http://", "word", "\n",
	"* list http://list.example/item;", "<pre>http://pre.example</pre>", "http://e.com/a?b=c#d!",
	"[https://sp.example/ with spaces here]", "https://ünicode.example/päth", "news:comp.lang.go",
	"irc://irc.example/chan", "http://[2001:db8::1]/v6", "[[Internal link]]", "{{cite web}}",
}

// TestExternalLinksMatchMediaWiki compares the links Vigil reads from
// wikitext with those MediaWiki's parser registers, on texts built from
// fragments that exercise its rules (templates aside, which Vigil cannot
// expand).
func TestExternalLinksMatchMediaWiki(t *testing.T) {
	o := aforacle.Get(t)
	r := rand.New(rand.NewPCG(3, 4))
	cases := append([]string(nil), linkFragments...)
	for i := 0; i < 150; i++ {
		var parts []string
		for k := 1 + r.IntN(5); k > 0; k-- {
			parts = append(parts, linkFragments[r.IntN(len(linkFragments))])
		}
		cases = append(cases, strings.Join(parts, " "))
	}
	for _, text := range cases {
		var resp struct{ Links []string }
		if err := o.Do(map[string]string{"op": "links", "text": text}, &resp); err != nil {
			t.Fatal(err)
		}
		got := ExternalLinks(text)
		if len(got) == 0 && len(resp.Links) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, resp.Links) {
			t.Errorf("ExternalLinks(%q) =\n  %q\nMediaWiki:\n  %q", text, got, resp.Links)
		}
	}
}
