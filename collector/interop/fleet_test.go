package interop

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	original "github.com/krakend/krakend-usage/v2"

	"github.com/krakend-usage/krakend-usage/collector"
	"github.com/krakend-usage/krakend-usage/collector/store"
	"github.com/krakend-usage/krakend-usage/collector/store/postgres"
	"github.com/krakend-usage/krakend-usage/collector/store/sqlite"
	"github.com/krakend-usage/krakend-usage/collector/store/storetest"
	"github.com/krakend-usage/krakend-usage/usage"
)

// TestFleetStats: the original v2.1.0 client and our reporter report to
// one collector, on SQLite and on PostgreSQL. The original's opaque extra
// counts as a cluster with no features; our gateway payload's namespaces
// and methods are counted; both show in versions_weekly and the cluster
// list.
func TestFleetStats(t *testing.T) {
	backends := map[string]func(t *testing.T) store.Store{
		"sqlite": func(t *testing.T) store.Store {
			st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "usage.db"))
			if err != nil {
				t.Fatal(err)
			}
			return st
		},
		"postgres": func(t *testing.T) store.Store {
			st, err := postgres.Open(context.Background(), storetest.PostgresDSN(t))
			if err != nil {
				t.Fatal(err)
			}
			return st
		},
	}
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			t.Cleanup(func() { st.Close() })
			srv, err := collector.New(st, collector.Config{Bits: 8, Secret: []byte("interop-test-key-0123456789")})
			if err != nil {
				t.Fatal(err)
			}
			ts := httptest.NewServer(srv)
			t.Cleanup(ts.Close)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()

			opaque := []byte{0x00, 0x01, 'n', 'o', 't', ' ', 'j', 's', 'o', 'n'}
			if err := original.Report(ctx, original.Options{ClusterID: "orig-cluster", ServerID: "orig-server", URL: ts.URL,
				Version: "2.1.0", HashBits: 8, ExtraPayload: opaque, ReportLapse: time.Hour}, nil); err != nil {
				t.Fatalf("original Report: %v", err)
			}
			payload := []byte(`{"endpoints":6,"methods":{"GET":4,"POST":2},"backends":6,"async_agents":0,"namespaces":{"router":1,"qos/circuit-breaker":3}}`)
			for _, s := range []string{"ours-1", "ours-2"} {
				if err := usage.Report(ctx, usage.Options{ClusterID: "ours-cluster", ServerID: s, URL: ts.URL, Version: "2.13.2",
					HashBits: 8, ExtraPayload: payload, ReportLapse: time.Hour, Client: &http.Client{}}, nil); err != nil {
					t.Fatal(err)
				}
			}
			waitReports(t, st, 3)

			var stats store.Stats
			getJSON(t, ts.URL+"/api/stats?days=7", &stats)
			wantF := []store.Feature{{Value: "qos/circuit-breaker", Clusters: 1, Servers: 2}, {Value: "router", Clusters: 1, Servers: 2}}
			if !reflect.DeepEqual(stats.Features, wantF) {
				t.Errorf("features %+v, want %+v (the original's cluster has none)", stats.Features, wantF)
			}
			if stats.ActiveClusters.Range != 2 || stats.ActiveServers.Range != 3 {
				t.Errorf("active in range: %d clusters, %d servers, want 2 and 3", stats.ActiveClusters.Range, stats.ActiveServers.Range)
			}
			week := stats.VersionsWeekly[len(stats.VersionsWeekly)-1]
			if !reflect.DeepEqual(week.Versions, []store.Count{{Value: "2.13.2", Servers: 2}, {Value: "2.1.0", Servers: 1}}) {
				t.Errorf("versions this week %+v", week)
			}
			if g := stats.Growth[len(stats.Growth)-1]; g.NewClusters != 2 || g.ActiveClusters != 2 {
				t.Errorf("growth this week %+v, want 2 new, 2 active", g)
			}
			var page store.ClusterPage
			getJSON(t, ts.URL+"/api/clusters", &page)
			byID := map[string]store.ClusterRow{}
			for _, c := range page.Clusters {
				byID[c.ClusterID] = c
			}
			if o := byID["orig-cluster"]; o.Version != "2.1.0" || o.ActiveServers != 1 || o.Endpoints != -1 || len(o.Features) != 0 {
				t.Errorf("original's cluster: %+v", o)
			}
			if c := byID["ours-cluster"]; c.Version != "2.13.2" || c.ActiveServers != 2 || c.Endpoints != 6 || len(c.Features) != 2 {
				t.Errorf("our cluster: %+v", c)
			}
			if page.Next != "" || len(page.Clusters) != 2 {
				t.Errorf("clusters page: %d rows, next %q", len(page.Clusters), page.Next)
			}
		})
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}
