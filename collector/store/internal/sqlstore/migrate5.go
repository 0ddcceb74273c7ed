package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
)

// Schema 5 refuses writes from a collector of another schema. Each raw
// report names the schema of the collector that wrote it (reports.writer),
// and a trigger refuses a report whose writer is not the database's
// schema (meta "schema"). The insert path of every collector begins with
// its reports, so a collector still running after a newer one migrated
// the database fails its whole transaction (its reporters get 503 and
// resend to an up-to-date collector) instead of writing rollups in a
// layout it does not know. A collector older than schema 5 writes no
// writer at all, and is refused the same way.

// WriterVersion is what this collector writes in reports.writer (a test
// that writes reports with SQL of its own writes it too).
var WriterVersion, _ = strconv.Atoi(schemaVersion)

// errOldWriter is the trigger's message: what an operator sees in the
// logs of the collector that must be upgraded.
const errOldWriter = "store: the database was migrated by a newer collector: upgrade this one"

// The trigger, in each dialect. It compares with the schema in meta, so
// the next migration only has to update meta for it to refuse this
// collector's writes in turn.
var (
	sqliteWriterCheck = []string{`CREATE TRIGGER IF NOT EXISTS reports_writer BEFORE INSERT ON reports
		WHEN NEW.writer IS NOT (SELECT CAST(CAST(value AS TEXT) AS INTEGER) FROM meta WHERE key = 'schema')
		BEGIN SELECT RAISE(ABORT, '` + errOldWriter + `'); END`}
	postgresWriterCheck = []string{`CREATE OR REPLACE FUNCTION reports_writer() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF NEW.writer IS DISTINCT FROM (SELECT convert_from(value, 'UTF8')::bigint FROM meta WHERE key = 'schema') THEN
				RAISE EXCEPTION '` + errOldWriter + `';
			END IF;
			RETURN NEW;
		END $$`,
		`CREATE OR REPLACE TRIGGER reports_writer BEFORE INSERT ON reports FOR EACH ROW EXECUTE FUNCTION reports_writer()`}
)

// addWriter gives the reports table of a database older than schema 5 its
// writer column (NULL for the reports already there), before the schema
// statements create the trigger that reads it.
func addWriter(ctx context.Context, tx *sql.Tx, from string) error {
	switch from {
	case "2", "3", "4":
		if _, err := tx.ExecContext(ctx, `ALTER TABLE reports ADD COLUMN writer BIGINT`); err != nil {
			return fmt.Errorf("store: migrate from schema %s: %w", from, err)
		}
	}
	return nil
}
