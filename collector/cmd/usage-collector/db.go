package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/krakend-usage/krakend-usage/collector/store"
	"github.com/krakend-usage/krakend-usage/collector/store/postgres"
	"github.com/krakend-usage/krakend-usage/collector/store/sqlite"
)

// keyValueDSN matches a PostgreSQL key=value connection string
// ("host=db user=usage password=..."): it starts with a known keyword.
var keyValueDSN = regexp.MustCompile(`^\s*(host|hostaddr|port|dbname|user|password|sslmode|service|connect_timeout|application_name|options|target_session_attrs)\s*=`)

// dbKind names the backend of dsn, or says why dsn names none. It never
// returns any part of dsn but a SQLite path, so it may be logged.
func dbKind(dsn string) (kind, path string, err error) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"), keyValueDSN.MatchString(dsn):
		return "postgres", "", nil
	case strings.Contains(dsn, "://"), dsn == "":
		return "", "", fmt.Errorf("%w: -db: want sqlite:PATH or a PostgreSQL DSN (postgres://... or host=... key=value)", errUsage)
	}
	path = strings.TrimPrefix(dsn, "sqlite:")
	switch {
	case path == "":
		return "", "", fmt.Errorf("%w: -db %q: the SQLite path is empty", errUsage, dsn)
	case strings.Contains(path, ":memory:"), strings.Contains(path, "mode=memory"):
		return "", "", fmt.Errorf("%w: -db %q: an in-memory SQLite database would lose every report (and each connection would see its own); give a file path", errUsage, dsn)
	case strings.HasPrefix(path, "file:"), strings.ContainsAny(path, "?#"):
		return "", "", fmt.Errorf("%w: -db %q: give a plain file path, without file: or URI parameters", errUsage, dsn)
	}
	return "sqlite", path, nil
}

// postgresAttrs are the log attributes naming the PostgreSQL server and
// database of dsn: host, port, database and user, never the password.
func postgresAttrs(dsn string) []any {
	c, err := pgconn.ParseConfig(dsn)
	if err != nil {
		return nil // postgres.Open has said why
	}
	return []any{"host", c.Host, "port", c.Port, "database", c.Database, "user", c.User}
}

// openStore opens the database named by dsn (see dbKind). A SQLite file is
// created readable by its owner only: it holds the token-signing key.
func openStore(ctx context.Context, dsn string) (store.Store, error) {
	kind, path, err := dbKind(dsn)
	if err != nil {
		return nil, err
	}
	var st store.Store
	if kind == "postgres" {
		st, err = postgres.Open(ctx, dsn)
	} else {
		if err := privateFiles(path); err != nil {
			return nil, err
		}
		st, err = sqlite.Open(ctx, path)
	}
	if errors.Is(err, store.ErrSchema) {
		return nil, fmt.Errorf("%w; to carry its reports over, run: usage-collector import -from OLD_DB -db NEW_DB", err)
	}
	return st, err
}

// privateFiles creates the SQLite file with mode 0600 when it does not
// exist (SQLite gives its -wal and -shm files the mode of the database
// file), and takes group and other access away from existing ones.
func privateFiles(path string) error {
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		st, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("sqlite: %w", err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, st.Mode().Perm()&0o700); err != nil {
				return fmt.Errorf("sqlite: %s holds the token key and is readable by others: %w", p, err)
			}
		}
	}
	return nil
}

// secret returns the signing key: from the environment, or the one kept in
// the database (stored there by the first collector that started).
func secret(ctx context.Context, st store.Store) ([]byte, error) {
	if v := os.Getenv(secretEnv); v != "" {
		if len(v) < 16 {
			return nil, fmt.Errorf("%w: %s must be at least 16 bytes", errUsage, secretEnv)
		}
		return []byte(v), nil
	}
	key := make([]byte, 32)
	rand.Read(key)
	return st.Secret(ctx, key)
}
