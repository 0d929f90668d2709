package syntax

import "sort"

// The names the language knows: functions with their arities, builtin
// variables, deprecated aliases and disabled variables. They follow current
// upstream AbuseFilter (KeywordsManager and FilterEvaluator::FUNC_ARG_COUNT),
// which is a superset of MediaWiki 1.39's.

// Arity is a function's minimum and maximum argument count; Max is -1 for
// variadic functions.
type Arity struct{ Min, Max int }

// Arities holds every builtin function. Function names are case-sensitive.
var Arities = map[string]Arity{
	"lcase":               {1, 1},
	"ucase":               {1, 1},
	"length":              {1, 1},
	"string":              {1, 1},
	"int":                 {1, 1},
	"float":               {1, 1},
	"bool":                {1, 1},
	"norm":                {1, 1},
	"ccnorm":              {1, 1},
	"ccnorm_contains_any": {2, -1},
	"ccnorm_contains_all": {2, -1},
	"specialratio":        {1, 1},
	"rmspecials":          {1, 1},
	"rmdoubles":           {1, 1},
	"rmwhitespace":        {1, 1},
	"count":               {1, 2},
	"rcount":              {1, 2},
	"get_matches":         {2, 2},
	"ip_in_range":         {2, 2},
	"ip_in_ranges":        {2, -1},
	"contains_any":        {2, -1},
	"contains_all":        {2, -1},
	"equals_to_any":       {2, -1},
	"substr":              {2, 3},
	"strlen":              {1, 1},
	"strpos":              {2, 3},
	"str_replace":         {3, 3},
	"str_replace_regexp":  {3, 3},
	"rescape":             {1, 1},
	"set":                 {2, 2},
	"set_var":             {2, 2},
	"sanitize":            {1, 1},
}

// NumVariables is len(Variables), as a constant for arrays indexed by a
// variable's index.
const NumVariables = 78

// Variables lists every builtin variable in use (lowercase), sorted.
var Variables = sortedSet(
	"timestamp", "action", "wiki_name", "wiki_language",
	"account_name", "account_type",
	"added_lines", "removed_lines", "edit_delta", "edit_diff", "new_size", "old_size",
	"new_content_model", "old_content_model", "summary",
	"page_id", "page_namespace", "page_title", "page_prefixedtitle", "page_age", "page_last_edit_age",
	"moved_from_id", "moved_from_namespace", "moved_from_title", "moved_from_prefixedtitle",
	"moved_from_age", "moved_from_last_edit_age",
	"moved_to_id", "moved_to_namespace", "moved_to_title", "moved_to_prefixedtitle",
	"moved_to_age", "moved_to_last_edit_age",
	"user_editcount", "user_age", "user_unnamed_ip", "user_name", "user_type", "user_groups",
	"user_rights", "user_blocked", "user_emailconfirm",
	"old_wikitext", "new_wikitext", "added_links", "removed_links", "new_links", "old_links",
	"new_pst", "edit_diff_pst", "added_lines_pst", "new_text", "new_html",
	"page_restrictions_edit", "page_restrictions_move", "page_restrictions_create", "page_restrictions_upload",
	"page_recent_contributors", "page_first_contributor",
	"moved_from_restrictions_edit", "moved_from_restrictions_move", "moved_from_restrictions_create",
	"moved_from_restrictions_upload", "moved_from_recent_contributors", "moved_from_first_contributor",
	"moved_to_restrictions_edit", "moved_to_restrictions_move", "moved_to_restrictions_create",
	"moved_to_restrictions_upload", "moved_to_recent_contributors", "moved_to_first_contributor",
	"file_sha1", "file_size", "file_mime", "file_mediatype", "file_width", "file_height",
	"file_bits_per_channel",
)

// Deprecated maps old variable names to the names that replaced them; the
// old names still work.
var Deprecated = map[string]string{
	"article_text":                "page_title",
	"article_prefixedtext":        "page_prefixedtitle",
	"article_namespace":           "page_namespace",
	"article_articleid":           "page_id",
	"article_restrictions_edit":   "page_restrictions_edit",
	"article_restrictions_move":   "page_restrictions_move",
	"article_restrictions_create": "page_restrictions_create",
	"article_restrictions_upload": "page_restrictions_upload",
	"article_recent_contributors": "page_recent_contributors",
	"article_first_contributor":   "page_first_contributor",
	"moved_from_text":             "moved_from_title",
	"moved_from_prefixedtext":     "moved_from_prefixedtitle",
	"moved_from_articleid":        "moved_from_id",
	"moved_to_text":               "moved_to_title",
	"moved_to_prefixedtext":       "moved_to_prefixedtitle",
	"moved_to_articleid":          "moved_to_id",
	"all_links":                   "new_links",
	"accountname":                 "account_name",
}

// Disabled lists variables that no longer exist; using one is an error.
var Disabled = map[string]bool{"old_text": true, "old_html": true, "minor_edit": true}

// Protected lists variables whose values are protected data (IP addresses):
// reading them needs a right, and filters using them are protected.
var Protected = map[string]bool{"user_unnamed_ip": true}

// variableIndex maps each variable in use to its index in Variables.
var variableIndex = func() map[string]int {
	if len(Variables) != NumVariables {
		panic("syntax: NumVariables is not len(Variables)")
	}
	m := make(map[string]int, len(Variables))
	for i, v := range Variables {
		m[v] = i
	}
	return m
}()

// IsVariable reports whether name (lowercase) is a builtin variable in use.
func IsVariable(name string) bool {
	_, ok := variableIndex[name]
	return ok
}

// VariableIndex returns the index in Variables of a builtin variable in use
// (its current, lowercase name).
func VariableIndex(name string) (int, bool) {
	i, ok := variableIndex[name]
	return i, ok
}

// Canonical returns the current name of a builtin variable (resolving
// deprecated aliases), lowercased.
func Canonical(name string) string {
	name = lower(name)
	if n, ok := Deprecated[name]; ok {
		return n
	}
	return name
}

func sortedSet(names ...string) []string {
	sort.Strings(names)
	return names
}

// lower lowercases ASCII, as PHP's strtolower does.
func lower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// Lower lowercases a variable name as AbuseFilter does (ASCII only).
func Lower(s string) string { return lower(s) }

// isReserved reports AbuseFilter's isReservedIdentifier: a builtin variable
// (in use, deprecated or disabled), a function name, or a keyword.
func isReserved(name string) bool {
	if IsVariable(name) || Disabled[name] {
		return true
	}
	if _, ok := Deprecated[name]; ok {
		return true
	}
	if _, ok := Arities[name]; ok {
		return true
	}
	return IsKeywordName(name)
}
