package sqlstore

import "strings"

// schemaVersion is stored in meta under "schema". Version 1 (the first
// collector) kept the replay index on the reports table and no weekly or
// per-day breakdown rollups; it cannot be read by this code. Version 2
// had no servers.uptime, no week_features and none of the latest kinds
// of channels, feature versions and distributions: it is migrated in
// place (see migrate3). Version 3 kept the distributions' buckets at one
// significant digit: they are moved to two in place (see migrate4).
// Version 4 did not refuse the writes of an older collector (see
// migrate5.go). Version 5 counted every version, OS and architecture by
// name, however many (see track.go).
const schemaVersion = "6"

// The tables (SQLite spelling; PostgreSQL uses BIGINT, BYTEA, BIGSERIAL):
//
//	meta(key, value)                          token_key, schema
//	reports(id, received_ms, cluster_id, server_id, version, os, arch,
//	        uptime, report_time, extra, extra_omitted, stamp, writer)
//	                                          raw reports, pruned by retention
//	stamps(key)                               replay index: the stamp's date
//	                                          and a SHA-256 prefix of it
//	servers(server_id, cluster_id, first_seen, last_seen, version, os,
//	        arch, payload, uptime)            latest state per server
//	clusters(cluster_id, first_seen, last_seen, version, payload,
//	        size_day, size, prev_size)        latest state per cluster
//	days(day, reports, servers, clusters)     per UTC day number
//	weeks(week, new_clusters, active_clusters) per ISO week number
//	week_versions(week, version, servers)     distinct servers per version
//	week_marks(week, version, server_id)      who is counted in week_versions,
//	                                          pruned after the week
//	week_features(week, feature, clusters)    clusters that reported that
//	                                          week, by feature
//	active(hour, servers, clusters)           IDs whose last report is in
//	                                          that hour
//	latest(day, kind, value, n)               servers (or clusters, kinds
//	                                          "c.*") whose last report is on
//	                                          that day, by latest value
//	latest_weeks(week, kind, value, n)        the same summed per ISO week, so
//	                                          a long range reads weeks, not days
//	latest_pairs(day, kind, value, n),
//	latest_pairs_weeks(week, kind, value, n)  the same for the kinds of two
//	                                          values (uptime bucket and
//	                                          version, feature and version)
//	totals(name, value)                       reports, retained, servers,
//	                                          clusters
//	tracked_sets(week, kind, capacity)        the values of a kind counted
//	tracked(week, kind, value)                by name that ISO week (see
//	                                          track.go)
//
// Times are Unix seconds except received_ms. No table has a column for the
// client's address. Every answer is read from the rollups, never from
// reports, so pruning reports changes no answer.
var schema = []string{
	`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value {blob} NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS reports (
		id {serial} PRIMARY KEY,
		received_ms {int} NOT NULL,
		cluster_id TEXT NOT NULL,
		server_id TEXT NOT NULL,
		version TEXT NOT NULL,
		os TEXT NOT NULL,
		arch TEXT NOT NULL,
		uptime {int} NOT NULL,
		report_time {int} NOT NULL,
		extra {blob},
		extra_omitted {int} NOT NULL DEFAULT 0,
		stamp TEXT NOT NULL,
		writer {int})`,
	`CREATE TABLE IF NOT EXISTS stamps (key {blob} PRIMARY KEY){norowid}`,
	`CREATE TABLE IF NOT EXISTS servers (
		server_id TEXT PRIMARY KEY,
		cluster_id TEXT NOT NULL,
		first_seen {int} NOT NULL,
		last_seen {int} NOT NULL,
		version TEXT NOT NULL,
		os TEXT NOT NULL,
		arch TEXT NOT NULL,
		payload TEXT,
		uptime {int} NOT NULL DEFAULT -1){norowid}`,
	`CREATE INDEX IF NOT EXISTS servers_cluster ON servers(cluster_id, last_seen)`,
	`CREATE TABLE IF NOT EXISTS clusters (
		cluster_id TEXT PRIMARY KEY,
		first_seen {int} NOT NULL,
		last_seen {int} NOT NULL,
		version TEXT NOT NULL,
		payload TEXT,
		size_day {int} NOT NULL,
		size {int} NOT NULL,
		prev_size {int} NOT NULL){norowid}`,
	`CREATE INDEX IF NOT EXISTS clusters_seen ON clusters(last_seen, cluster_id)`,
	`CREATE TABLE IF NOT EXISTS days (day {int} PRIMARY KEY, reports {int} NOT NULL, servers {int} NOT NULL, clusters {int} NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS weeks (week {int} PRIMARY KEY, new_clusters {int} NOT NULL, active_clusters {int} NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS week_versions (week {int} NOT NULL, version TEXT NOT NULL, servers {int} NOT NULL, PRIMARY KEY (week, version)){norowid}`,
	`CREATE TABLE IF NOT EXISTS week_marks (week {int} NOT NULL, version TEXT NOT NULL, server_id TEXT NOT NULL, PRIMARY KEY (week, version, server_id)){norowid}`,
	`CREATE TABLE IF NOT EXISTS week_features (week {int} NOT NULL, feature TEXT NOT NULL, clusters {int} NOT NULL, PRIMARY KEY (week, feature)){norowid}`,
	`CREATE TABLE IF NOT EXISTS active (hour {int} PRIMARY KEY, servers {int} NOT NULL, clusters {int} NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS latest (day {int} NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL, n {int} NOT NULL, PRIMARY KEY (day, kind, value)){norowid}`,
	`CREATE TABLE IF NOT EXISTS latest_weeks (week {int} NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL, n {int} NOT NULL, PRIMARY KEY (week, kind, value)){norowid}`,
	`CREATE TABLE IF NOT EXISTS latest_pairs (day {int} NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL, n {int} NOT NULL, PRIMARY KEY (day, kind, value)){norowid}`,
	`CREATE TABLE IF NOT EXISTS latest_pairs_weeks (week {int} NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL, n {int} NOT NULL, PRIMARY KEY (week, kind, value)){norowid}`,
	`CREATE TABLE IF NOT EXISTS totals (name TEXT PRIMARY KEY, value {int} NOT NULL){norowid}`,
	`CREATE TABLE IF NOT EXISTS tracked_sets (week {int} NOT NULL, kind TEXT NOT NULL, capacity {int} NOT NULL, PRIMARY KEY (week, kind)){norowid}`,
	`CREATE TABLE IF NOT EXISTS tracked (week {int} NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (week, kind, value)){norowid}`,
}

func spell(stmts []string, r *strings.Replacer) []string {
	out := make([]string, len(stmts))
	for i, q := range stmts {
		out[i] = r.Replace(q)
	}
	return out
}

// SQLiteSchema is the schema in SQLite's dialect.
var SQLiteSchema = append(spell(schema, strings.NewReplacer("{int}", "INTEGER", "{blob}", "BLOB", "{serial}", "INTEGER", "{norowid}", " WITHOUT ROWID")), sqliteWriterCheck...)

// PostgresSchema is the schema in PostgreSQL's dialect.
var PostgresSchema = append(spell(schema, strings.NewReplacer("{int}", "BIGINT", "{blob}", "BYTEA", "{serial}", "BIGSERIAL", "{norowid}", "")), postgresWriterCheck...)

// upsert is a counter table's "add these deltas" statement: one row as
// the named query, several as one multi-row statement (see tx.upsert).
type upsert struct {
	name, head, tail string
	cols             int
}

const (
	serverHead  = "INSERT INTO servers(server_id, cluster_id, first_seen, last_seen, version, os, arch, payload, uptime)"
	clusterHead = "INSERT INTO clusters(cluster_id, first_seen, last_seen, version, payload, size_day, size, prev_size)"
)

var (
	upDay = upsert{"w.day", "INSERT INTO days(day, reports, servers, clusters)", `ON CONFLICT (day) DO UPDATE SET
		reports = days.reports + excluded.reports, servers = days.servers + excluded.servers, clusters = days.clusters + excluded.clusters`, 4}
	upWeek = upsert{"w.week", "INSERT INTO weeks(week, new_clusters, active_clusters)", `ON CONFLICT (week) DO UPDATE SET
		new_clusters = weeks.new_clusters + excluded.new_clusters, active_clusters = weeks.active_clusters + excluded.active_clusters`, 3}
	upWeekVer = upsert{"w.weekver", "INSERT INTO week_versions(week, version, servers)",
		`ON CONFLICT (week, version) DO UPDATE SET servers = week_versions.servers + excluded.servers`, 3}
	upActive = upsert{"w.active", "INSERT INTO active(hour, servers, clusters)",
		`ON CONFLICT (hour) DO UPDATE SET servers = active.servers + excluded.servers, clusters = active.clusters + excluded.clusters`, 3}
	upPairs = upsert{"w.pairs", "INSERT INTO latest_pairs(day, kind, value, n)",
		`ON CONFLICT (day, kind, value) DO UPDATE SET n = latest_pairs.n + excluded.n`, 4}
	upPairsWeek = upsert{"w.pairs.week", "INSERT INTO latest_pairs_weeks(week, kind, value, n)",
		`ON CONFLICT (week, kind, value) DO UPDATE SET n = latest_pairs_weeks.n + excluded.n`, 4}
	upWeekFeat = upsert{"w.weekfeat", "INSERT INTO week_features(week, feature, clusters)",
		`ON CONFLICT (week, feature) DO UPDATE SET clusters = week_features.clusters + excluded.clusters`, 3}
	upLatest = upsert{"w.latest", "INSERT INTO latest(day, kind, value, n)",
		`ON CONFLICT (day, kind, value) DO UPDATE SET n = latest.n + excluded.n`, 4}
	upLatestWeek = upsert{"w.latest.week", "INSERT INTO latest_weeks(week, kind, value, n)",
		`ON CONFLICT (week, kind, value) DO UPDATE SET n = latest_weeks.n + excluded.n`, 4}
	// The rows of the servers and clusters of a batch, written together:
	// new ones (none may exist yet: see errRace), then the others, whose
	// rows the transaction locked when it read them.
	upServerNew = upsert{"w.server.new", serverHead, "ON CONFLICT (server_id) DO NOTHING", 9}
	upServerSet = upsert{"w.server.set", serverHead, `ON CONFLICT (server_id) DO UPDATE SET
		cluster_id = excluded.cluster_id, first_seen = excluded.first_seen, last_seen = excluded.last_seen,
		version = excluded.version, os = excluded.os, arch = excluded.arch, payload = excluded.payload, uptime = excluded.uptime`, 9}
	upClusterNew = upsert{"w.cluster.new", clusterHead, "ON CONFLICT (cluster_id) DO NOTHING", 8}
	upClusterSet = upsert{"w.cluster.set", clusterHead, `ON CONFLICT (cluster_id) DO UPDATE SET
		first_seen = excluded.first_seen, last_seen = excluded.last_seen, version = excluded.version,
		payload = excluded.payload, size_day = excluded.size_day, size = excluded.size, prev_size = excluded.prev_size`, 8}
	// upMark returns the marks that were new.
	upMark = upsert{"w.mark", "INSERT INTO week_marks(week, version, server_id)",
		"ON CONFLICT (week, version, server_id) DO NOTHING RETURNING week, version", 3}
	upTotal = upsert{"w.total", "INSERT INTO totals(name, value)",
		`ON CONFLICT (name) DO UPDATE SET value = totals.value + excluded.value`, 2}
	// upSet creates a week's set with a capacity, or locks the one there
	// (PostgreSQL locks the row it updates), and returns its capacity.
	upSet = upsert{"w.set", "INSERT INTO tracked_sets(week, kind, capacity)",
		"ON CONFLICT (week, kind) DO UPDATE SET capacity = tracked_sets.capacity RETURNING capacity", 3}
	upSetMigrated = upsert{"w.set.migrated", "INSERT INTO tracked_sets(week, kind, capacity)", "ON CONFLICT (week, kind) DO NOTHING", 3}
	upTracked     = upsert{"w.tracked.add", "INSERT INTO tracked(week, kind, value)", "ON CONFLICT (week, kind, value) DO NOTHING", 3}
)

func init() {
	for _, u := range []upsert{upDay, upWeek, upWeekVer, upWeekFeat, upActive, upLatest, upLatestWeek, upPairs, upPairsWeek, upTotal,
		upServerNew, upServerSet, upClusterNew, upClusterSet, upMark, upSet, upSetMigrated, upTracked} {
		queries[u.name] = u.head + " VALUES (" + strings.Repeat("?, ", u.cols-1) + "?) " + u.tail
	}
}

// queries by name; "w." ones run inside the insert transaction. {lock}
// becomes the dialect's row lock (FOR UPDATE on PostgreSQL).
var queries = map[string]string{
	"secret.put": `INSERT INTO meta(key, value) VALUES ('token_key', ?) ON CONFLICT (key) DO NOTHING`,
	"secret.get": `SELECT value FROM meta WHERE key = 'token_key'`,

	// Reports are pruned oldest id first, looking at one batch of ids at a
	// time: ids follow the receipt order closely, so no index on
	// received_ms is needed (it would cost every insert).
	"p.reports": `DELETE FROM reports WHERE id IN
		(SELECT id FROM (SELECT id, received_ms FROM reports ORDER BY id LIMIT ?) AS head WHERE received_ms < ?)`,
	"p.stamps": `DELETE FROM stamps WHERE key IN (SELECT key FROM stamps WHERE key < ? ORDER BY key LIMIT ?)`,
	"p.marks": `DELETE FROM week_marks WHERE (week, version, server_id) IN
		(SELECT week, version, server_id FROM week_marks WHERE week < ? LIMIT ?)`,
	"p.zero":             `DELETE FROM latest WHERE n = 0`,
	"p.zero.weeks":       `DELETE FROM latest_weeks WHERE n = 0`,
	"p.zero.pairs":       `DELETE FROM latest_pairs WHERE n = 0`,
	"p.zero.pairs.weeks": `DELETE FROM latest_pairs_weeks WHERE n = 0`,

	"w.tracked.get": `SELECT value FROM tracked WHERE week = ? AND kind = ?`,
	// A new set's seed: the values that counted the most servers the
	// week before (every one of them in that week's set).
	"w.tracked.seed": `SELECT value FROM latest_weeks WHERE week = ? AND kind = ? AND n > 0 AND value <> 'other'
		ORDER BY n DESC, value LIMIT ?`,

	"r.recent": `SELECT received_ms, cluster_id, server_id, version, os, arch, uptime, report_time, extra, extra_omitted, stamp
		FROM reports ORDER BY id DESC LIMIT ?`,
	"r.export": `SELECT id, received_ms, cluster_id, server_id, version, os, arch, uptime, report_time, extra, extra_omitted, stamp
		FROM reports WHERE id >= ? AND id < ? AND received_ms >= ? AND received_ms < ? ORDER BY id LIMIT ?`,
	// Two subqueries: SQLite reads one end of the index for a lone MIN
	// or MAX, but scans the table for both in one SELECT.
	"r.idrange": `SELECT (SELECT MIN(id) FROM reports), (SELECT MAX(id) FROM reports)`,
	"r.idat":    `SELECT id, received_ms FROM reports WHERE id >= ? ORDER BY id LIMIT 1`,
	"r.totals":  `SELECT name, value FROM totals`,
	"r.active":  `SELECT hour, servers, clusters FROM active WHERE hour >= ? AND (servers <> 0 OR clusters <> 0)`,
	// The range's first days up to a Monday from latest, then whole
	// weeks from latest_weeks: 365 days read 52 weeks and a few days.
	"r.latest": `SELECT kind, value, SUM(n) FROM (
		SELECT kind, value, n FROM latest WHERE day >= ? AND day < ?
		UNION ALL SELECT kind, value, n FROM latest_weeks WHERE week >= ?) AS u GROUP BY kind, value LIMIT ` + maxLatestRows,
	"r.pairs": `SELECT kind, value, SUM(n) FROM (
		SELECT kind, value, n FROM latest_pairs WHERE day >= ? AND day < ?
		UNION ALL SELECT kind, value, n FROM latest_pairs_weeks WHERE week >= ?) AS u GROUP BY kind, value LIMIT ` + maxPairRows,
	"r.days":     `SELECT day, reports, servers, clusters FROM days WHERE day >= ?`,
	"r.weeks":    `SELECT week, new_clusters, active_clusters FROM weeks WHERE week >= ?`,
	"r.weekver":  `SELECT week, version, servers FROM week_versions WHERE week >= ? LIMIT ` + maxWeekVersionRows,
	"r.weekfeat": `SELECT week, feature, clusters FROM week_features WHERE week >= ?`,
	"r.clusters.first": `SELECT cluster_id, first_seen, last_seen, version, payload, size_day, size, prev_size
		FROM clusters ORDER BY last_seen DESC, cluster_id DESC LIMIT ?`,
	"r.clusters.after": `SELECT cluster_id, first_seen, last_seen, version, payload, size_day, size, prev_size
		FROM clusters WHERE (last_seen, cluster_id) < (?, ?) ORDER BY last_seen DESC, cluster_id DESC LIMIT ?`,
	"r.cluster": `SELECT cluster_id, first_seen, last_seen, version, payload, size_day, size, prev_size
		FROM clusters WHERE cluster_id = ?`,
	"r.cluster.servers": `SELECT server_id, first_seen, last_seen, version, os, arch, payload
		FROM servers WHERE cluster_id = ? ORDER BY last_seen DESC, server_id LIMIT ?`,
}
