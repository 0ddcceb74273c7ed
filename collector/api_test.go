package collector

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/store"
	"github.com/krakend-usage/krakend-usage/collector/store/postgres"
	"github.com/krakend-usage/krakend-usage/collector/store/sqlite"
	"github.com/krakend-usage/krakend-usage/collector/store/storetest"
	"github.com/krakend-usage/krakend-usage/usage"
)

// onBothBackends runs f against a collector over a fresh SQLite file and
// over a fresh PostgreSQL schema (skipped without USAGE_TEST_POSTGRES_DSN).
func onBothBackends(t *testing.T, f func(t *testing.T, open func() store.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "usage.db")
		f(t, func() store.Store {
			st, err := sqlite.Open(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		})
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := storetest.PostgresDSN(t)
		f(t, func() store.Store {
			st, err := postgres.Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		})
	})
}

// clock is a settable Config.Now.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

func serve(t *testing.T, st store.Store, cfg Config) (*Server, string) {
	t.Helper()
	cfg.Bits, cfg.Secret = testBits, testKey
	srv, err := New(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return srv, ts.URL
}

// get fetches url and decodes its JSON answer into v (when not nil).
func getJSON(t *testing.T, url string, v any) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if v != nil && resp.StatusCode == 200 {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: %v in %q", url, err, body)
		}
	}
	return resp.StatusCode, string(body)
}

// waitStored polls /api/stats until n reports are stored.
func waitStored(t *testing.T, url string, n int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var st store.Stats
		getJSON(t, url+"/api/stats", &st)
		if st.Reports >= n {
			if st.Reports > n {
				t.Fatalf("%d reports stored, want %d", st.Reports, n)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d reports stored after 30s, want %d", st.Reports, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func gatewayPayload(endpoints, backends int, methods, namespaces map[string]int) []byte {
	b, _ := json.Marshal(map[string]any{"endpoints": endpoints, "backends": backends, "methods": methods, "namespaces": namespaces})
	return b
}

// TestStatsAPI sends reports through the real HTTP path with our reporter
// and checks every field of /api/stats and /api/clusters.
func TestFleetAPI(t *testing.T) {
	onBothBackends(t, func(t *testing.T, open func() store.Store) {
		clk := &clock{}
		srv, url := serve(t, open(), Config{Now: clk.now, Retention: time.Minute})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		big := gatewayPayload(20, 30, map[string]int{"GET": 15, "POST": 5}, map[string]int{"qos/ratelimit/router": 2, "auth/validator": 1})
		small := gatewayPayload(4, 4, map[string]int{"GET": 4}, map[string]int{"qos/ratelimit/router": 1})
		fleet := []struct {
			cluster, server, version string
			extra                    []byte
		}{
			{"cluster-a", "a1", "2.13.2", big},
			{"cluster-a", "a2", "2.13.2", big},
			{"cluster-b", "b1", "2.12.0", small},
			{"cluster-c", "c1", "2.13.2", []byte("opaque, not the gateway's JSON")},
		}
		for _, f := range fleet {
			if err := usage.Report(ctx, usage.Options{ClusterID: f.cluster, ServerID: f.server, URL: url, Version: f.version,
				HashBits: testBits, ExtraPayload: f.extra, ReportLapse: time.Hour, Client: &http.Client{}}, nil); err != nil {
				t.Fatal(err)
			}
		}
		waitStored(t, url, int64(len(fleet)))

		var st store.Stats
		if code, body := getJSON(t, url+"/api/stats", &st); code != 200 {
			t.Fatalf("GET /api/stats: %d %s", code, body)
		}
		if st.Reports != 4 || st.RetainedReports != 4 || st.Servers != 4 || st.Clusters != 3 || st.RangeDays != 30 || len(st.Days) != 30 {
			t.Errorf("totals: reports %d retained %d servers %d clusters %d range %d days %d",
				st.Reports, st.RetainedReports, st.Servers, st.Clusters, st.RangeDays, len(st.Days))
		}
		if want := (store.Active{Day: 4, Week: 4, Month: 4, Range: 4}); st.ActiveServers != want {
			t.Errorf("active servers %+v, want %+v", st.ActiveServers, want)
		}
		wantF := []store.Feature{{Value: "qos/ratelimit/router", Clusters: 2, Servers: 3}, {Value: "auth/validator", Clusters: 1, Servers: 2}}
		if !reflect.DeepEqual(st.Features, wantF) {
			t.Errorf("features %+v, want %+v", st.Features, wantF)
		}
		wantM := []store.Feature{{Value: "GET", Clusters: 2, Servers: 3}, {Value: "POST", Clusters: 1, Servers: 2}}
		if !reflect.DeepEqual(st.Methods, wantM) {
			t.Errorf("methods %+v, want %+v", st.Methods, wantM)
		}
		week := st.VersionsWeekly[len(st.VersionsWeekly)-1]
		if len(st.VersionsWeekly) != store.Weeks || !reflect.DeepEqual(week.Versions, []store.Count{{Value: "2.13.2", Servers: 3}, {Value: "2.12.0", Servers: 1}}) {
			t.Errorf("versions_weekly: %d weeks, this week %+v", len(st.VersionsWeekly), week)
		}
		if g := st.Growth[len(st.Growth)-1]; g.NewClusters != 3 || g.ActiveClusters != 3 || g.ChurnedClusters != 0 {
			t.Errorf("growth this week %+v, want 3 new, 3 active", g)
		}
		sizes := map[string]int64{}
		for _, s := range st.ServersPerCluster {
			sizes[s.Value] = s.Clusters
		}
		if sizes["1"] != 2 || sizes["2"] != 1 {
			t.Errorf("servers per cluster %+v, want 2 of 1 and 1 of 2", st.ServersPerCluster)
		}
		bpe := map[string]int64{}
		for _, c := range st.BackendsPerEndpoint {
			bpe[c.Value] = c.Servers
		}
		if bpe["1-2"] != 2 || bpe["1"] != 1 {
			t.Errorf("backends per endpoint %+v, want 2 at 1-2, 1 at 1", st.BackendsPerEndpoint)
		}
		if today := st.Days[29]; today.Reports != 4 || today.Servers != 4 || today.Clusters != 3 {
			t.Errorf("today %+v", today)
		}

		// ?days=N
		var st90 store.Stats
		if code, _ := getJSON(t, url+"/api/stats?days=90", &st90); code != 200 || len(st90.Days) != 90 || st90.RangeDays != 90 || len(st90.Growth) < 13 {
			t.Errorf("days=90: %d, %d days, %d growth weeks", code, len(st90.Days), len(st90.Growth))
		}
		for _, bad := range []string{"6", "366", "abc", "", "30.5"} {
			code, body := getJSON(t, url+"/api/stats?days="+bad, nil)
			if code != 400 || !strings.Contains(body, "days") {
				t.Errorf("days=%q: got %d %s, want 400 naming days", bad, code, body)
			}
		}

		// /api/stats.csv
		for series, header := range map[string]string{"days": "date,reports,servers,clusters", "versions_weekly": "week,version,servers",
			"growth": "week,new_clusters,churned_clusters,active_clusters", "features": "feature,clusters,servers,active_clusters"} {
			code, body := getJSON(t, url+"/api/stats.csv?series="+series, nil)
			rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
			if code != 200 || err != nil || strings.Join(rows[0], ",") != header {
				t.Errorf("csv %s: %d %v %q", series, code, err, body)
				continue
			}
			if series == "features" && !reflect.DeepEqual(rows[1], []string{"qos/ratelimit/router", "2", "3", "3"}) {
				t.Errorf("csv features row %v", rows[1])
			}
			if series == "days" && len(rows) != 31 {
				t.Errorf("csv days: %d rows, want header + 30", len(rows))
			}
		}
		if code, body := getJSON(t, url+"/api/stats.csv?series=nope", nil); code != 400 || !strings.Contains(body, "series") {
			t.Errorf("csv bad series: %d %s", code, body)
		}

		// /api/clusters, one per page.
		var ids []string
		after := ""
		for range 5 {
			var p store.ClusterPage
			if code, body := getJSON(t, url+"/api/clusters?limit=1&after="+after, &p); code != 200 {
				t.Fatalf("clusters: %d %s", code, body)
			}
			for _, c := range p.Clusters {
				ids = append(ids, c.ClusterID)
			}
			if after = p.Next; after == "" {
				break
			}
		}
		if len(ids) != 3 {
			t.Errorf("paged through clusters %v, want 3", ids)
		}
		for _, q := range []string{"limit=0", "limit=501", "limit=x", "after=@@"} {
			code, body := getJSON(t, url+"/api/clusters?"+q, nil)
			if name, _, _ := strings.Cut(q, "="); code != 400 || !strings.Contains(body, name) {
				t.Errorf("clusters?%s: got %d %s, want 400 naming %s", q, code, body, name)
			}
		}
		var a store.ClusterDetail
		if code, body := getJSON(t, url+"/api/clusters/cluster-a", &a); code != 200 || len(a.Servers) != 2 || a.ActiveServers != 2 ||
			a.Version != "2.13.2" || a.Endpoints != 20 || !reflect.DeepEqual(a.Features, []string{"auth/validator", "qos/ratelimit/router"}) {
			t.Errorf("cluster-a: %d %s", code, body)
		}
		if code, _ := getJSON(t, url+"/api/clusters/unknown", nil); code != 404 {
			t.Errorf("unknown cluster: %d, want 404", code)
		}

		// Retention: the raw reports go, no answer changes.
		clk.advance(2 * time.Minute)
		answers := func() map[string]string {
			out := map[string]string{}
			for _, u := range []string{"/api/stats", "/api/stats?days=7", "/api/stats?days=365", "/api/clusters", "/api/clusters/cluster-a",
				"/api/stats.csv?series=growth", "/api/stats.csv?series=features"} {
				_, body := getJSON(t, url+u, nil)
				var m map[string]any
				if json.Unmarshal([]byte(body), &m) == nil {
					delete(m, "retained_reports")
					delete(m, "generated")
					b, _ := json.Marshal(m)
					body = string(b)
				}
				out[u] = body
			}
			return out
		}
		before := answers()
		n, err := srv.Prune(context.Background())
		if err != nil || n != 4 {
			t.Fatalf("Prune: %d, %v, want 4 deleted", n, err)
		}
		var after2 store.Stats
		getJSON(t, url+"/api/stats", &after2)
		if after2.RetainedReports != 0 || after2.Reports != 4 {
			t.Errorf("after pruning: retained %d reports %d, want 0 and 4", after2.RetainedReports, after2.Reports)
		}
		for u, b := range answers() {
			if b != before[u] {
				t.Errorf("%s changed by pruning:\nbefore %s\nafter  %s", u, before[u], b)
			}
		}
	})
}

func TestRetentionConfig(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "usage.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, err = New(st, Config{Secret: testKey, Retention: time.Second})
	if ce, ok := err.(*ConfigError); !ok || ce.Field != "Retention" {
		t.Errorf("Retention 1s: got %v, want a ConfigError naming Retention", err)
	}
	s, err := New(st, Config{Secret: testKey})
	if err != nil || s.cfg.Retention != DefaultRetention {
		t.Errorf("default retention: %v, %v", err, s.cfg.Retention)
	}
}

// TestFleetMetrics: with FleetMetrics, /metrics has the fleet gauges,
// their label values bounded by the stats breakdowns.
func TestFleetMetrics(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "usage.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	for i := range 30 {
		r := &store.Report{Received: now, ReportTime: now, ClusterID: fmt.Sprint("c", i%3), ServerID: fmt.Sprint("s", i),
			Version: fmt.Sprintf("2.%d.0", i), OS: "linux", Arch: "arm64", Stamp: fmt.Sprint("1:8:", now.Format("060102"), ":m", i, "::s:0"),
			Extra: gatewayPayload(3, 3, map[string]int{"GET": 3}, map[string]int{"router": 1})}
		if err := st.Insert(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	_, url := serve(t, st, Config{FleetMetrics: true})
	_, body := getJSON(t, url+"/metrics", nil)
	for _, want := range []string{`usage_fleet_active{kind="servers",window="24h"} 30`, `usage_fleet_active{kind="clusters",window="30d"} 3`,
		`usage_fleet_servers_by_platform{arch="arm64",os="linux"} 30`, `usage_fleet_clusters_by_feature{feature="router"} 3`,
		`usage_fleet_servers_by_feature{feature="router"} 30`, `usage_fleet_servers_by_version{version="other"} 15`, `usage_fleet_reports{stored="kept"} 30`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if n := strings.Count(body, "usage_fleet_servers_by_version{"); n != store.TopValues+1 {
		t.Errorf("%d version series, want %d (top values and other)", n, store.TopValues+1)
	}
	_, url = serve(t, st, Config{})
	if _, body := getJSON(t, url+"/metrics", nil); strings.Contains(body, "usage_fleet_") {
		t.Error("fleet gauges exported without FleetMetrics")
	}
}

// TestGrafanaDashboard: the shipped dashboard is valid JSON and every
// usage_* metric its queries use is one the collector exports.
func TestGrafanaDashboard(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("grafana", "fleet.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("grafana/fleet.json: %v", err)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "usage.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	r := &store.Report{Received: now, ReportTime: now, ClusterID: "c", ServerID: "s", Version: "2.13.2", OS: "linux", Arch: "amd64",
		Stamp: "1:8:" + now.Format("060102") + ":g::s:0", Extra: gatewayPayload(3, 3, nil, map[string]int{"router": 1})}
	if err := st.Insert(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	_, url := serve(t, st, Config{FleetMetrics: true})
	_, metrics := getJSON(t, url+"/metrics", nil)
	metric := regexp.MustCompile(`usage_[a-z_]+`)
	if len(d.Panels) < 6 {
		t.Errorf("%d panels", len(d.Panels))
	}
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			for _, m := range metric.FindAllString(q.Expr, -1) {
				if !strings.Contains(metrics, "# TYPE "+m+" ") {
					t.Errorf("panel %q queries %s, which /metrics does not export", p.Title, m)
				}
			}
		}
	}
}
