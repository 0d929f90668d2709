package screen

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigilwiki/vigil"
	"github.com/vigilwiki/vigil/rules/value"
	"github.com/vigilwiki/vigil/rules/vars"
)

// WikiConfig is what Vigil must know of a wiki to name its pages as it
// does.
type WikiConfig struct {
	Language string `koanf:"language"` // content language code; default "en"
	// Sitename names namespace 4 (and 5, "<Sitename> talk"); default
	// "Project".
	Sitename string `koanf:"sitename"`
	// Namespaces overrides the names of namespaces by number.
	Namespaces map[int]string `koanf:"namespaces"`
}

var englishNamespaces = map[int]string{
	-2: "Media", -1: "Special", 1: "Talk", 2: "User", 3: "User talk", 6: "File", 7: "File talk",
	8: "MediaWiki", 9: "MediaWiki talk", 10: "Template", 11: "Template talk", 12: "Help", 13: "Help talk",
	14: "Category", 15: "Category talk",
}

// namespaceName returns the prefix of namespace ns, "" for the main one.
func (w *WikiConfig) namespaceName(ns int) string {
	if n, ok := w.Namespaces[ns]; ok {
		return n
	}
	site := w.Sitename
	if site == "" {
		site = "Project"
	}
	switch ns {
	case 0:
		return ""
	case 4:
		return site
	case 5:
		return site + " talk"
	}
	if n, ok := englishNamespaces[ns]; ok {
		return n
	}
	return "Namespace " + strconv.Itoa(ns)
}

// PrefixedTitle is MediaWiki's Title::getPrefixedText: "Ns:Title", with
// spaces for underscores.
func (w *WikiConfig) PrefixedTitle(ns int, title string) string {
	t := title
	if n := w.namespaceName(ns); n != "" {
		t = n + ":" + title
	}
	return strings.ReplaceAll(t, "_", " ")
}

// defaultRegistration is what AbuseFilter assumes for accounts created
// before MediaWiki recorded registrations.
var defaultRegistration = time.Date(2008, 1, 15, 0, 0, 0, 0, time.UTC)

// Variables returns the AbuseFilter variables of an action, as AbuseFilter
// 1.39's generators set them (plus upstream's user_unnamed_ip); the
// text-derived ones (edit_diff, added_lines, ...) are derived lazily from
// old_wikitext and new_wikitext by rules/vars.
func Variables(a *vigil.Action, w *WikiConfig) *vars.Action {
	m := map[string]value.Value{
		"action":        value.NewString(a.Action),
		"timestamp":     value.NewString(strconv.FormatInt(a.Time.Unix(), 10)),
		"wiki_name":     value.NewString(a.Wiki),
		"wiki_language": value.NewString(cmp.Or(w.Language, "en")),
	}
	str := func(name string, s *string) {
		if s != nil {
			m[name] = value.NewString(*s)
		}
	}
	userVars := true
	switch a.Action {
	case vigil.ActionCreateAccount:
		// The creator's variables only when a registered user creates
		// the account.
		userVars = a.Performer.Registered()
		m["account_name"] = value.NewString(a.AccountName)
	case vigil.ActionAutoCreateAccount:
		userVars = false
		m["account_name"] = value.NewString(a.AccountName)
	case vigil.ActionMove:
		titleVars(m, "moved_from", a.Page, a.Time, w)
		titleVars(m, "moved_to", a.Target, a.Time, w)
		str("summary", a.Summary)
	case vigil.ActionDelete:
		titleVars(m, "page", a.Page, a.Time, w)
		str("summary", a.Summary)
	case vigil.ActionEdit, vigil.ActionUpload:
		titleVars(m, "page", a.Page, a.Time, w)
		str("summary", a.Summary)
		if a.OldWikitext != nil {
			m["old_wikitext"] = value.NewString(normalizeText(*a.OldWikitext))
		} else if a.Page != nil && a.Page.ID == 0 {
			m["old_wikitext"] = value.NewString("")
		}
		if a.NewWikitext != nil {
			m["new_wikitext"] = value.NewString(normalizeText(*a.NewWikitext))
		}
		if a.Action == vigil.ActionEdit {
			str("old_content_model", a.OldContentModel)
			str("new_content_model", a.NewContentModel)
			if a.OldContentModel == nil && a.Page != nil && a.Page.ID == 0 {
				m["old_content_model"] = value.NewString("")
			}
		}
		str("new_pst", a.NewPST)
		if a.NewHTML != nil {
			m["new_html"] = value.NewString(*a.NewHTML)
			m["new_text"] = value.NewString(normalizeText(stripTags(*a.NewHTML)))
		}
		if a.OldLinks != nil || a.Page != nil && a.Page.ID == 0 {
			m["old_links"] = value.NewStrings(orEmpty(a.OldLinks))
		}
		if a.NewLinks != nil {
			m["new_links"] = value.NewStrings(a.NewLinks)
		}
		if a.Action == vigil.ActionUpload {
			fileVars(m, a.File)
		}
	case vigil.ActionStashUpload:
		titleVars(m, "page", a.Page, a.Time, w)
		fileVars(m, a.File)
	}
	if userVars {
		userVarsOf(m, a)
	}
	return vars.New(m)
}

func userVarsOf(m map[string]value.Value, a *vigil.Action) {
	p := &a.Performer
	m["user_name"] = value.NewString(p.Name)
	if p.EditCount != nil && p.Registered() {
		m["user_editcount"] = value.NewInt(*p.EditCount)
	} else {
		m["user_editcount"] = value.NullValue
	}
	if p.EmailConfirmed != nil && p.Registered() {
		m["user_emailconfirm"] = value.NewString(p.EmailConfirmed.UTC().Format("20060102150405"))
	} else {
		m["user_emailconfirm"] = value.NullValue
	}
	age := int64(0)
	if p.Registered() {
		reg := defaultRegistration
		if p.Registration != nil {
			reg = *p.Registration
		}
		age = a.Time.Unix() - reg.Unix()
	}
	m["user_age"] = value.NewInt(age)
	groups := p.Groups
	if groups == nil {
		groups = []string{"*"}
		if p.Registered() {
			groups = []string{"*", "user"}
		}
	}
	m["user_groups"] = value.NewStrings(groups)
	if p.Rights != nil {
		m["user_rights"] = value.NewStrings(p.Rights)
	}
	m["user_blocked"] = value.NewBool(p.Blocked)
	if p.Type == "ip" || p.Type == "temp" {
		ip := a.IP
		if ip == "" && p.Type == "ip" {
			ip = p.Name
		}
		m["user_unnamed_ip"] = value.NewString(ip)
	} else {
		m["user_unnamed_ip"] = value.NullValue
	}
}

func titleVars(m map[string]value.Value, prefix string, p *vigil.Page, now time.Time, w *WikiConfig) {
	if p == nil {
		return
	}
	m[prefix+"_id"] = value.NewInt(p.ID)
	m[prefix+"_namespace"] = value.NewInt(int64(p.Namespace))
	title := strings.ReplaceAll(p.Title, "_", " ")
	m[prefix+"_title"] = value.NewString(title)
	m[prefix+"_prefixedtitle"] = value.NewString(w.PrefixedTitle(p.Namespace, title))
	// What the caller did not say stays unset (null), except for a page
	// that does not exist yet, whose history is known to be empty.
	missing := p.ID == 0
	if p.Restrictions != nil || missing {
		for _, kind := range []string{"edit", "move", "create", "upload"} {
			m[prefix+"_restrictions_"+kind] = value.NewStrings(orEmpty(p.Restrictions[kind]))
		}
	}
	switch {
	case missing:
		m[prefix+"_recent_contributors"] = value.NewStrings([]string{})
		m[prefix+"_first_contributor"] = value.NewString("")
		m[prefix+"_age"] = value.NewInt(0)
	default:
		if p.RecentContributors != nil {
			m[prefix+"_recent_contributors"] = value.NewStrings(p.RecentContributors)
		}
		if p.FirstContributor != "" {
			m[prefix+"_first_contributor"] = value.NewString(p.FirstContributor)
		}
		if p.Created != nil {
			m[prefix+"_age"] = value.NewInt(now.Unix() - p.Created.Unix())
		}
	}
}

func fileVars(m map[string]value.Value, f *vigil.File) {
	if f == nil {
		return
	}
	m["file_sha1"] = value.NewString(f.SHA1)
	m["file_size"] = value.NewInt(f.Size)
	m["file_mime"] = value.NewString(f.MIME)
	m["file_mediatype"] = value.NewString(cmp.Or(f.MediaType, "UNKNOWN"))
	m["file_width"] = value.NewInt(f.Width)
	m["file_height"] = value.NewInt(f.Height)
	m["file_bits_per_channel"] = value.NewInt(f.BitsPerChannel)
}

// normalizeText is MediaWiki's TextContent::normalizeLineEndings: trailing
// whitespace removed, CRLF and CR made LF.
func normalizeText(s string) string {
	s = strings.TrimRight(s, " \t\n\r\x00\x0b")
	if strings.IndexByte(s, '\r') < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}

// stripTags is StringUtils::delimiterReplace('<', '>', ”): each "<"
// through the next ">" goes; an unclosed "<" stays with what follows.
func stripTags(s string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		s = s[i+j+1:]
	}
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return slices.Clone(s)
}
