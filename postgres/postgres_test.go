package postgres_test

import (
	"context"
	"testing"

	"github.com/vigilwiki/vigil"
	"github.com/vigilwiki/vigil/internal/pgtest"
	"github.com/vigilwiki/vigil/postgres"
	"github.com/vigilwiki/vigil/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) vigil.Store {
		s, err := postgres.Open(context.Background(), pgtest.NewDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
