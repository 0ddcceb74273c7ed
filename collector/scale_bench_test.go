package collector

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/store"
	"github.com/krakend-usage/krakend-usage/collector/store/postgres"
	"github.com/krakend-usage/krakend-usage/collector/store/sqlite"
	"github.com/krakend-usage/krakend-usage/collector/store/storetest"
)

// ScaleEnv turns the scale benchmark on: "1" for 10,000,000 reports from
// 1,000,000 servers in 100,000 clusters, or "REPORTS/SERVERS/CLUSTERS".
// It is off by default: seeding takes minutes and gigabytes.
const ScaleEnv = "USAGE_BENCH_SCALE"

func scaleFromEnv(b *testing.B) storetest.Scale {
	v := os.Getenv(ScaleEnv)
	if v == "" {
		b.Skip("scale benchmark skipped: set " + ScaleEnv + "=1 (10M reports, 1M servers, 100k clusters) or REPORTS/SERVERS/CLUSTERS")
	}
	s := storetest.Scale{Reports: 10_000_000, Servers: 1_000_000, Clusters: 100_000}
	if v != "1" {
		if _, err := fmt.Sscanf(v, "%d/%d/%d", &s.Reports, &s.Servers, &s.Clusters); err != nil {
			b.Fatalf("%s=%q: want 1 or REPORTS/SERVERS/CLUSTERS", ScaleEnv, v)
		}
	}
	return s
}

// BenchmarkStatsScale times every /api/stats variant, /api/clusters (first
// and a deep page) and one cluster over loopback, on SQLite and
// PostgreSQL seeded by bulk SQL (see storetest.SeedScale).
func BenchmarkStatsScale(b *testing.B) {
	sc := scaleFromEnv(b)
	onBenchBackends(b, "&_pragma=synchronous(OFF)", func(b *testing.B, be benchBackend) {
		benchScale(b, be, sc)
	})
}

// benchBackend is one fresh database for a benchmark: the store on it, a
// second handle for bulk SQL, its dialect, and its size on disk.
type benchBackend struct {
	store   store.Store
	db      *sql.DB
	dialect string
	size    func() int64
}

// onBenchBackends runs fn on a fresh SQLite file and, when
// USAGE_TEST_POSTGRES_DSN is set, on a fresh PostgreSQL schema.
// sqlitePragmas are added to the second handle's SQLite DSN.
func onBenchBackends(b *testing.B, sqlitePragmas string, fn func(*testing.B, benchBackend)) {
	b.Run("sqlite", func(b *testing.B) {
		path := filepath.Join(b.TempDir(), "usage.db")
		st, err := sqlite.Open(context.Background(), path)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(60000)"+sqlitePragmas)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		fn(b, benchBackend{store: st, db: db, dialect: "sqlite", size: func() int64 {
			// The database proper: the WAL is copied back first.
			if _, err := db.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
				b.Fatal(err)
			}
			fi, err := os.Stat(path)
			if err != nil {
				b.Fatal(err)
			}
			return fi.Size()
		}})
	})
	b.Run("postgres", func(b *testing.B) {
		if os.Getenv(storetest.PostgresEnv) == "" {
			b.Skip("PostgreSQL benchmark skipped: set " + storetest.PostgresEnv)
		}
		dsn := storetest.PostgresDSN(b)
		st, err := postgres.Open(context.Background(), dsn)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		fn(b, benchBackend{store: st, db: db, dialect: "postgres", size: func() int64 { return pgSize(b, db) }})
	})
}

func benchScale(b *testing.B, be benchBackend, sc storetest.Scale) {
	start := time.Now()
	if err := storetest.SeedScale(context.Background(), be.db, be.dialect, sc); err != nil {
		b.Fatal(err)
	}
	b.Logf("%s: seeded %d reports, %d servers, %d clusters in %s; database %d MB", be.dialect, sc.Reports, sc.Servers, sc.Clusters,
		time.Since(start).Round(time.Second), be.size()>>20)
	ts := benchServer(b, be.store)
	var page store.ClusterPage
	deep := ""
	for range 3 { // a cursor a few pages in
		getJSONB(b, ts.URL+"/api/clusters?limit=500&after="+deep, &page)
		deep = page.Next
	}
	for _, path := range []string{"/api/stats?days=7", "/api/stats", "/api/stats?days=90", "/api/stats?days=365",
		"/api/stats.csv?series=features&days=365", "/api/clusters?limit=100", "/api/clusters?limit=100&after=" + deep,
		"/api/clusters/cl-42", "/api/stats.csv?series=features_weekly", "/api/stats.csv?series=feature_versions&days=365",
		"/public/stats.json", "/api/reports.ndjson?day=" + time.Now().UTC().AddDate(0, 0, -100).Format(time.DateOnly)} {
		b.Run(path, func(b *testing.B) {
			var worst time.Duration
			for b.Loop() {
				t0 := time.Now()
				resp, err := http.Get(ts.URL + path)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("GET %s: %d", path, resp.StatusCode)
				}
				worst = max(worst, time.Since(t0))
			}
			b.ReportMetric(float64(worst.Microseconds())/1000, "worst-ms")
		})
	}
}

func getJSONB(b *testing.B, url string, v any) {
	resp, err := http.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		b.Fatal(err)
	}
}

// pgSize is the size of the tables of the connection's schema.
func pgSize(b *testing.B, db *sql.DB) int64 {
	var n int64
	if err := db.QueryRow(`SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c
		JOIN pg_namespace ns ON ns.oid = c.relnamespace WHERE ns.nspname = current_schema() AND c.relkind = 'r'`).Scan(&n); err != nil {
		b.Fatal(err)
	}
	return n
}
