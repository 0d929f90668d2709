// Package pgtest gives tests a fresh PostgreSQL database on the server at
// 127.0.0.1:5432 (or $VIGIL_TEST_POSTGRES), dropped when the test ends.
// Outside CI a test is skipped when no server answers; in CI (CI=true)
// that is a failure, since the test command starts PostgreSQL.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
)

// ServerURL is the URL of the administrative database.
func ServerURL() string {
	if u := os.Getenv("VIGIL_TEST_POSTGRES"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// NewDatabase creates an empty database and returns its URL.
func NewDatabase(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	admin, err := sql.Open("pgx", ServerURL())
	if err == nil {
		err = admin.PingContext(ctx)
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("PostgreSQL unavailable in CI at %s: %v", ServerURL(), err)
		}
		t.Skipf("PostgreSQL unavailable at %s (the README's test command starts it): %v", ServerURL(), err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "vigil_test_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		admin.Close()
	})
	u, err := url.Parse(ServerURL())
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}
