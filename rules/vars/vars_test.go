package vars_test

import (
	"strings"
	"testing"

	"github.com/vigilwiki/vigil/rules/syntax"
	"github.com/vigilwiki/vigil/rules/value"
	"github.com/vigilwiki/vigil/rules/vars"
)

// TestNew: given variables are read by their current names, whatever
// names the caller used, and the derived ones come from them.
func TestNew(t *testing.T) {
	tests := []struct {
		name  string
		given map[string]value.Value
	}{
		{"current names", map[string]value.Value{"page_title": value.NewString("Foo"), "old_wikitext": value.NewString("a\n"), "new_wikitext": value.NewString("a\nbb\n")}},
		{"deprecated name", map[string]value.Value{"article_text": value.NewString("Foo"), "old_wikitext": value.NewString("a\n"), "new_wikitext": value.NewString("a\nbb\n")}},
		{"upper case", map[string]value.Value{"PAGE_TITLE": value.NewString("Foo"), "Old_Wikitext": value.NewString("a\n"), "NEW_WIKITEXT": value.NewString("a\nbb\n")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := vars.New(tt.given)
			if v, ok := a.Var("page_title"); !ok || v.ToString() != "Foo" {
				t.Errorf("page_title = %v, %v", v, ok)
			}
			if v, ok := a.Var("edit_delta"); !ok || v.ToInt() != 3 {
				t.Errorf("edit_delta = %v, %v; want 3", v, ok)
			}
			if v, ok := a.Var("added_lines"); !ok || v.Kind() != value.Array || v.Len() != 1 || v.Elems()[0].ToString() != "bb" {
				t.Errorf("added_lines = %v, %v; want [bb]", v, ok)
			}
			if n := len(a.Given()); n != 3 {
				t.Errorf("%d given variables, want 3", n)
			}
			// Deriving never writes to the caller's map.
			if len(tt.given) != 3 {
				t.Errorf("the caller's map changed: %v", tt.given)
			}
		})
	}
}

// TestVarAt: reading a variable by its index in syntax.Variables (as
// compiled filters do) gives what reading it by name gives, for given,
// derived and missing variables, whichever way is read first, and both
// when a name and its deprecated alias are given.
func TestVarAt(t *testing.T) {
	given := map[string]value.Value{
		"article_text": value.NewString("Foo"), // page_title
		"user_name":    value.NewString("Bar"),
		"old_wikitext": value.NewString("a\nhttp://x.example\n"),
		"new_wikitext": value.NewString("a\nbb\nhttp://y.example\n"),
		"not_a_var":    value.NewInt(1),
	}
	// What each variable holds (its string form), where it is worked out
	// here; "?" only that it is there (the diff's own tests check it).
	want := map[string]string{
		"page_title": "Foo", "user_name": "Bar",
		"old_wikitext": "a\nhttp://x.example\n", "new_wikitext": "a\nbb\nhttp://y.example\n",
		"old_size": "19", "new_size": "22", "edit_delta": "3",
		"added_lines": "bb\nhttp://y.example\n", "removed_lines": "http://x.example\n",
		"old_links": "http://x.example\n", "new_links": "http://y.example\n",
		"added_links": "http://y.example\n", "removed_links": "http://x.example\n",
		"edit_diff": "?",
	}
	for _, byIndexFirst := range []bool{true, false} {
		a := vars.New(given)
		for i, name := range syntax.Variables {
			var v1, v2 value.Value
			var ok1, ok2 bool
			if byIndexFirst {
				v1, ok1 = a.VarAt(i)
				v2, ok2 = a.Var(name)
			} else {
				v2, ok2 = a.Var(name)
				v1, ok1 = a.VarAt(i)
			}
			if ok1 != ok2 || !value.Identical(v1, v2) {
				t.Errorf("%s: VarAt = %v, %v; Var = %v, %v", name, v1, ok1, v2, ok2)
			}
			w, known := want[name]
			if ok1 != known || known && w != "?" && v1.ToString() != w {
				t.Errorf("%s = %q, %v; want %q, %v", name, v1.ToString(), ok1, w, known)
			}
		}
		if _, ok := a.Var("not_a_var"); !ok {
			t.Error("a given name that is no builtin variable is not read by name")
		}
	}
	// A name and its alias, both given: one wins, the same both ways.
	both := vars.New(map[string]value.Value{"article_text": value.NewString("old"), "page_title": value.NewString("new")})
	i, _ := syntax.VariableIndex("page_title")
	v1, _ := both.VarAt(i)
	v2, _ := both.Var("page_title")
	if v1.ToString() != v2.ToString() {
		t.Errorf("page_title: VarAt %q, Var %q", v1.ToString(), v2.ToString())
	}
}

// TestPSTVariables: edit_diff_pst and added_lines_pst are the diff of the
// old text and new_pst, whether new_pst is the new text (and the diff is
// computed once) or not.
func TestPSTVariables(t *testing.T) {
	tests := []struct {
		name, pst, diff, added string
	}{
		{"the same as the new text", "a\nb\n~~~~\n", "@@ -1,2 +1,4 @@\n a\n+b\n+~~~~\n \n", "b|~~~~"},
		{"signed", "a\nb\n[[User:X|X]]\n", "@@ -1,2 +1,4 @@\n a\n+b\n+[[User:X|X]]\n \n", "b|[[User:X|X]]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := vars.New(map[string]value.Value{"old_wikitext": value.NewString("a\n"),
				"new_wikitext": value.NewString("a\nb\n~~~~\n"), "new_pst": value.NewString(tt.pst)})
			if v, ok := a.Var("edit_diff_pst"); !ok || v.ToString() != tt.diff {
				t.Errorf("edit_diff_pst = %q, %v; want %q", v.ToString(), ok, tt.diff)
			}
			v, ok := a.Var("added_lines_pst")
			var added []string
			for _, e := range v.Elems() {
				added = append(added, e.ToString())
			}
			if !ok || strings.Join(added, "|") != tt.added {
				t.Errorf("added_lines_pst = %q, %v; want %q", added, ok, tt.added)
			}
		})
	}
	// A given edit_diff is the caller's; edit_diff_pst still comes from
	// the texts, as AbuseFilter derives it.
	a := vars.New(map[string]value.Value{"old_wikitext": value.NewString("a\n"), "new_wikitext": value.NewString("a\nb\n"),
		"new_pst": value.NewString("a\nb\n"), "edit_diff": value.NewString("given"), "added_lines": value.NewStrings([]string{"given"})})
	if v, _ := a.Var("edit_diff_pst"); v.ToString() != "@@ -1,2 +1,3 @@\n a\n+b\n \n" {
		t.Errorf("edit_diff_pst beside a given edit_diff = %q", v.ToString())
	}
	if v, _ := a.Var("added_lines_pst"); v.Len() != 1 || v.Elems()[0].ToString() != "b" {
		t.Errorf("added_lines_pst beside a given added_lines = %v", v)
	}
	// Without new_pst, neither can be derived.
	a = vars.New(map[string]value.Value{"old_wikitext": value.NewString("a"), "new_wikitext": value.NewString("b")})
	if _, ok := a.Var("added_lines_pst"); ok {
		t.Error("added_lines_pst derived without new_pst")
	}
}
