package sqlstore

import (
	"context"
	"database/sql"

	"github.com/krakend-usage/krakend-usage/collector/store"
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
// table, once. Schema 2 kept no install channel in the payloads: it is
// taken from the latest retained raw report of each server and cluster
// first (see channelsFromReports).
func (s *DB) migrate3(ctx context.Context, sqlTx *sql.Tx) error {
	if err := s.channelsFromReports(ctx, sqlTx); err != nil {
		return err
	}
	d := newDeltas()
	add := func(last int64, vals []kv) {
		for _, x := range vals {
			if kinds3[x.kind] {
				d.latest[lk{day(last), x.kind, x.value}]++
			}
		}
	}
	if err := everyIDValues(ctx, sqlTx, false, add); err != nil {
		return err
	}
	if err := s.flushMigrated(ctx, sqlTx, d); err != nil {
		return err
	}
	set := `UPDATE meta SET value = ? WHERE key = 'schema'`
	if s.d.Dollar {
		set = dollar(set)
	}
	_, err := sqlTx.ExecContext(ctx, set, []byte(schemaVersion))
	return err
}

// everyIDValues calls f with the last report time and the latest values
// of every server and every cluster: one pass over each table. Without
// withUptime (a schema-2 servers table has none) a server counts no
// uptime (-1).
func everyIDValues(ctx context.Context, sqlTx *sql.Tx, withUptime bool, f func(last int64, vals []kv)) error {
	q := `SELECT last_seen, version, os, arch, payload FROM servers`
	if withUptime {
		q = `SELECT last_seen, version, os, arch, payload, uptime FROM servers`
	}
	err := scanAll(ctx, sqlTx, q, func(rows *sql.Rows) error {
		sv := server{exists: true, uptime: -1}
		var payload sql.NullString
		dest := []any{&sv.last, &sv.version, &sv.os, &sv.arch, &payload}
		if withUptime {
			dest = append(dest, &sv.uptime)
		}
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		sv.payload = decodePayload(payload)
		f(sv.last, sv.values())
		return nil
	})
	if err != nil {
		return err
	}
	return scanAll(ctx, sqlTx, `SELECT last_seen, version, payload, size_day, size, prev_size FROM clusters`, func(rows *sql.Rows) error {
		c := cluster{exists: true}
		var payload sql.NullString
		if err := rows.Scan(&c.last, &c.version, &payload, &c.sizeDay, &c.size, &c.prevSize); err != nil {
			return err
		}
		c.payload = decodePayload(payload)
		f(c.last, c.values())
		return nil
	})
}

// flushMigrated writes a migration's latest deltas to the rollups, the
// pair kinds to their own tables.
func (s *DB) flushMigrated(ctx context.Context, sqlTx *sql.Tx, d *deltas) error {
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
	return flushLatest(t, pairs, upPairs, upPairsWeek)
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

// channel is an install channel as a payload holds it.
type channel struct{ mode, libc string }

// channelsFromReports sets the install channel (mode and libc) of every
// server and cluster payload that has none, as schema 2 stored them, from
// the latest retained raw report of that server or cluster that carried a
// payload. The reports are read newest first, and only the first of each
// ID is parsed. An ID whose reports were all pruned keeps no channel
// ("unknown" until its next report with a payload).
func (s *DB) channelsFromReports(ctx context.Context, sqlTx *sql.Tx) error {
	servers, clusters := map[string]*channel{}, map[string]*channel{}
	err := scanAll(ctx, sqlTx, `SELECT server_id, cluster_id, extra FROM reports WHERE extra IS NOT NULL ORDER BY id DESC`, func(rows *sql.Rows) error {
		var srv, cl string
		var extra sql.RawBytes
		if err := rows.Scan(&srv, &cl, &extra); err != nil {
			return err
		}
		_, seenS := servers[srv]
		_, seenC := clusters[cl]
		if seenS && seenC {
			return nil
		}
		p := store.ParsePayload(extra, false)
		ch := &channel{p.Mode, p.Libc}
		if !seenS {
			servers[srv] = ch
		}
		if !seenC {
			clusters[cl] = ch
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, t := range []struct {
		table, key string
		from       map[string]*channel
	}{{"servers", "server_id", servers}, {"clusters", "cluster_id", clusters}} {
		if err := s.setChannels(ctx, sqlTx, t.table, t.key, t.from); err != nil {
			return err
		}
	}
	return nil
}

// setChannels writes the channels of from into the payloads of table that
// have none.
func (s *DB) setChannels(ctx context.Context, sqlTx *sql.Tx, table, key string, from map[string]*channel) error {
	type update struct{ id, payload string }
	var updates []update
	err := scanAll(ctx, sqlTx, `SELECT `+key+`, payload FROM `+table+` WHERE payload IS NOT NULL`, func(rows *sql.Rows) error {
		var id string
		var payload sql.NullString
		if err := rows.Scan(&id, &payload); err != nil {
			return err
		}
		ch := from[id]
		p := decodePayload(payload)
		if ch == nil || p.Mode != "" || p.Libc != "" || (ch.mode == "" && ch.libc == "") {
			return nil
		}
		p.Mode, p.Libc = ch.mode, ch.libc
		updates = append(updates, update{id, encodePayload(p).(string)})
		return nil
	})
	if err != nil {
		return err
	}
	q := `UPDATE ` + table + ` SET payload = ? WHERE ` + key + ` = ?`
	if s.d.Dollar {
		q = dollar(q)
	}
	for _, u := range updates {
		if _, err := sqlTx.ExecContext(ctx, q, u.payload, u.id); err != nil {
			return err
		}
	}
	return nil
}
