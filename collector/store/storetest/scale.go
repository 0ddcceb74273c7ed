package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/store/internal/sqlstore"
)

// Scale describes a synthetic fleet for the scale benchmarks.
type Scale struct {
	Reports, Servers, Clusters int
	// Now is the end of the year of history (default time.Now()).
	Now time.Time
}

// features are the component names of the synthetic payloads.
var scaleFeatures = []string{"router", "proxy", "backend/http", "qos/ratelimit/router", "qos/ratelimit/proxy", "qos/circuit-breaker",
	"qos/http-cache", "auth/validator", "auth/signer", "auth/api-keys", "security/cors", "security/http", "telemetry/logging",
	"telemetry/metrics", "telemetry/opentelemetry", "telemetry/gelf", "modifier/martian", "modifier/lua-endpoint",
	"modifier/lua-backend", "backend/grpc", "grpc", "documentation/openapi", "plugin/http-server", "plugin/http-client",
	"validation/json-schema", "validation/cel", "websocket", "server/static-filesystem", "backend/amqp/consumer", "other"}

// SeedScale fills an empty database (schema already created by Open) with
// the state a year of reports from s would leave, with bulk SQL: the raw
// reports, the servers and clusters with their latest values, and every
// rollup derived from them. dialect is "sqlite" or "postgres". It is for
// benchmarks: the rollups are consistent with the servers and clusters
// tables, not with each individual report.
func SeedScale(ctx context.Context, db *sql.DB, dialect string, s Scale) error {
	if s.Now.IsZero() {
		s.Now = time.Now()
	}
	now := s.Now.Unix()
	year := int64(365 * 86400)
	series := func(n int) string {
		if dialect == "postgres" {
			return fmt.Sprintf("generate_series(0::bigint, %d) AS g(i)", n-1)
		}
		return fmt.Sprintf("(WITH RECURSIVE g(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM g WHERE i < %d) SELECT i FROM g) AS g", n-1)
	}
	var feats []string
	for k, f := range scaleFeatures {
		feats = append(feats, fmt.Sprintf("SELECT '%s' AS name, %d AS k", f, k))
	}
	featTable := "(" + strings.Join(feats, " UNION ALL ") + ") AS f"
	// Pseudo-random but deterministic: (i * prime) % m.
	r := func(expr string, m int64) string { return fmt.Sprintf("((%s) * 2654435761 %% %d)", expr, m) }
	// 70% of the servers reported in the last 30 days, the others earlier
	// in the year.
	lastSeen := fmt.Sprintf("(%d - CASE WHEN i %% 10 < 7 THEN %s ELSE %s END)", now, r("i", 30*86400), r("i+7", year))
	stmts := []string{
		fmt.Sprintf(`INSERT INTO servers(server_id, cluster_id, first_seen, last_seen, version, os, arch, payload, uptime)
			SELECT 'srv-' || i, 'cl-' || (i %% %d), %d - %s, %s, '2.' || (i %% 14) || '.' || (i %% 3),
			CASE WHEN i %% 5 = 0 THEN 'darwin' ELSE 'linux' END, CASE WHEN i %% 3 = 0 THEN 'arm64' ELSE 'amd64' END,
			'{"e":' || (i %% 300) || ',"b":' || (i %% 500) || ',"m":["GET","POST"],"f":["router","proxy"],"mo":"plugin","lc":"musl"}',
			%s FROM %s`, s.Clusters, now-year, r("i+3", 30*86400), lastSeen, r("i+11", 60*86400), series(s.Servers)),
		`INSERT INTO clusters(cluster_id, first_seen, last_seen, version, payload, size_day, size, prev_size)
			SELECT cluster_id, MIN(first_seen), MAX(last_seen), MAX(version), MAX(payload), MAX(last_seen) / 86400, COUNT(*), COUNT(*)
			FROM servers GROUP BY cluster_id`,
		fmt.Sprintf(`INSERT INTO reports(received_ms, cluster_id, server_id, version, os, arch, uptime, report_time, extra, extra_omitted, stamp, writer)
			SELECT (%d + i * %d / %d) * 1000, 'cl-' || (i %% %d %% %d), 'srv-' || (i %% %d), '2.13.2', 'linux', 'amd64', i %% 86400,
			%d + i * %d / %d, NULL, 0, '1:20:251128:token' || i || '::salt:' || i, %d FROM %s`,
			now-year, year, s.Reports, s.Servers, s.Clusters, s.Servers, now-year, year, s.Reports, sqlstore.WriterVersion, series(s.Reports)),
		fmt.Sprintf(`INSERT INTO days(day, reports, servers, clusters) SELECT %d / 86400 - i, %d, %d, %d FROM %s`,
			now, s.Reports/365, s.Reports/730, s.Clusters*7/10, series(366)),
		fmt.Sprintf(`INSERT INTO weeks(week, new_clusters, active_clusters) SELECT (%d / 86400 + 3) / 7 - i, %d, %d FROM %s`,
			now, s.Clusters/52, s.Clusters*8/10, series(53)),
		fmt.Sprintf(`INSERT INTO week_versions(week, version, servers) SELECT (%d / 86400 + 3) / 7 - (i / 14), '2.' || (i %% 14) || '.0', %d / 14
			FROM %s`, now, s.Servers, series(53*14)),
		`INSERT INTO active(hour, servers, clusters) SELECT hour, SUM(s), SUM(c) FROM (
			SELECT last_seen / 3600 AS hour, COUNT(*) AS s, 0 AS c FROM servers GROUP BY last_seen / 3600
			UNION ALL SELECT last_seen / 3600, 0, COUNT(*) FROM clusters GROUP BY last_seen / 3600) AS u GROUP BY hour`,
	}
	for _, kind := range []string{"version", "os", "arch"} {
		stmts = append(stmts, fmt.Sprintf(`INSERT INTO latest(day, kind, value, n) SELECT last_seen / 86400, '%s', %s, COUNT(*)
			FROM servers GROUP BY last_seen / 86400, %s`, kind, kind, kind))
	}
	stmts = append(stmts,
		`INSERT INTO latest(day, kind, value, n) SELECT last_seen / 86400, 'os_arch', os || '/' || arch, COUNT(*)
			FROM servers GROUP BY last_seen / 86400, os || '/' || arch`,
		fmt.Sprintf(`INSERT INTO latest(day, kind, value, n) SELECT d, 'feature', f.name, cnt * (f.k %% 10 + 1) / 10
			FROM (SELECT last_seen / 86400 AS d, COUNT(*) AS cnt FROM servers GROUP BY last_seen / 86400) AS s, %s`, featTable),
		fmt.Sprintf(`INSERT INTO latest(day, kind, value, n) SELECT d, 'c.feature', f.name, cnt * (f.k %% 10 + 1) / 10
			FROM (SELECT last_seen / 86400 AS d, COUNT(*) AS cnt FROM clusters GROUP BY last_seen / 86400) AS s, %s`, featTable),
		fmt.Sprintf(`INSERT INTO latest(day, kind, value, n) SELECT d, 'endpoints', '' || (f.k * 10), cnt / 30
			FROM (SELECT last_seen / 86400 AS d, COUNT(*) AS cnt FROM servers GROUP BY last_seen / 86400) AS s, %s`, featTable),
		`INSERT INTO latest(day, kind, value, n) SELECT last_seen / 86400, 'method', 'GET', COUNT(*) FROM servers GROUP BY last_seen / 86400`,
		`INSERT INTO latest(day, kind, value, n) SELECT last_seen / 86400, 'c.method', 'GET', COUNT(*) FROM clusters GROUP BY last_seen / 86400`,
		`INSERT INTO latest(day, kind, value, n) SELECT last_seen / 86400, 'bpe', '1-2', COUNT(*) FROM servers GROUP BY last_seen / 86400`,
		`INSERT INTO latest(day, kind, value, n) SELECT last_seen / 86400, 'c.size', '6', COUNT(*) FROM clusters GROUP BY last_seen / 86400`,
		// The rollups of schema 3: channels, versions per cluster, feature
		// versions, distributions (uptime buckets per version: about 50
		// a version, the most a real fleet spreads over) and features
		// per week.
		`INSERT INTO latest(day, kind, value, n) SELECT last_seen / 86400, 'channel', CASE WHEN i3 = 0 THEN 'plugin/musl' WHEN i3 = 1 THEN 'decorator/glibc' ELSE 'unknown/unknown' END, COUNT(*)
			FROM (SELECT last_seen, LENGTH(server_id) % 3 AS i3 FROM servers) AS s GROUP BY last_seen / 86400, i3`,
		`INSERT INTO latest(day, kind, value, n) SELECT last_seen / 86400, 'c.channel', CASE WHEN i3 = 0 THEN 'plugin/musl' WHEN i3 = 1 THEN 'decorator/glibc' ELSE 'unknown/unknown' END, COUNT(*)
			FROM (SELECT last_seen, LENGTH(cluster_id) % 3 AS i3 FROM clusters) AS c GROUP BY last_seen / 86400, i3`,
		`INSERT INTO latest(day, kind, value, n) SELECT last_seen / 86400, 'c.version', version, COUNT(*) FROM clusters GROUP BY last_seen / 86400, version`,
		`INSERT INTO latest_pairs(day, kind, value, n) SELECT last_seen / 86400, 'up', (uptime / 100000 * 100000) || ' ' || version, COUNT(*)
			FROM servers GROUP BY last_seen / 86400, uptime / 100000, version`,
		fmt.Sprintf(`INSERT INTO latest_pairs(day, kind, value, n) SELECT d, 'c.fver', f.name || ' ' || version, cnt * (f.k %% 10 + 1) / 10
			FROM (SELECT last_seen / 86400 AS d, version, COUNT(*) AS cnt FROM clusters GROUP BY last_seen / 86400, version) AS c, %s`, featTable),
		fmt.Sprintf(`INSERT INTO latest(day, kind, value, n) SELECT d, 'c.ep', '' || (f.k * 10), cnt / 30
			FROM (SELECT last_seen / 86400 AS d, COUNT(*) AS cnt FROM clusters GROUP BY last_seen / 86400) AS s, %s`, featTable),
		fmt.Sprintf(`INSERT INTO latest(day, kind, value, n) SELECT d, 'c.be', '' || (f.k * 20), cnt / 30
			FROM (SELECT last_seen / 86400 AS d, COUNT(*) AS cnt FROM clusters GROUP BY last_seen / 86400) AS s, %s`, featTable),
		`INSERT INTO latest(day, kind, value, n) SELECT last_seen / 86400, 'c.srv', '' || size, COUNT(*) FROM clusters GROUP BY last_seen / 86400, size`,
		fmt.Sprintf(`INSERT INTO week_features(week, feature, clusters) SELECT (%d / 86400 + 3) / 7 - w.i, f.name, %d * (f.k %% 10 + 1) / 10
			FROM %s, (SELECT i FROM %s) AS w`, now, s.Clusters*8/10, featTable, series(53)),
		`INSERT INTO latest_weeks(week, kind, value, n) SELECT (day + 3) / 7, kind, value, SUM(n) FROM latest GROUP BY (day + 3) / 7, kind, value`,
		`INSERT INTO latest_pairs_weeks(week, kind, value, n) SELECT (day + 3) / 7, kind, value, SUM(n) FROM latest_pairs GROUP BY (day + 3) / 7, kind, value`,
		fmt.Sprintf(`INSERT INTO totals(name, value) VALUES ('reports', %d), ('retained', %d), ('servers', %d), ('clusters', %d)`,
			s.Reports, s.Reports, s.Servers, s.Clusters),
	)
	stmts = append(stmts, "ANALYZE")
	for _, q := range stmts {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("seed: %w in %.80q", err, q)
		}
	}
	return nil
}
