package collector

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/store"
	"github.com/krakend-usage/krakend-usage/usage"
	"github.com/krakend-usage/krakend-usage/usage/krakend"
)

// insightsFleet is what TestInsightsAPI sends: seven single-server
// clusters. Six use router and run as the plugin on musl; four of them
// (fewer than the public view's k of 5) use qos/http-cache, one of them
// under its legacy name; one uses a name usage/krakend does not know; the
// seventh is an older gateway that says nothing of its channel.
type fleetMember struct {
	cluster, server, version string
	uptime                   time.Duration
	extra                    []byte
}

func insightsFleet() []fleetMember {
	payload := func(ns map[string]int, mode, libc string) []byte {
		return krakend.Payload{Endpoints: 10, Backends: 12, Methods: map[string]int{"GET": 10}, Namespaces: ns, Mode: mode, Libc: libc}.JSON()
	}
	var out []fleetMember
	for i := range 6 {
		ns := map[string]int{"router": 1}
		switch {
		case i == 0:
			ns["github.com/devopsfaith/krakend-httpcache"] = 1
		case i < 4:
			ns["qos/http-cache"] = 1
		case i == 4:
			ns["my/secret-plugin"] = 1
		}
		out = append(out, fleetMember{fmt.Sprintf("cluster-%d", i), fmt.Sprintf("server-%d", i), "2.13.2",
			time.Duration(i+1) * time.Hour, payload(ns, krakend.ModePlugin, krakend.LibcMusl)})
	}
	old := payload(map[string]int{"router": 1}, "", "")
	return append(out, fleetMember{"cluster-old", "server-old", "2.12.0", 0, old})
}

// TestInsightsAPI sends reports through the real HTTP path with our
// reporter and checks the fleet insights: features_weekly,
// feature_versions, cluster_versions, channels and distributions in
// /api/stats and its CSV, the export, and the public view.
func TestInsightsAPI(t *testing.T) {
	onBothBackends(t, func(t *testing.T, open func() store.Store) {
		st := open()
		_, url := serve(t, st, Config{Public: true})
		// The public view the next day, of clusters established the day
		// they start.
		_, publicURL := serve(t, st, Config{Public: true, PublicEstablishedDays: 1,
			Now: func() time.Time { return time.Now().Add(24 * time.Hour) }})
		ctx := context.Background()
		fleet := insightsFleet()
		for _, f := range fleet {
			opt := usage.Options{ClusterID: f.cluster, ServerID: f.server, URL: url, Version: f.version,
				HashBits: testBits, ExtraPayload: f.extra, ReportLapse: time.Hour, Client: &http.Client{}}
			if err := usage.Report(ctx, opt, nil); err != nil {
				t.Fatal(err)
			}
		}
		waitStored(t, url, int64(len(fleet)))

		var stats store.Stats
		if code, body := getJSON(t, url+"/api/stats", &stats); code != 200 {
			t.Fatalf("GET /api/stats: %d %s", code, body)
		}
		wantF := []store.Feature{{Value: "router", Clusters: 7, Servers: 7}, {Value: "qos/http-cache", Clusters: 4, Servers: 4},
			{Value: "other", Clusters: 1, Servers: 1}}
		if !reflect.DeepEqual(stats.Features, wantF) {
			t.Errorf("features %+v, want %+v (legacy name under the current one, unknown as other)", stats.Features, wantF)
		}
		week := stats.FeaturesWeekly[len(stats.FeaturesWeekly)-1]
		if len(stats.FeaturesWeekly) != store.Weeks || week.ActiveClusters != 7 ||
			!reflect.DeepEqual(week.Features, []store.Size{{Value: "router", Clusters: 7}, {Value: "qos/http-cache", Clusters: 4}, {Value: "other", Clusters: 1}}) {
			t.Errorf("features_weekly: %d weeks, this week %+v", len(stats.FeaturesWeekly), week)
		}
		wantFV := []store.FeatureVersions{
			{Feature: "router", Clusters: 7, Versions: []store.Size{{Value: "2.13.2", Clusters: 6}, {Value: "2.12.0", Clusters: 1}}},
			{Feature: "qos/http-cache", Clusters: 4, Versions: []store.Size{{Value: "2.13.2", Clusters: 4}}},
			{Feature: "other", Clusters: 1, Versions: []store.Size{{Value: "2.13.2", Clusters: 1}}},
		}
		if !reflect.DeepEqual(stats.FeatureVersions, wantFV) {
			t.Errorf("feature_versions %+v\nwant %+v", stats.FeatureVersions, wantFV)
		}
		wantCh := []store.Feature{{Value: "plugin/musl", Clusters: 6, Servers: 6}, {Value: "unknown/unknown", Clusters: 1, Servers: 1}}
		if !reflect.DeepEqual(stats.Channels.Channel, wantCh) || stats.Channels.Mode[0] != (store.Feature{Value: "plugin", Clusters: 6, Servers: 6}) ||
			stats.Channels.Libc[0] != (store.Feature{Value: "musl", Clusters: 6, Servers: 6}) {
			t.Errorf("channels %+v, want %+v", stats.Channels, wantCh)
		}
		if d := stats.Distributions; len(d.UptimeByVersion) != 2 || d.UptimeByVersion[0].Value != "2.13.2" || d.UptimeByVersion[0].N != 6 ||
			d.EndpointsPerCluster != (store.Percentiles{N: 7, P50: 10, P90: 10, P99: 10}) ||
			d.ServersPerCluster != (store.Percentiles{N: 7, P50: 1, P90: 1, P99: 1}) || d.BackendsPerCluster.P50 != 12 {
			t.Errorf("distributions %+v", d)
		}

		for series, header := range map[string]string{"features_weekly": "week,feature,clusters,active_clusters",
			"feature_versions": "feature,version,clusters"} {
			code, body := getJSON(t, url+"/api/stats.csv?series="+series, nil)
			rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
			if code != 200 || err != nil || len(rows) < 2 || strings.Join(rows[0], ",") != header {
				t.Errorf("csv %s: %d %v %q", series, code, err, body)
				continue
			}
			last := rows[len(rows)-1]
			if series == "features_weekly" && !reflect.DeepEqual(last, []string{week.Week, "other", "1", "7"}) {
				t.Errorf("csv features_weekly last row %v", last)
			}
			if series == "feature_versions" && !reflect.DeepEqual(rows[1], []string{"router", "2.13.2", "6"}) {
				t.Errorf("csv feature_versions first row %v", rows[1])
			}
		}

		testExportAPI(t, url, fleet)
		testPublicView(t, publicURL, fleet)
	})
}

// testExportAPI: /api/reports.ndjson gives today's reports with their
// wire fields, plain and gzip, and refuses a bad day.
func testExportAPI(t *testing.T, url string, fleet []fleetMember) {
	today := time.Now().UTC().Format(time.DateOnly)
	for _, gz := range []bool{false, true} {
		req, _ := http.NewRequest("GET", url+"/api/reports.ndjson?day="+today, nil)
		if gz {
			req.Header.Set("Accept-Encoding", "gzip")
		} else {
			req.Header.Set("Accept-Encoding", "identity")
		}
		resp, err := http.DefaultTransport.RoundTrip(req) // no transparent gunzip
		if err != nil {
			t.Fatal(err)
		}
		var body io.Reader = resp.Body
		if gz {
			if resp.Header.Get("Content-Encoding") != "gzip" {
				t.Errorf("export with Accept-Encoding gzip: Content-Encoding %q", resp.Header.Get("Content-Encoding"))
			}
			zr, err := gzip.NewReader(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			body = zr
		}
		seen := map[string]bool{}
		sc := bufio.NewScanner(body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var line struct {
				usage.UsageData
				Pow      string    `json:"pow"`
				Received time.Time `json:"received"`
			}
			if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
				t.Fatalf("export line %q: %v", sc.Bytes(), err)
			}
			if line.Received.IsZero() || line.Pow == "" || line.Time == 0 || len(line.Extra) == 0 || line.Received.Format(time.DateOnly) != today {
				t.Errorf("export line %s lacks a field", sc.Bytes())
			}
			seen[line.ServerID] = true
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-ndjson" || len(seen) != len(fleet) {
			t.Errorf("export (gzip %v): %d %s, %d servers, want %d", gz, resp.StatusCode, resp.Header.Get("Content-Type"), len(seen), len(fleet))
		}
	}
	for _, bad := range []string{"", "2026-13-01", "yesterday", time.Now().UTC().AddDate(0, 0, 2).Format(time.DateOnly)} {
		if code, body := getJSON(t, url+"/api/reports.ndjson?day="+bad, nil); code != 400 || !strings.Contains(body, "day") {
			t.Errorf("export day=%q: %d %s, want 400 naming day", bad, code, body)
		}
	}
	old := time.Now().UTC().AddDate(0, 0, -3).Format(time.DateOnly)
	if code, body := getJSON(t, url+"/api/reports.ndjson?day="+old, nil); code != 200 || body != "" {
		t.Errorf("export of a day without reports: %d %q, want 200 and nothing", code, body)
	}
}

// testPublicView: the public answers show the aggregates rounded down to
// a multiple of k, never an ID, never a feature of fewer than k clusters
// by name, and are cacheable.
func testPublicView(t *testing.T, url string, fleet []fleetMember) {
	var bodies []string
	for _, path := range []string{"/public/stats.json", "/public"} {
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		tag := resp.Header.Get("ETag")
		if resp.StatusCode != 200 || tag == "" || !strings.Contains(resp.Header.Get("Cache-Control"), "max-age") {
			t.Fatalf("GET %s: %d ETag %q Cache-Control %q", path, resp.StatusCode, tag, resp.Header.Get("Cache-Control"))
		}
		bodies = append(bodies, string(b))
		req, _ := http.NewRequest("GET", url+path, nil)
		req.Header.Set("If-None-Match", tag)
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotModified {
			t.Errorf("GET %s with If-None-Match %s: %d, want 304", path, tag, resp.StatusCode)
		}
		saveScreenshot(t, map[string]string{"/public": "public.html", "/public/stats.json": "public-stats.json"}[path], b)
	}
	for _, b := range bodies {
		for _, f := range fleet {
			if strings.Contains(b, f.cluster) || strings.Contains(b, f.server) {
				t.Errorf("an ID (%s or %s) is in the public view:\n%s", f.cluster, f.server, b)
			}
		}
		for _, hidden := range []string{"qos/http-cache", "krakend-httpcache", "secret-plugin", "2.12.0"} {
			if strings.Contains(b, hidden) {
				t.Errorf("%q, seen in fewer than 5 clusters, is in the public view:\n%s", hidden, b)
			}
		}
	}
	var p struct {
		ActiveClusters int                 `json:"active_clusters"`
		ActiveServers  int                 `json:"active_servers"`
		Features       []store.PublicEntry `json:"features"`
		Mode           []store.PublicEntry `json:"mode"`
	}
	if err := json.Unmarshal([]byte(bodies[0]), &p); err != nil {
		t.Fatalf("public stats: %v in %s", err, bodies[0])
	}
	// 7 clusters: 5, and no server known yet (each reported on one day
	// only); router in 7: 5, the 4 of qos/http-cache and the 1 of an
	// unknown name: other 5; plugin in 6: 5, and the one cluster that
	// does not say is not shown (7 rounds to 5, less 5).
	if p.ActiveClusters != 5 || p.ActiveServers != 0 ||
		!reflect.DeepEqual(p.Features, []store.PublicEntry{{Value: "router", Clusters: 5}, {Value: "other", Clusters: 5}}) ||
		!reflect.DeepEqual(p.Mode, []store.PublicEntry{{Value: "plugin", Clusters: 5}}) {
		t.Errorf("public stats %s: want 5 clusters, 0 servers, router 5 and other 5, plugin 5", bodies[0])
	}
	if !strings.Contains(bodies[1], "<b>5–9</b> clusters") {
		t.Errorf("public page: the clusters not shown as the range 5–9:\n%s", bodies[1])
	}
}

// TestFeaturesAllowlist: a name the operator listed (Config.Features, the
// -features file) counts by name; one nobody listed counts as other.
func TestFeaturesAllowlist(t *testing.T) {
	onBothBackends(t, func(t *testing.T, open func() store.Store) {
		_, url := serve(t, open(), Config{Features: []string{"my/plugin"}})
		extra := krakend.Payload{Endpoints: 1, Methods: map[string]int{"GET": 1},
			Namespaces: map[string]int{"my/plugin": 1, "their/plugin": 1, "router": 1}}.JSON()
		if err := usage.Report(context.Background(), usage.Options{ClusterID: "c", ServerID: "s", URL: url, Version: "2.13.2",
			HashBits: testBits, ExtraPayload: extra, ReportLapse: time.Hour, Client: &http.Client{}}, nil); err != nil {
			t.Fatal(err)
		}
		waitStored(t, url, 1)
		var st store.Stats
		getJSON(t, url+"/api/stats", &st)
		var got []string
		for _, f := range st.Features {
			got = append(got, f.Value)
		}
		if want := []string{"my/plugin", "router", "other"}; !reflect.DeepEqual(got, want) {
			t.Errorf("features %v, want %v", got, want)
		}
	})
	if _, err := New(nil, Config{Secret: testKey, Features: []string{"a b"}}); err == nil || !strings.Contains(err.Error(), "Features") {
		t.Errorf("a bad feature name: %v, want a ConfigError naming Features", err)
	}
}
