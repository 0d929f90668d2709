package vars

import (
	"math/rand/v2"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/vigilwiki/vigil/internal/aforacle"
	"github.com/vigilwiki/vigil/rules/pcre"
	"github.com/vigilwiki/vigil/rules/textfunc"
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

// scanFreeLinks is freeLinkEach as a plain scan, the regex tried at every
// character: what freeLinkEach must find.
func scanFreeLinks(text string) [][2]string {
	var out [][2]string
	pos := 0
	for pos <= len(text) {
		caps, err := freeLink.FindSubmatchIndexFrom(text, pos, pcre.Limits{})
		if err != nil || caps == nil {
			return out
		}
		if len(caps) > 6 && caps[6] >= 0 {
			out = append(out, [2]string{text[caps[6]:caps[7]], strconv.Itoa(caps[9] - caps[8])})
		}
		pos = caps[1]
		if caps[1] == caps[0] {
			pos++
		}
	}
	return out
}

// TestFreeLinkEach: trying the free-link regex only near "<" and ":" finds
// what trying it everywhere finds, also where a protocol is spelt with
// the characters that match its letters case-insensitively in more bytes
// ("ſ" for s, the Kelvin sign for k).
func TestFreeLinkEach(t *testing.T) {
	pieces := []string{"http://a.example/x", "HTTPS://b.example", "httpſ://c.example", "mailto:x@y.z",
		"bitcoin:abc", "worldwind://w", "<", ">", "<a href=x>", "</a>", ":", "::", "é", "ü:", "ſ", "\u212a",
		"ſip:z", "telnet:/\u212a", "news:x", "a", " ", "\n", "<b>http://in.tag</b>", "xhttp://no.boundary", "<a\n", "<a>", "<a\t", "\r", "<ref>", "</ref>", "<a", "a>",
		"http:", "//", "[http://br.example y]", "日本", "ircs://i.example"}
	r := rand.New(rand.NewPCG(5, 6))
	found := 0
	for i := range 20000 {
		text := randomText(r, pieces, 30)
		var got [][2]string
		if err := freeLinkEach(text, func(u string, postProto int) {
			got = append(got, [2]string{u, strconv.Itoa(postProto)})
		}); err != nil {
			t.Fatal(err)
		}
		want := scanFreeLinks(text)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("case %d, %q: found %q, want %q", i, text, got, want)
		}
		found += len(got)
	}
	if found < 20000 {
		t.Errorf("%d links in all: too few to compare", found)
	}
}

// scanBracketedLinks is bracketedLinkEach as a plain scan.
func scanBracketedLinks(text string) [][3]int {
	var out [][3]int
	pos := 0
	for pos <= len(text) {
		caps, err := bracketedLink.FindSubmatchIndexFrom(text, pos, pcre.Limits{})
		if err != nil || caps == nil {
			return out
		}
		out = append(out, [3]int{caps[0], caps[1], caps[3] - caps[2]})
		pos = caps[1]
	}
	return out
}

// TestBracketedLinkEach: trying the bracketed-link regex only at a "[" that
// may open one finds what trying it everywhere finds.
func TestBracketedLinkEach(t *testing.T) {
	pieces := []string{"[", "]", "[[", "]]", "[http://a.example x]", "[HTTPS://b.example]", "[httpſ://c.example y]",
		"[//rel.example]", "[/x]", "[ſip:q]", "[\u212aey]", "[mailto:a@b.c m]", "http://", " ", "é", "[ http://no.example]",
		"[[Page|label]]", "[news:x]", "[[Smith", "[HTTP", "[Mailto:", "[sips:x]", "[s", "[ht", "\n", "[ftp://f.example/p?q=1 t t]", "ſ"}
	r := rand.New(rand.NewPCG(7, 8))
	found := 0
	for i := range 20000 {
		text := randomText(r, pieces, 20)
		var got [][3]int
		if err := bracketedLinkEach(text, func(start, end int, u string) {
			got = append(got, [3]int{start, end, len(u)})
		}); err != nil {
			t.Fatal(err)
		}
		if want := scanBracketedLinks(text); !reflect.DeepEqual(got, want) {
			t.Fatalf("case %d, %q: found %v, want %v", i, text, got, want)
		}
		found += len(got)
	}
	if found < 20000 {
		t.Errorf("%d links in all: too few to compare", found)
	}
}

// cleanURLRegexp is cleanURL as it was written first, every step through
// its regex: what cleanURL must return.
func cleanURLRegexp(u string) string {
	u = textfunc.DecodeCharReferences(u)
	escapable := regexp.MustCompile(`[\][<>"\x00-\x20\x7F|]`)
	u = escapable.ReplaceAllStringFunc(u, url.QueryEscape)
	urlParts := regexp.MustCompile(`(?i)^([^:]+:)(//[^/]+)?(.*)$`)
	if m := urlParts.FindStringSubmatch(u); m != nil && !strings.Contains(u, "\n") {
		host := strings.Map(func(r rune) rune {
			if idnIgnored(r) {
				return -1
			}
			return r
		}, m[2])
		if b := bracketHost.FindStringSubmatch(host); b != nil {
			host = "//[" + b[1] + "]" + b[2]
		}
		u = m[1] + host + m[3]
	}
	var ipv6 string
	if m := ipv6URL.FindStringSubmatch(u); m != nil {
		if dec, err := url.PathUnescape(m[1]); err == nil && isValidIPv6(dec) {
			ipv6 = dec
		}
	}
	u = encodeUnsafeBytes(u)
	component := func(c, unsafe string) string {
		return percentCode.ReplaceAllStringFunc(c, func(m string) string {
			v := byte(hexVal(m[1])<<4 | hexVal(m[2]))
			if v > 32 && v < 127 && strings.IndexByte(unsafe, v) < 0 {
				return string(v)
			}
			return strings.ToUpper(m)
		})
	}
	end, ret := len(u), ""
	if i := strings.IndexByte(u, '#'); i >= 0 {
		ret = component(u[i:end], `"#%<>[\]^`+"`"+`{|}`) + ret
		end = i
	}
	if i := strings.IndexByte(u[:end], '?'); i >= 0 {
		ret = component(u[i:end], `"#%<>[\]^`+"`"+`{|}&=+;`) + ret
		end = i
	}
	ret = component(u[:end], `"#%<>[\]^`+"`"+`{|}/?`) + ret
	if ipv6 != "" {
		re := regexp.MustCompile(`(?i)^((?:[a-z][a-z0-9+.-]*:)?//(?:(?:[a-z0-9\-._~!$&'()*+,;=:]|%[0-9a-f]{2})*@)?)%5B(` + regexp.QuoteMeta(ipv6) + `)%5D([:/?#]|$)`)
		ret = re.ReplaceAllString(ret, "${1}[${2}]${3}")
	}
	return ret
}

// TestCleanURL: cleanURL's shortcuts change nothing, on URLs built from
// pieces that each step reacts to (escapable bytes, hosts with ignorable
// characters, bracketed IPv6 hosts, percent codes, entities, newlines).
func TestCleanURL(t *testing.T) {
	pieces := []string{"http:", "https://", "//", "/", "ex.ample", "[2001:db8::1]", "%5B2001:db8::2%5D", ":8080",
		"?", "#", "&", "=", "%41", "%2f", "%3A", "%zz", "a b", `"`, "<", ">", "|", "\x7f", "\u00ad", "\u200b",
		"é", "&amp;", "&#x5B;", "&#91;", "\n", "mailto:", "user@", "ſ", "~", "^", "{", "}", "\\", "`", "x", ":", "\xff", "\x01", "|title=T"}
	r := rand.New(rand.NewPCG(9, 10))
	for i := range 50000 {
		u := randomText(r, pieces, 10)
		if got, want := cleanURL(u), cleanURLRegexp(u); got != want {
			t.Fatalf("case %d: cleanURL(%q) = %q, want %q", i, u, got, want)
		}
	}
}

// TestRemoveUnparsed: trying unparsedBlocks only after a "<" that may
// begin a match removes what preg_replace over the whole text removes.
func TestRemoveUnparsed(t *testing.T) {
	pieces := []string{"<!--", "-->", "<nowiki>", "</nowiki>", "<NoWiki/>", "<pre", ">", "</pre >", "<ref>", "</ref>",
		"<ſource>", "</source>", "<math/>", "<includeonly>", "<ce>", "<chem>", "</ chem>", "<s>", "<", "\n", "x",
		"http://a.example", "é", "<syntaxhighlight lang=x>", "</syntaxhighlight>", "<i>", "<pretty>", "<Source>", "<PRE>", "<Math>"}
	r := rand.New(rand.NewPCG(11, 12))
	removed := 0
	for i := range 20000 {
		text := randomText(r, pieces, 25)
		got, err := removeUnparsed(text)
		want, werr := unparsedBlocks.ReplaceAll(text, " ", pcre.Limits{})
		if err != nil || werr != nil || got != want {
			t.Fatalf("case %d, %q: %q (%v), want %q (%v)", i, text, got, err, want, werr)
		}
		if got != text {
			removed++
		}
	}
	if removed < 5000 {
		t.Errorf("only %d of 20,000 texts had something removed", removed)
	}
}

// randomText joins up to n-1 pieces picked at random.
func randomText(r *rand.Rand, pieces []string, n int) string {
	var b strings.Builder
	for range r.IntN(n) {
		b.WriteString(pieces[r.IntN(len(pieces))])
	}
	return b.String()
}

// FuzzLinkShortcuts: on any text, the links' shortcuts find what the plain
// regex scans and steps find.
func FuzzLinkShortcuts(f *testing.F) {
	f.Add("see [http://a.example x] and https://b.example/p|title=T <ref>x</ref> <!-- c -->")
	f.Add("<a href=x>http://in.a</a> httpſ://c.example [ſip:q] <nowiki>http://n</nowiki>")
	f.Add("mailto:x@y.z&lt; [[Page]] [//rel.example] http://[2001:db8::1]/v6")
	f.Fuzz(func(t *testing.T, text string) {
		if !utf8.ValidString(text) || len(text) > 4096 {
			return
		}
		var free [][2]string
		if err := freeLinkEach(text, func(u string, postProto int) {
			free = append(free, [2]string{u, strconv.Itoa(postProto)})
		}); err == nil {
			if want := scanFreeLinks(text); !reflect.DeepEqual(free, want) {
				t.Fatalf("free links of %q: %q, want %q", text, free, want)
			}
		}
		var bracketed [][3]int
		if err := bracketedLinkEach(text, func(start, end int, u string) {
			bracketed = append(bracketed, [3]int{start, end, len(u)})
		}); err == nil {
			if want := scanBracketedLinks(text); !reflect.DeepEqual(bracketed, want) {
				t.Fatalf("bracketed links of %q: %v, want %v", text, bracketed, want)
			}
		}
		got, err := removeUnparsed(text)
		want, werr := unparsedBlocks.ReplaceAll(text, " ", pcre.Limits{})
		if (err == nil) != (werr == nil) || err == nil && got != want {
			t.Fatalf("unparsed blocks of %q removed: %q (%v), want %q (%v)", text, got, err, want, werr)
		}
		if got, want := cleanURL(text), cleanURLRegexp(text); got != want {
			t.Fatalf("cleanURL(%q) = %q, want %q", text, got, want)
		}
	})
}
