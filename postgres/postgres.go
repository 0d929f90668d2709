// Package postgres opens Vigil's store in PostgreSQL, for production: several
// Vigil instances share one database. It uses pgx through database/sql.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	"github.com/pressly/goose/v3"

	"github.com/vigilwiki/vigil/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Open connects to the database at url (postgres://...), applies the
// migrations, and returns the store.
func Open(ctx context.Context, url string) (*sqlstore.Store, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres migrations: %w", err)
	}
	return sqlstore.New(db, db, Dialect), nil
}

// Dialect is PostgreSQL's.
var Dialect = sqlstore.Dialect{
	Name:           "postgres",
	NumberedParams: true,
	IsConflict: func(err error) bool {
		var e *pgconn.PgError
		return errors.As(err, &e) && e.Code == "23505"
	},
	IsUnavailable: func(err error) bool {
		var pe *pgconn.PgError
		if errors.As(err, &pe) {
			// Connection exceptions, and the server shutting down or
			// starting up.
			return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03"
		}
		var ne net.Error
		var ce *pgconn.ConnectError
		return errors.As(err, &ne) || errors.As(err, &ce) || pgconn.SafeToRetry(err) ||
			strings.Contains(err.Error(), "conn closed") || strings.Contains(err.Error(), "connection refused")
	},
}
