package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/store"
	"github.com/krakend-usage/krakend-usage/collector/store/storetest"
	"github.com/krakend-usage/krakend-usage/usage"
	"github.com/krakend-usage/krakend-usage/usage/hashcash"
)

// v1Tables are the parts of the first collector's schema that import
// reads (meta, reports) or recognises it by (breakdown), in both
// dialects, as that collector created them.
var v1Tables = map[string][]string{
	"sqlite": {
		`CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL)`,
		`CREATE TABLE reports (id INTEGER PRIMARY KEY, received_ms INTEGER NOT NULL, cluster_id TEXT NOT NULL,
			server_id TEXT NOT NULL, version TEXT NOT NULL, os TEXT NOT NULL, arch TEXT NOT NULL, uptime INTEGER NOT NULL,
			report_time INTEGER NOT NULL, extra BLOB, stamp TEXT NOT NULL UNIQUE)`,
		`CREATE TABLE breakdown (kind TEXT NOT NULL, value TEXT NOT NULL, servers INTEGER NOT NULL, PRIMARY KEY (kind, value))`,
	},
	"postgres": {
		`CREATE TABLE meta (key TEXT PRIMARY KEY, value BYTEA NOT NULL)`,
		`CREATE TABLE reports (id BIGSERIAL PRIMARY KEY, received_ms BIGINT NOT NULL, cluster_id TEXT NOT NULL,
			server_id TEXT NOT NULL, version TEXT NOT NULL, os TEXT NOT NULL, arch TEXT NOT NULL, uptime BIGINT NOT NULL,
			report_time BIGINT NOT NULL, extra BYTEA, stamp TEXT NOT NULL UNIQUE)`,
		`CREATE TABLE breakdown (kind TEXT NOT NULL, value TEXT NOT NULL, servers BIGINT NOT NULL, PRIMARY KEY (kind, value))`,
	},
}

// v1Report is a row of the old reports table.
type v1Report struct {
	ago             time.Duration
	cluster, server string
	version         string
	extra           []byte
	stamp           string
}

var oldKey = []byte("the-first-collectors-key-0123456")

// v1Stamp is a well-formed stamp, unique by n.
func v1Stamp(n int) string {
	return fmt.Sprintf("1:20:%s:stamp-%d::c2FsdA==:MTIz", time.Now().UTC().Format(hashcash.DateFormat), n)
}

// TestImportFirstVersionDatabase: the first collector's database is
// refused at start with the way out, and "import" carries its reports,
// rollups and token key over, refusing what today's rules refuse.
func TestImportFirstVersionDatabase(t *testing.T) {
	gateway := []byte(`{"endpoints":3,"methods":{"GET":3},"backends":3,"async_agents":0,"namespaces":{"router":1,"qos/ratelimit/router":2}}`)
	rows := []v1Report{
		{ago: 50 * time.Hour, cluster: "c1", server: "s1", version: "2.12.1", extra: gateway, stamp: v1Stamp(1)},
		{ago: 26 * time.Hour, cluster: "c3", server: "s2", version: "2.12.1", extra: []byte{0, 1, 'o', 'p', 'a', 'q', 'u', 'e'}, stamp: v1Stamp(2)},
		{ago: 20 * time.Hour, cluster: "c2", server: "s3", version: "2.13.2", extra: bytes.Repeat([]byte("x"), usage.MaxStoredExtra+1), stamp: v1Stamp(3)},
		{ago: 14 * time.Hour, cluster: "c1", server: "s1", version: "2.13.2", stamp: v1Stamp(4)},
		{ago: 2 * time.Hour, cluster: "c2", server: "s4", version: strings.Repeat("v", usage.MaxVersionLen+1), stamp: v1Stamp(5)}, // refused now
	}
	defer func(n int) { importPage = n }(importPage)
	importPage = 2 // three pages
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			oldDSN, newDSN := v1Database(t, kind, rows)
			ctx := context.Background()

			var out, errb bytes.Buffer
			if err := run(ctx, []string{"-db", oldDSN, "-listen", "127.0.0.1:0"}, &out, &errb); !errors.Is(err, store.ErrSchema) ||
				!strings.Contains(err.Error(), "usage-collector import -from") {
				t.Fatalf("starting on the old database: %v, want ErrSchema naming the import command", err)
			}

			out.Reset()
			if err := run(ctx, []string{"import", "-from", oldDSN, "-db", newDSN}, &out, &errb); err != nil {
				t.Fatalf("import: %v\n%s", err, errb.String())
			}
			for _, want := range []string{"imported 4 of 5 reports", "1 with their extra omitted", "refused 1 reports for their version"} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("import printed %q, want %q in it", out.String(), want)
				}
			}

			st, err := openStore(ctx, newDSN)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			s, err := st.Stats(ctx, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if s.Reports != 4 || s.Servers != 3 || s.Clusters != 3 {
				t.Errorf("reports/servers/clusters %d/%d/%d, want 4/3/3", s.Reports, s.Servers, s.Clusters)
			}
			// s1's latest report says 2.13.2; s2 is still on 2.12.1.
			versions := fmt.Sprint(s.Versions)
			if !strings.Contains(versions, "{2.13.2 2}") || !strings.Contains(versions, "{2.12.1 1}") {
				t.Errorf("versions %s, want 2.13.2 on 2 servers and 2.12.1 on 1", versions)
			}
			// Only s1 sent a gateway payload; the opaque and the omitted
			// extras count as no features.
			features := fmt.Sprint(s.Features)
			if !strings.Contains(features, "{router 1 1}") || !strings.Contains(features, "{qos/ratelimit/router 1 1}") {
				t.Errorf("features %s, want router and qos/ratelimit/router in 1 cluster on 1 server", features)
			}
			if key, err := st.Secret(ctx, []byte("another-key-of-32-bytes-01234567")); err != nil || string(key) != string(oldKey) {
				t.Errorf("token key %q (%v), want the old database's", key, err)
			}

			err = run(ctx, []string{"import", "-from", oldDSN, "-db", newDSN}, &out, &errb)
			if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "already holds 4 reports") {
				t.Errorf("a second import into the same database: %v, want a usage error", err)
			}
		})
	}
}

// v1Database creates a first-version database holding rows and returns its
// DSN and the DSN of an empty database of the same kind.
func v1Database(t *testing.T, kind string, rows []v1Report) (oldDSN, newDSN string) {
	t.Helper()
	var db *sql.DB
	var err error
	insert := `INSERT INTO reports (received_ms, cluster_id, server_id, version, os, arch, uptime, report_time, extra, stamp)
		VALUES (?, ?, ?, ?, 'linux', 'amd64', 60, ?, ?, ?)`
	key := `INSERT INTO meta (key, value) VALUES ('token_key', ?)`
	if kind == "sqlite" {
		dir := t.TempDir()
		oldDSN, newDSN = "sqlite:"+filepath.Join(dir, "v1.db"), "sqlite:"+filepath.Join(dir, "v2.db")
		db, err = sql.Open("sqlite", filepath.Join(dir, "v1.db"))
	} else {
		oldDSN, newDSN = storetest.PostgresDSN(t), storetest.PostgresDSN(t)
		db, err = sql.Open("pgx", oldDSN)
		insert = strings.NewReplacer("?, ?, ?, ?, 'linux', 'amd64', 60, ?, ?, ?", "$1, $2, $3, $4, 'linux', 'amd64', 60, $5, $6, $7").Replace(insert)
		key = strings.Replace(key, "?", "$1", 1)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range v1Tables[kind] {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if _, err := db.Exec(key, oldKey); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, r := range rows {
		at := now.Add(-r.ago)
		if _, err := db.Exec(insert, at.UnixMilli(), r.cluster, r.server, r.version, at.Unix(), r.extra, r.stamp); err != nil {
			t.Fatal(err)
		}
	}
	return oldDSN, newDSN
}
