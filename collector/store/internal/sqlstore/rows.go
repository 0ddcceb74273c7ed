package sqlstore

import (
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/krakend-usage/krakend-usage/collector/store"
)

// The server and cluster rows of a batch, and its week marks. Reading
// and writing them one row at a time costs a statement (on PostgreSQL a
// round trip) per distinct ID: a batch from a real fleet, where nearly
// every report comes from another server, then spends most of its
// transaction on them. They are read with one statement per table
// instead, in key order, so row locks are still taken in the order the
// package doc promises, and written with one or two.

// inList builds "head IN (?, ..., ?) tail" for n IDs in the dialect's
// placeholders.
func (s *DB) inList(head string, n int, tail string) string {
	q := head + " IN (" + strings.Repeat("?, ", n-1) + "?) " + tail
	if s.d.Dollar {
		return dollar(q)
	}
	return q
}

// ids returns the distinct keys of rs, sorted.
func ids(rs []*store.Report, key func(*store.Report) string) []any {
	ks := make([]string, 0, len(rs))
	for _, r := range rs {
		ks = append(ks, key(r))
	}
	slices.Sort(ks)
	ks = slices.Compact(ks)
	out := make([]any, len(ks))
	for i, k := range ks {
		out[i] = k
	}
	return out
}

// loadServers reads the stored state of the servers of rs.
func (s *DB) loadServers(t *tx, rs []*store.Report) (map[string]*server, error) {
	keys := ids(rs, func(r *store.Report) string { return r.ServerID })
	q := s.inList(`SELECT server_id, cluster_id, first_seen, last_seen, version, os, arch, payload, uptime FROM servers WHERE server_id`,
		len(keys), `ORDER BY server_id`+s.d.RowLock)
	rows, err := t.query(q, keys...)
	if err != nil {
		return nil, fmt.Errorf("servers: %w", err)
	}
	defer rows.Close()
	out := make(map[string]*server, len(keys))
	for rows.Next() {
		var id string
		var payload sql.NullString
		sv := &server{exists: true}
		if err := rows.Scan(&id, &sv.cluster, &sv.first, &sv.last, &sv.version, &sv.os, &sv.arch, &payload, &sv.uptime); err != nil {
			return nil, fmt.Errorf("servers: %w", err)
		}
		sv.payload = decodePayload(payload)
		out[id] = sv
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("servers: %w", err)
	}
	return out, nil
}

// loadClusters reads the stored state of the clusters of rs.
func (s *DB) loadClusters(t *tx, rs []*store.Report) (map[string]*cluster, error) {
	keys := ids(rs, func(r *store.Report) string { return r.ClusterID })
	q := s.inList(`SELECT cluster_id, first_seen, last_seen, version, payload, size_day, size, prev_size FROM clusters WHERE cluster_id`,
		len(keys), `ORDER BY cluster_id`+s.d.RowLock)
	rows, err := t.query(q, keys...)
	if err != nil {
		return nil, fmt.Errorf("clusters: %w", err)
	}
	defer rows.Close()
	out := make(map[string]*cluster, len(keys))
	for rows.Next() {
		var id string
		var payload sql.NullString
		c := &cluster{exists: true}
		if err := rows.Scan(&id, &c.first, &c.last, &c.version, &payload, &c.sizeDay, &c.size, &c.prevSize); err != nil {
			return nil, fmt.Errorf("clusters: %w", err)
		}
		c.payload = decodePayload(payload)
		out[id] = c
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("clusters: %w", err)
	}
	return out, nil
}

// rowWrites are the server (or cluster) rows of a batch to write.
type rowWrites struct{ fresh, set [][]any }

// flush writes the new rows, then the others. The new rows must all be
// inserted: one that another collector inserted since this transaction
// read the table is errRace.
func (w *rowWrites) flush(t *tx, fresh, set upsert) error {
	n, err := t.insert(fresh, w.fresh)
	if err != nil {
		return err
	}
	if n != int64(len(w.fresh)) {
		return errRace
	}
	_, err = t.insert(set, w.set)
	return err
}

// mark records who is counted in week_versions (marks sorted, distinct)
// and counts the marks that were new.
func (s *DB) mark(t *tx, marks []mark, d *deltas) error {
	if len(marks) == 0 {
		return nil
	}
	rows := make([][]any, len(marks))
	for i, m := range marks {
		rows[i] = []any{m.week, m.version, m.server}
	}
	var q *sql.Rows
	var err error
	if len(rows) == 1 {
		q, err = t.queryNamed(upMark.name, rows[0]...)
	} else {
		q, err = t.insertQuery(upMark, rows)
	}
	if err != nil {
		return err
	}
	defer q.Close()
	for q.Next() {
		var k wv
		if err := q.Scan(&k.week, &k.version); err != nil {
			return fmt.Errorf("w.mark: %w", err)
		}
		d.weekVer[k]++
	}
	if err := q.Err(); err != nil {
		return fmt.Errorf("w.mark: %w", err)
	}
	return nil
}
