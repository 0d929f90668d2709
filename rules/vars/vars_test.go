package vars_test

import (
	"testing"

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
