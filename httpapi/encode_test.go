package httpapi

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vigilwiki/vigil"
)

// TestDecodeReusesNoMemory: request bodies are read into pooled buffers;
// what a decode returns must not share them, or the next request would
// rewrite it.
func TestDecodeReusesNoMemory(t *testing.T) {
	body := func(text string) string {
		return `{"wiki":"w","action":"edit","performer":{"name":"A"},"new_wikitext":"` + text + `"}`
	}
	var first vigil.Action
	req := httptest.NewRequest("POST", "/v1/screen", strings.NewReader(body(strings.Repeat("x", 5000))))
	if err := decode(req, &first); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		var a vigil.Action
		req := httptest.NewRequest("POST", "/v1/screen", strings.NewReader(body(strings.Repeat("y", 5000))))
		if err := decode(req, &a); err != nil {
			t.Fatal(err)
		}
	}
	if first.NewWikitext == nil || *first.NewWikitext != strings.Repeat("x", 5000) || first.Wiki != "w" {
		t.Fatalf("the first action changed after later decodes: wiki %q, text %.20q…", first.Wiki, *first.NewWikitext)
	}
}
