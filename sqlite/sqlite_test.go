package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/vigilwiki/vigil"
	"github.com/vigilwiki/vigil/sqlite"
	"github.com/vigilwiki/vigil/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) vigil.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "vigil.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestReopen: migrations run once; the data survives a restart.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vigil.db")
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	f := &vigil.Filter{Wiki: "w", Name: "n", Pattern: "true"}
	f.Normalize()
	if err := s.CreateFilter(ctx, f, "a", ""); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, err := s.FindFilter(ctx, f.ID); err != nil || got.Name != "n" {
		t.Fatalf("after reopening: %+v, %v", got, err)
	}
}
