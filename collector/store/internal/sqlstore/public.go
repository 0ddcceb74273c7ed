package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/store"
)

func init() {
	// The known servers of a cluster: those that reported in it on two
	// UTC days or more (a server's first_seen is its first report in its
	// cluster), on the cluster's latest day or the day before; read
	// through the servers_cluster index.
	queries["r.states"] = `SELECT c.first_seen, c.last_seen, c.version, c.payload,
		(SELECT COUNT(*) FROM servers s WHERE s.cluster_id = c.cluster_id
			AND s.last_seen >= (c.last_seen / 86400 - 1) * 86400 AND s.last_seen / 86400 > s.first_seen / 86400)
		FROM clusters c WHERE c.last_seen >= ?`
	queries["snapshot.get"] = `SELECT value FROM meta WHERE key = ?`
	queries["snapshot.put"] = `INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`
	queries["snapshot.drop"] = `DELETE FROM meta WHERE key >= ? AND key < ?`
}

// ClusterStates implements store.Store: one read of the clusters whose
// latest report is at or after since, through the clusters_seen index.
func (s *DB) ClusterStates(ctx context.Context, since time.Time, fn func(store.ClusterState) error) error {
	err := s.query(ctx, "r.states", func(rows interface{ Scan(...any) error }) error {
		var c store.ClusterState
		var first, last int64
		var payload sql.NullString
		if err := rows.Scan(&first, &last, &c.Version, &payload, &c.Servers); err != nil {
			return err
		}
		c.First, c.Last, c.Payload = time.Unix(first, 0).UTC(), time.Unix(last, 0).UTC(), decodePayload(payload)
		return fn(c)
	}, since.Unix())
	if err != nil {
		return fmt.Errorf("store: cluster states: %w", err)
	}
	return nil
}

// DailySnapshot implements store.Store. The snapshots live in meta, under
// name/YYYY-MM-DD; storing one drops the older days' of the same name.
func (s *DB) DailySnapshot(ctx context.Context, name string, day int64, compute func(context.Context) ([]byte, error)) ([]byte, error) {
	key := name + "/" + store.DayDate(day)
	var b []byte
	switch err := s.r.QueryRowContext(ctx, s.q["snapshot.get"], key).Scan(&b); {
	case err == nil:
		return b, nil
	case !errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("store: snapshot: %w", err)
	}
	b, err := compute(ctx)
	if err != nil {
		return nil, err
	}
	// Another collector may have stored its own meanwhile: the first one
	// stored is the one every collector serves.
	if _, err := s.w.ExecContext(ctx, s.q["snapshot.put"], key, b); err != nil {
		return nil, fmt.Errorf("store: snapshot: %w", err)
	}
	if _, err := s.w.ExecContext(ctx, s.q["snapshot.drop"], name+"/", key); err != nil {
		return nil, fmt.Errorf("store: snapshot: %w", err)
	}
	if err := s.w.QueryRowContext(ctx, s.q["snapshot.get"], key).Scan(&b); err != nil {
		return nil, fmt.Errorf("store: snapshot: %w", err)
	}
	return b, nil
}
