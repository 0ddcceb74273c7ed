package sqlstore

import (
	"context"
	"database/sql"
)

// kinds3 are the latest kinds schema 3 added: a database of schema 2
// has none of their rows, which migrate3 derives from the servers and
// clusters tables, so that the first move of an ID takes off a row that
// is there. ("up", the uptime, is not among them: a schema-2 server row
// has no uptime, -1, and counts none until its next report.)
var kinds3 = map[string]bool{"channel": true, "c.channel": true, "c.version": true, "c.fver": true,
	"c.ep": true, "c.be": true, "c.srv": true}

// migrate3 fills the latest and latest_weeks rows of kinds3 from every
// server and cluster, in the migration's transaction: one pass over each
// table, once.
func (s *DB) migrate3(ctx context.Context, sqlTx *sql.Tx) error {
	d := newDeltas()
	add := func(last int64, vals []kv) {
		for _, x := range vals {
			if kinds3[x.kind] {
				d.latest[lk{day(last), x.kind, x.value}]++
			}
		}
	}
	err := scanAll(ctx, sqlTx, `SELECT last_seen, version, os, arch, payload FROM servers`, func(rows *sql.Rows) error {
		sv := server{exists: true, uptime: -1}
		var payload sql.NullString
		if err := rows.Scan(&sv.last, &sv.version, &sv.os, &sv.arch, &payload); err != nil {
			return err
		}
		sv.payload = decodePayload(payload)
		add(sv.last, sv.values())
		return nil
	})
	if err != nil {
		return err
	}
	err = scanAll(ctx, sqlTx, `SELECT last_seen, version, payload, size_day, size, prev_size FROM clusters`, func(rows *sql.Rows) error {
		c := cluster{exists: true}
		var payload sql.NullString
		if err := rows.Scan(&c.last, &c.version, &payload, &c.sizeDay, &c.size, &c.prevSize); err != nil {
			return err
		}
		c.payload = decodePayload(payload)
		add(c.last, c.values())
		return nil
	})
	if err != nil {
		return err
	}
	main, pairs := map[lk]int64{}, map[lk]int64{}
	for k, n := range d.latest {
		if pairKind[k.kind] {
			pairs[k] = n
		} else {
			main[k] = n
		}
	}
	t := &tx{Tx: sqlTx, ctx: ctx, s: s}
	if err := flushLatest(t, main, upLatest, upLatestWeek); err != nil {
		return err
	}
	if err := flushLatest(t, pairs, upPairs, upPairsWeek); err != nil {
		return err
	}
	set := `UPDATE meta SET value = ? WHERE key = 'schema'`
	if s.d.Dollar {
		set = dollar(set)
	}
	_, err = sqlTx.ExecContext(ctx, set, []byte(schemaVersion))
	return err
}

func scanAll(ctx context.Context, tx *sql.Tx, q string, scan func(*sql.Rows) error) error {
	rows, err := tx.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
