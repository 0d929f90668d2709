package vars

import (
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/vigilwiki/vigil/rules/ipaddr"
	"github.com/vigilwiki/vigil/rules/pcre"
	"github.com/vigilwiki/vigil/rules/textfunc"
)

// External links of wikitext, as MediaWiki's parser finds them for
// ParserOutput::getExternalLinks(), which is where AbuseFilter's new_links
// and old_links come from. Vigil has no MediaWiki parser: it reads the
// wikitext itself, with the parser's own regexes for bracketed links
// ([http://x text]) and free links (http://x), after removing the parts
// the parser does not read for links (comments, nowiki, pre, math,
// syntaxhighlight). Links that templates would produce are not seen.

// urlProtocols is MediaWiki's default $wgUrlProtocols; "//" (protocol
// relative) is allowed in brackets only.
var urlProtocols = []string{
	"bitcoin:", "ftp://", "ftps://", "geo:", "git://", "gopher://", "http://", "https://",
	"irc://", "ircs://", "magnet:", "mailto:", "matrix:", "mms://", "news:", "nntp://",
	"redis://", "sftp://", "sip:", "sips:", "sms:", "ssh://", "svn://", "tel:", "telnet://",
	"urn:", "worldwind://", "xmpp:",
}

func protocolAlternation(withRelative bool) string {
	quoted := make([]string, 0, len(urlProtocols)+1)
	for _, p := range urlProtocols {
		quoted = append(quoted, pcre.Quote(p, '/'))
	}
	if withRelative {
		quoted = append(quoted, `\/\/`)
	}
	return strings.Join(quoted, "|")
}

const (
	extLinkURLClass = `[^][<>"\x00-\x20\x7F\p{Zs}\x{FFFD}]`
	extLinkAddr     = `(?:[0-9.]+|\[(?i:[0-9a-f:.]+)\]|[^][<>"\x00-\x20\x7F\p{Zs}\x{FFFD}])`
)

var (
	bracketedLink = mustCompile(`/\[(((?i)` + protocolAlternation(true) + `)` + extLinkAddr + extLinkURLClass +
		`*)\p{Zs}*([^\]\x00-\x08\x0a-\x1F\x{FFFD}]*?)\]/Su`)
	freeLink = mustCompile(`/(<a[ \t\r\n>].*?<\/a>)|(<.*?>)|(\b(?i:` + protocolAlternation(false) + `)(` +
		extLinkAddr + extLinkURLClass + `*))/u`)
	unparsedBlocks = mustCompile(`~<!--.*?(?:-->|\z)|<(nowiki|pre|math|chem|ce|syntaxhighlight|source|includeonly)\b[^>]*?(?:/>|>.*?(?:</\s*\1\s*>|\z))~isu`)
	freeLinkStop   = mustCompile(`/&(lt|gt|nbsp|#x0*(3[CcEe]|[Aa]0)|#0*(60|62|160));/`)
	entityAtEnd    = regexp.MustCompile(`(?i)&([a-z]+|#x[\da-f]+|#\d+)$`)
)

// protocolNames are the protocols without their ":" and what follows it;
// protocolsByFirst, the protocols by their first letter.
var (
	protocolNames    []string
	maxProtocolName  int // bytes before the ":"
	maxProtocol      int // bytes in all
	protocolsByFirst [256][]string
	// freeLinkColon bounds how far after a free link's start its
	// protocol's ":" can stand: case-insensitively, with /u, a letter may
	// match a character of up to three bytes ("k" the Kelvin sign).
	freeLinkColon int
)

func init() {
	for _, p := range urlProtocols {
		protocolsByFirst[p[0]] = append(protocolsByFirst[p[0]], p)
		protocolNames = append(protocolNames, p[:strings.IndexByte(p, ':')])
		maxProtocolName = max(maxProtocolName, strings.IndexByte(p, ':'))
		maxProtocol = max(maxProtocol, len(p))
	}
	freeLinkColon = 3 * maxProtocolName
}

func mustCompile(p string) *pcre.Regexp {
	re, err := pcre.CompilePHP(p)
	if err != nil {
		panic(err)
	}
	return re
}

// ExternalLinks returns the external links of wikitext, in the order the
// parser registers them (bracketed links first), without duplicates.
func ExternalLinks(wikitext string) []string {
	if !utf8.ValidString(wikitext) {
		return nil // MediaWiki would not have saved it either
	}
	text, err := removeUnparsed(wikitext)
	if err != nil {
		return nil
	}
	var links []string
	seen := map[string]bool{}
	add := func(u string) {
		u = cleanURL(u)
		if !seen[u] {
			seen[u] = true
			links = append(links, u)
		}
	}
	// Bracketed links, which the rest of the parse no longer sees.
	var rest strings.Builder
	last := 0
	_ = bracketedLinkEach(text, func(start, end int, u string) {
		if i := strings.Index(u, "&lt;"); i >= 0 {
			u = u[:i]
		} else if i := strings.Index(u, "&gt;"); i >= 0 {
			u = u[:i]
		}
		add(u)
		rest.WriteString(text[last:start])
		rest.WriteString(" ")
		last = end
	})
	rest.WriteString(text[last:])
	// Free links outside HTML tags.
	_ = freeLinkEach(rest.String(), func(u string, postProto int) {
		if link, ok := trimFreeLink(u, postProto); ok {
			add(link)
		}
	})
	return links
}

// removeUnparsed is unparsedBlocks.ReplaceAll(text, " ") for a valid
// UTF-8 text: comments and the tags whose content the parser does not read
// for links each become a space. A match begins with "<!" or "<" and a
// tag's first letter: the regex is tried only there, not at every "<ref>".
func removeUnparsed(text string) (string, error) {
	var b strings.Builder
	last, pos := 0, 0
	for pos < len(text) {
		i := strings.IndexByte(text[pos:], '<')
		if i < 0 {
			break
		}
		c := pos + i
		if c+1 < len(text) && !unparsedStart[text[c+1]] {
			pos = c + 1
			continue
		}
		caps, err := unparsedBlocks.FindSubmatchIndexBetween(text, c, c, pcre.Limits{})
		if err != nil {
			return "", err
		}
		if caps == nil {
			pos = c + 1
			continue
		}
		b.WriteString(text[last:c])
		b.WriteByte(' ')
		last, pos = caps[1], max(caps[1], c+1)
	}
	if last == 0 {
		return text, nil
	}
	b.WriteString(text[last:])
	return b.String(), nil
}

// unparsedStart marks the bytes after a "<" that may begin one of
// unparsedBlocks' matches: "!" and the tags' first letters in either case,
// and any byte of a longer character (case-insensitively, "ſ" is an s).
var unparsedStart = func() (t [256]bool) {
	for _, c := range []byte("!npmcsiNPMCSI") {
		t[c] = true
	}
	for b := utf8.RuneSelf; b < 256; b++ {
		t[b] = true
	}
	return t
}()

// bracketedLinkEach calls fn for each of bracketedLink's matches in text,
// which must be valid UTF-8. A match is a "[" and a protocol: the regex is
// tried only at a "[" whose next byte may begin one, and not at each "[["
// of the page's internal links.
func bracketedLinkEach(text string, fn func(start, end int, u string)) error {
	pos := 0
	for pos < len(text) {
		i := strings.IndexByte(text[pos:], '[')
		if i < 0 {
			return nil
		}
		c := pos + i
		if !mayBeProtocol(text[c+1:]) {
			pos = c + 1
			continue
		}
		caps, err := bracketedLink.FindSubmatchIndexBetween(text, c, c, pcre.Limits{})
		if err != nil {
			return err
		}
		if caps == nil {
			pos = c + 1
			continue
		}
		fn(caps[0], caps[1], text[caps[2]:caps[3]])
		pos = max(caps[1], c+1)
	}
	return nil
}

// freeLinkEach calls fn for the links among freeLink's matches in text,
// which must be valid UTF-8. Tried at every character of a page, the
// regex took 9 ms for 30 KB on the backtracker; but a match begins with
// "<" or holds a protocol's ":" at most freeLinkColon bytes after its
// start, so it is tried only there, from the first such byte on.
func freeLinkEach(text string, fn func(u string, postProto int)) error {
	pos := 0
	lt, colon := -1, -1 // the next "<" and ":" at or after pos (len(text): none)
	next := func(b byte, from int) int {
		if i := strings.IndexByte(text[from:], b); i >= 0 {
			return from + i
		}
		return len(text)
	}
	for pos <= len(text) {
		if lt < pos {
			lt = next('<', pos)
		}
		if colon < pos {
			colon = next(':', pos)
		}
		c := min(lt, colon)
		if c == len(text) {
			return nil
		}
		if c == lt {
			// A tag, which holds no link: the regex's first two
			// alternatives, matched here.
			if end := tagEnd(text, c); end > c {
				pos = end
			} else {
				pos = c + 1
			}
			continue
		}
		caps, err := freeLinkBefore(text, pos, c)
		if err != nil {
			return err
		}
		if caps == nil {
			pos = c + 1 // "<" and ":" are one byte: a character's start follows
			continue
		}
		if len(caps) > 6 && caps[6] >= 0 {
			fn(text[caps[6]:caps[7]], caps[9]-caps[8])
		}
		pos = caps[1]
		if caps[1] == caps[0] {
			pos++
		}
	}
	return nil
}

// tagEnd is where freeLink's alternatives for tags, (<a[ \t\r\n>].*?<\/a>)
// and (<.*?>), end when matched at text[c] == '<' ("." is anything but a
// newline), or c when neither matches (then the third, a protocol, cannot
// either, as none begins with "<").
func tagEnd(text string, c int) int {
	rest := text[c+1:]
	if len(rest) >= 2 && rest[0] == 'a' && strings.IndexByte(" \t\r\n>", rest[1]) >= 0 {
		body := rest[2:]
		if i := strings.IndexByte(body, '\n'); i >= 0 {
			body = body[:i]
		}
		if i := strings.Index(body, "</a>"); i >= 0 {
			return c + 3 + i + len("</a>")
		}
	}
	if i := strings.IndexByte(rest, '\n'); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.IndexByte(rest, '>'); i >= 0 {
		return c + 1 + i + 1
	}
	return c
}

// mayBeProtocol reports whether s, what follows a "[", may begin with one
// of the protocols of a bracketed link: it does, ASCII letters in either
// case, or a longer character comes first (which may match a letter).
func mayBeProtocol(s string) bool {
	if !textfunc.IsASCII(s[:min(len(s), maxProtocol)]) {
		return true
	}
	if len(s) == 0 {
		return false
	}
	if strings.HasPrefix(s, "//") {
		return true
	}
	for _, p := range protocolsByFirst[s[0]|0x20] { // ASCII lower case
		if len(s) >= len(p) && strings.EqualFold(s[:len(p)], p) {
			return true
		}
	}
	return false
}

// freeLinkBefore is freeLink's leftmost match that starts at or after pos
// and by c, where text has a ":" and none of "<:" between pos and c. Such
// a match is a protocol whose ":" is this one: where the bytes before it
// are ASCII, it can only start where a protocol's name ends at c.
func freeLinkBefore(text string, pos, c int) ([]int, error) {
	from := max(pos, c-freeLinkColon)
	for from > pos && !utf8.RuneStart(text[from]) {
		from--
	}
	if !textfunc.IsASCII(text[from:c]) { // a letter may be spelt otherwise
		return freeLink.FindSubmatchIndexBetween(text, from, c, pcre.Limits{})
	}
	// Each place where a name ends at c is tried, leftmost first.
	for start := max(from, c-maxProtocolName); start < c; start++ {
		for _, name := range protocolNames {
			if c-start == len(name) && strings.EqualFold(text[start:c], name) {
				caps, err := freeLink.FindSubmatchIndexBetween(text, start, start, pcre.Limits{})
				if caps != nil || err != nil {
					return caps, err
				}
				break
			}
		}
	}
	return nil, nil
}

// trimFreeLink moves trailing punctuation out of a free link as
// Parser::makeFreeExternalLink does; false when nothing is left after the
// protocol.
func trimFreeLink(u string, postProto int) (string, bool) {
	trail := ""
	if strings.IndexByte(u, '&') >= 0 { // which freeLinkStop needs
		if caps, _ := freeLinkStop.FindSubmatchIndex(u, pcre.Limits{}); caps != nil {
			trail = u[caps[0]:]
			u = u[:caps[0]]
		}
	}
	sep := ",;.:!?"
	if !strings.Contains(u, "(") {
		sep += ")"
	}
	n := 0
	for n < len(u) && strings.IndexByte(sep, u[len(u)-1-n]) >= 0 {
		n++
	}
	// Do not break a trailing HTML entity by moving its ";" out.
	if n > 0 && u[len(u)-n] == ';' && entityAtEnd.MatchString(u[:len(u)-n]) {
		n--
	}
	if n > 0 {
		trail = u[len(u)-n:] + trail
		u = u[:len(u)-n]
	}
	if len(trail) >= postProto {
		return "", false
	}
	return u, true
}

var (
	bracketHost = regexp.MustCompile(`^//%5B([0-9A-Fa-f:.]+)%5D((:\d+)?)$`)
	percentCode = regexp.MustCompile(`%[0-9A-Fa-f]{2}`)
	ipv6URL     = regexp.MustCompile(`(?i)^(?:[a-z][a-z0-9+.-]*:)?//(?:(?:[a-z0-9\-._~!$&'()*+,;=:]|%[0-9a-f]{2})*@)?\[((?:[0-9a-f:]|%3[0-A]|%[46][1-6])+)\](?:[:/?#].*|)$`)
)

// idnIgnored reports the characters Sanitizer::cleanUrl strips from host
// names (RFC 8264 §9.13 and default-ignorable code points).
func idnIgnored(r rune) bool {
	switch {
	case r == 0xAD, r == 0x34F, r == 0x61C, r >= 0x115F && r <= 0x1160, r >= 0x17B4 && r <= 0x17B5,
		r >= 0x180B && r <= 0x180E, r >= 0x200B && r <= 0x200F, r >= 0x202A && r <= 0x202E,
		r >= 0x2060 && r <= 0x206F, r == 0x3164, r >= 0xFE00 && r <= 0xFE0F, r == 0xFEFF, r == 0xFFA0,
		r >= 0xFFF0 && r <= 0xFFF8, r >= 0x1BCA0 && r <= 0x1BCA3, r >= 0x1D173 && r <= 0x1D17A,
		r >= 0xE0000 && r <= 0xE0FFF:
		return true
	}
	return textfunc.RmWhitespace(string(r)) == ""
}

// cleanURL is Sanitizer::cleanUrl then Parser::normalizeLinkUrl, what the
// parser does to a link before registering it.
//
// Each regex step is skipped where a byte it needs is absent: a page has
// dozens of links, and each step through Go's regexp cost microseconds.
func cleanURL(u string) string {
	u = textfunc.DecodeCharReferences(u)
	u = escapeURL(u)
	if scheme, host, rest, ok := splitURL(u); ok && !strings.Contains(u, "\n") {
		if !textfunc.IsASCII(host) { // what idnIgnored strips is not ASCII, or was escaped above
			host = strings.Map(func(r rune) rune {
				if idnIgnored(r) {
					return -1
				}
				return r
			}, host)
		}
		if strings.HasPrefix(host, "//%5B") {
			if b := bracketHost.FindStringSubmatch(host); b != nil {
				host = "//[" + b[1] + "]" + b[2]
			}
		}
		u = scheme + host + rest
	}
	return normalizeLinkURL(u)
}

// escapeURL is cleanURL's first step, preg_replace_callback of
// /[\][<>"\x00-\x20\x7F|]/ with urlencode: every such byte (all are ASCII)
// as url.QueryEscape writes it. A citation's URL runs on through its "|".
func escapeURL(u string) string {
	return replaceMarked(u, &urlEscapable, func(b *strings.Builder, c byte) { b.WriteString(url.QueryEscape(string(c))) })
}

// replaceMarked is u with each byte that marked marks written by write,
// and u itself when none is.
func replaceMarked(u string, marked *[256]bool, write func(b *strings.Builder, c byte)) string {
	i := 0
	for i < len(u) && !marked[u[i]] {
		i++
	}
	if i == len(u) {
		return u
	}
	var b strings.Builder
	b.Grow(len(u) + 8)
	b.WriteString(u[:i])
	for ; i < len(u); i++ {
		if c := u[i]; marked[c] {
			write(&b, c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// urlEscapable marks the bytes escapeURL escapes; urlUnsafe, those
// encodeUnsafeBytes encodes.
var urlEscapable, urlUnsafe = func() (esc, unsafe [256]bool) {
	for c := range 256 {
		esc[c] = c <= 0x20 || c == 0x7F || strings.IndexByte(`[]<>"|`, byte(c)) >= 0
		unsafe[c] = c <= 0x20 || c >= 0x7F || strings.IndexByte("\"<>[\\]^`{|}", byte(c)) >= 0
	}
	return esc, unsafe
}()

// splitURL is `(?i)^([^:]+:)(//[^/]+)?(.*)$` (Sanitizer::cleanUrl's split
// of a URL) for a u without "\n": the scheme and its ":", the "//" and
// host if any, and the rest; false without a ":" after the first byte.
func splitURL(u string) (scheme, host, rest string, ok bool) {
	i := strings.IndexByte(u, ':')
	if i < 1 {
		return "", "", "", false
	}
	scheme, rest = u[:i+1], u[i+1:]
	if strings.HasPrefix(rest, "//") {
		n := strings.IndexByte(rest[2:], '/')
		if n < 0 {
			n = len(rest) - 2
		}
		if n > 0 {
			host, rest = rest[:2+n], rest[2+n:]
		}
	}
	return scheme, host, rest, true
}

// normalizeLinkURL is Parser::normalizeLinkUrl: unsafe bytes
// percent-encoded, needless escapes decoded, IPv6 hosts kept in brackets.
func normalizeLinkURL(u string) string {
	var ipv6 string
	if strings.IndexByte(u, '[') >= 0 { // which ipv6URL needs
		if m := ipv6URL.FindStringSubmatch(u); m != nil {
			if dec, err := url.PathUnescape(m[1]); err == nil && isValidIPv6(dec) {
				ipv6 = dec
			}
		}
	}
	u = encodeUnsafeBytes(u)
	end := len(u)
	ret := ""
	if i := strings.IndexByte(u, '#'); i >= 0 {
		ret = normalizeComponent(u[i:end], `"#%<>[\]^`+"`"+`{|}`) + ret
		end = i
	}
	if i := strings.IndexByte(u[:end], '?'); i >= 0 {
		ret = normalizeComponent(u[i:end], `"#%<>[\]^`+"`"+`{|}&=+;`) + ret
		end = i
	}
	ret = normalizeComponent(u[:end], `"#%<>[\]^`+"`"+`{|}/?`) + ret
	if ipv6 != "" {
		esc := regexp.QuoteMeta(ipv6)
		re := regexp.MustCompile(`(?i)^((?:[a-z][a-z0-9+.-]*:)?//(?:(?:[a-z0-9\-._~!$&'()*+,;=:]|%[0-9a-f]{2})*@)?)%5B(` + esc + `)%5D([:/?#]|$)`)
		ret = re.ReplaceAllString(ret, "${1}[${2}]${3}")
	}
	return ret
}

// encodeUnsafeBytes percent-encodes, byte by byte, what
// normalizeLinkUrl's /[\x00-\x20"<>\[\\\]^`{|}\x7F-\xFF]/ matches.
func encodeUnsafeBytes(u string) string {
	return replaceMarked(u, &urlUnsafe, func(b *strings.Builder, c byte) {
		b.WriteByte('%')
		b.WriteString(hexByte(c))
	})
}

func hexByte(b byte) string {
	const digits = "0123456789ABCDEF"
	return string([]byte{digits[b>>4], digits[b&15]})
}

func normalizeComponent(c, unsafe string) string {
	if strings.IndexByte(c, '%') < 0 {
		return c // percentCode needs a "%"
	}
	return percentCode.ReplaceAllStringFunc(c, func(m string) string {
		v := byte(hexVal(m[1])<<4 | hexVal(m[2]))
		if v > 32 && v < 127 && strings.IndexByte(unsafe, v) < 0 {
			return string(v)
		}
		return strings.ToUpper(m)
	})
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	}
	return int(c-'A') + 10
}

// isValidIPv6 is IPUtils::isValid for IPv6 (no prefix).
func isValidIPv6(s string) bool {
	return ipaddr.ValidRange(s) && strings.Contains(s, ":") && !strings.ContainsAny(s, "/- ")
}
