package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/store"
)

func scanCluster(rows interface{ Scan(...any) error }) (store.ClusterRow, error) {
	var c store.ClusterRow
	var cl cluster
	var payload sql.NullString
	if err := rows.Scan(&c.ClusterID, &cl.first, &cl.last, &c.Version, &payload, &cl.sizeDay, &cl.size, &cl.prevSize); err != nil {
		return c, err
	}
	c.FirstSeen, c.LastSeen = time.Unix(cl.first, 0).UTC(), time.Unix(cl.last, 0).UTC()
	c.ActiveServers = cl.servers()
	c.Endpoints, c.Features = -1, []string{}
	if p := decodePayload(payload); p != nil {
		c.Endpoints = p.Endpoints
		if p.Features != nil {
			c.Features = p.Features
		}
	}
	return c, nil
}

// Clusters implements store.Store: a keyset page over the clusters_seen
// index, so any page costs the same however deep.
func (s *DB) Clusters(ctx context.Context, now time.Time, after string, limit int) (*store.ClusterPage, error) {
	limit = min(max(limit, 1), store.MaxClusterPage)
	name, args := "r.clusters.first", []any{limit + 1}
	if after != "" {
		sec, id, err := store.DecodeCursor(after)
		if err != nil {
			return nil, err
		}
		name, args = "r.clusters.after", []any{sec, id, limit + 1}
	}
	page := &store.ClusterPage{Clusters: []store.ClusterRow{}}
	err := s.query(ctx, name, func(rows interface{ Scan(...any) error }) error {
		c, err := scanCluster(rows)
		page.Clusters = append(page.Clusters, c)
		return err
	}, args...)
	if err != nil {
		return nil, fmt.Errorf("store: clusters: %w", err)
	}
	if len(page.Clusters) > limit {
		page.Clusters = page.Clusters[:limit]
		c := page.Clusters[limit-1]
		page.Next = store.EncodeCursor(c.LastSeen.Unix(), c.ClusterID)
	}
	return page, nil
}

// Cluster implements store.Store.
func (s *DB) Cluster(ctx context.Context, now time.Time, id string, limit int) (*store.ClusterDetail, error) {
	limit = min(max(limit, 1), store.MaxClusterServers)
	c, err := scanCluster(s.r.QueryRowContext(ctx, s.q["r.cluster"], id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: cluster: %w", err)
	}
	d := &store.ClusterDetail{ClusterRow: c, Servers: []store.ServerRow{}}
	err = s.query(ctx, "r.cluster.servers", func(rows interface{ Scan(...any) error }) error {
		var sv store.ServerRow
		var first, last int64
		var payload sql.NullString
		if err := rows.Scan(&sv.ServerID, &first, &last, &sv.Version, &sv.OS, &sv.Arch, &payload); err != nil {
			return err
		}
		sv.FirstSeen, sv.LastSeen = time.Unix(first, 0).UTC(), time.Unix(last, 0).UTC()
		sv.Endpoints = -1
		if p := decodePayload(payload); p != nil {
			sv.Endpoints = p.Endpoints
		}
		d.Servers = append(d.Servers, sv)
		return nil
	}, id, limit+1)
	if err != nil {
		return nil, fmt.Errorf("store: cluster: %w", err)
	}
	if len(d.Servers) > limit {
		d.Servers, d.More = d.Servers[:limit], true
	}
	return d, nil
}
