package sqlstore

// Tables, shared by both dialects (the DDL differs in types only):
//
//	meta(key, value)                          the token-signing key
//	reports(id, received_ms, cluster_id, server_id, version, os, arch,
//	        uptime, report_time, extra, stamp UNIQUE)
//	servers(server_id, cluster_id, first_seen, last_seen, version, os,
//	        arch, endpoints)                  latest attributes per server
//	clusters(cluster_id, first_seen, last_seen)
//	days(day, reports, servers, clusters)     per UTC day number
//	day_servers(day, server_id), day_clusters(day, cluster_id)
//	breakdown(kind, value, servers)           servers per latest attribute
//	totals(name, value)                       reports, servers, clusters
//
// Times are Unix seconds except received_ms. No table has a column for the
// client's address.

// queries by name; "w." ones run inside the insert transaction.
var queries = map[string]string{
	"secret.put": `INSERT INTO meta(key, value) VALUES ('token_key', ?) ON CONFLICT (key) DO NOTHING`,
	"secret.get": `SELECT value FROM meta WHERE key = 'token_key'`,

	"w.report": `INSERT INTO reports(received_ms, cluster_id, server_id, version, os, arch, uptime, report_time, extra, stamp)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (stamp) DO NOTHING`,
	"w.server.get": `SELECT version, os, arch, endpoints FROM servers WHERE server_id = ?`,
	"w.server.new": `INSERT INTO servers(server_id, cluster_id, first_seen, last_seen, version, os, arch, endpoints)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
	"w.server.set": `UPDATE servers SET cluster_id = ?, version = ?, os = ?, arch = ?, endpoints = ?,
		last_seen = CASE WHEN last_seen < ? THEN ? ELSE last_seen END WHERE server_id = ?`,
	"w.cluster.new": `INSERT INTO clusters(cluster_id, first_seen, last_seen) VALUES (?, ?, ?) ON CONFLICT (cluster_id) DO NOTHING`,
	"w.cluster.set": `UPDATE clusters SET last_seen = ? WHERE cluster_id = ? AND last_seen < ?`,
	"w.day.server":  `INSERT INTO day_servers(day, server_id) VALUES (?, ?) ON CONFLICT (day, server_id) DO NOTHING`,
	"w.day.cluster": `INSERT INTO day_clusters(day, cluster_id) VALUES (?, ?) ON CONFLICT (day, cluster_id) DO NOTHING`,
	"w.day": `INSERT INTO days(day, reports, servers, clusters) VALUES (?, ?, ?, ?)
		ON CONFLICT (day) DO UPDATE SET reports = days.reports + excluded.reports,
		servers = days.servers + excluded.servers, clusters = days.clusters + excluded.clusters`,
	"w.breakdown": `INSERT INTO breakdown(kind, value, servers) VALUES (?, ?, ?)
		ON CONFLICT (kind, value) DO UPDATE SET servers = breakdown.servers + excluded.servers`,
	"w.total": `INSERT INTO totals(name, value) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET value = totals.value + excluded.value`,

	"r.recent": `SELECT received_ms, cluster_id, server_id, version, os, arch, uptime, report_time, extra, stamp
		FROM reports ORDER BY id DESC LIMIT ?`,
	"r.totals":    `SELECT name, value FROM totals`,
	"r.servers":   `SELECT COALESCE(SUM(CASE WHEN last_seen >= ? THEN 1 ELSE 0 END), 0), COALESCE(SUM(CASE WHEN last_seen >= ? THEN 1 ELSE 0 END), 0), COUNT(*) FROM servers WHERE last_seen >= ?`,
	"r.clusters":  `SELECT COALESCE(SUM(CASE WHEN last_seen >= ? THEN 1 ELSE 0 END), 0), COALESCE(SUM(CASE WHEN last_seen >= ? THEN 1 ELSE 0 END), 0), COUNT(*) FROM clusters WHERE last_seen >= ?`,
	"r.breakdown": `SELECT kind, value, servers FROM breakdown WHERE servers > 0`,
	"r.days":      `SELECT day, reports, servers, clusters FROM days WHERE day >= ?`,
}

// SQLiteSchema is the schema in SQLite's dialect.
var SQLiteSchema = []string{
	`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS reports (
		id INTEGER PRIMARY KEY,
		received_ms INTEGER NOT NULL,
		cluster_id TEXT NOT NULL,
		server_id TEXT NOT NULL,
		version TEXT NOT NULL,
		os TEXT NOT NULL,
		arch TEXT NOT NULL,
		uptime INTEGER NOT NULL,
		report_time INTEGER NOT NULL,
		extra BLOB,
		stamp TEXT NOT NULL UNIQUE)`,
	`CREATE TABLE IF NOT EXISTS servers (
		server_id TEXT PRIMARY KEY,
		cluster_id TEXT NOT NULL,
		first_seen INTEGER NOT NULL,
		last_seen INTEGER NOT NULL,
		version TEXT NOT NULL,
		os TEXT NOT NULL,
		arch TEXT NOT NULL,
		endpoints INTEGER) WITHOUT ROWID`,
	`CREATE INDEX IF NOT EXISTS servers_last_seen ON servers(last_seen)`,
	`CREATE TABLE IF NOT EXISTS clusters (
		cluster_id TEXT PRIMARY KEY,
		first_seen INTEGER NOT NULL,
		last_seen INTEGER NOT NULL) WITHOUT ROWID`,
	`CREATE INDEX IF NOT EXISTS clusters_last_seen ON clusters(last_seen)`,
	`CREATE TABLE IF NOT EXISTS days (day INTEGER PRIMARY KEY, reports INTEGER NOT NULL, servers INTEGER NOT NULL, clusters INTEGER NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS day_servers (day INTEGER NOT NULL, server_id TEXT NOT NULL, PRIMARY KEY (day, server_id)) WITHOUT ROWID`,
	`CREATE TABLE IF NOT EXISTS day_clusters (day INTEGER NOT NULL, cluster_id TEXT NOT NULL, PRIMARY KEY (day, cluster_id)) WITHOUT ROWID`,
	`CREATE TABLE IF NOT EXISTS breakdown (kind TEXT NOT NULL, value TEXT NOT NULL, servers INTEGER NOT NULL, PRIMARY KEY (kind, value)) WITHOUT ROWID`,
	`CREATE TABLE IF NOT EXISTS totals (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID`,
}

// PostgresSchema is the schema in PostgreSQL's dialect.
var PostgresSchema = []string{
	`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BYTEA NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS reports (
		id BIGSERIAL PRIMARY KEY,
		received_ms BIGINT NOT NULL,
		cluster_id TEXT NOT NULL,
		server_id TEXT NOT NULL,
		version TEXT NOT NULL,
		os TEXT NOT NULL,
		arch TEXT NOT NULL,
		uptime BIGINT NOT NULL,
		report_time BIGINT NOT NULL,
		extra BYTEA,
		stamp TEXT NOT NULL UNIQUE)`,
	`CREATE TABLE IF NOT EXISTS servers (
		server_id TEXT PRIMARY KEY,
		cluster_id TEXT NOT NULL,
		first_seen BIGINT NOT NULL,
		last_seen BIGINT NOT NULL,
		version TEXT NOT NULL,
		os TEXT NOT NULL,
		arch TEXT NOT NULL,
		endpoints BIGINT)`,
	`CREATE INDEX IF NOT EXISTS servers_last_seen ON servers(last_seen)`,
	`CREATE TABLE IF NOT EXISTS clusters (cluster_id TEXT PRIMARY KEY, first_seen BIGINT NOT NULL, last_seen BIGINT NOT NULL)`,
	`CREATE INDEX IF NOT EXISTS clusters_last_seen ON clusters(last_seen)`,
	`CREATE TABLE IF NOT EXISTS days (day BIGINT PRIMARY KEY, reports BIGINT NOT NULL, servers BIGINT NOT NULL, clusters BIGINT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS day_servers (day BIGINT NOT NULL, server_id TEXT NOT NULL, PRIMARY KEY (day, server_id))`,
	`CREATE TABLE IF NOT EXISTS day_clusters (day BIGINT NOT NULL, cluster_id TEXT NOT NULL, PRIMARY KEY (day, cluster_id))`,
	`CREATE TABLE IF NOT EXISTS breakdown (kind TEXT NOT NULL, value TEXT NOT NULL, servers BIGINT NOT NULL, PRIMARY KEY (kind, value))`,
	`CREATE TABLE IF NOT EXISTS totals (name TEXT PRIMARY KEY, value BIGINT NOT NULL)`,
}
