package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// An import is all or nothing. It writes importMarker into the new
// database's meta table before its first report and deletes it after its
// last one; a collector refuses to start on a database holding it, so an
// import killed or failed halfway leaves no database the collector will
// serve. Running the import again completes it: the reports already
// copied are skipped as duplicates (their stamps are stored).
const importMarker = "import_incomplete"

// errIncomplete is returned by run for a database with the marker.
var errIncomplete = errors.New("the database holds an import that did not finish; run usage-collector import again with the same -from and -db to complete it, or start on a new database")

// metaDB opens dsn's database for the marker, with the placeholder style
// of its dialect.
func metaDB(dsn string) (*sql.DB, func(string) string, error) {
	kind, path, err := dbKind(dsn)
	if err != nil {
		return nil, nil, err
	}
	if kind == "sqlite" {
		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
		return db, func(q string) string { return q }, err
	}
	db, err := sql.Open("pgx", dsn)
	return db, func(q string) string { return strings.ReplaceAll(q, "?", "$1") }, err
}

func setImportMarker(ctx context.Context, dsn string) error {
	db, ph, err := metaDB(dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, ph(`INSERT INTO meta(key, value) VALUES ('`+importMarker+`', ?) ON CONFLICT (key) DO NOTHING`),
		[]byte(time.Now().UTC().Format(time.RFC3339)))
	if err != nil {
		return fmt.Errorf("marking the import as incomplete: %w", err)
	}
	return nil
}

func clearImportMarker(ctx context.Context, dsn string) error {
	db, _, err := metaDB(dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `DELETE FROM meta WHERE key = '`+importMarker+`'`); err != nil {
		return fmt.Errorf("marking the import as complete: %w", err)
	}
	return nil
}

// importIncomplete reports whether dsn's database holds the marker.
func importIncomplete(ctx context.Context, dsn string) (bool, error) {
	db, _, err := metaDB(dsn)
	if err != nil {
		return false, err
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM meta WHERE key = '`+importMarker+`'`).Scan(&n); err != nil {
		return false, fmt.Errorf("reading the import marker: %w", err)
	}
	return n > 0, nil
}
