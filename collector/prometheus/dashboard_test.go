package prometheus

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/krakend-usage/krakend-usage/usage"
	"github.com/krakend-usage/krakend-usage/usage/krakend"
)

// target is one query of a Grafana panel.
type target struct {
	Panel   string
	RefID   string `json:"refId"`
	Expr    string `json:"expr"`
	Instant bool   `json:"instant"`
}

// dashboardTargets reads every PromQL expression of the Grafana dashboard.
func dashboardTargets(t *testing.T) []target {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "grafana", "fleet.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			ID      int      `json:"id"`
			Title   string   `json:"title"`
			Targets []target `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("fleet.json: %v", err)
	}
	var out []target
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			tg.Panel = fmt.Sprintf("panel %d %q %s", p.ID, p.Title, tg.RefID)
			out = append(out, tg)
		}
	}
	if len(out) == 0 {
		t.Fatal("fleet.json has no query")
	}
	return out
}

// grafanaVars are the values given to Grafana's variables: the scrape
// interval here is 1 s, and every event of the test is within 2 minutes.
var grafanaVars = strings.NewReplacer(
	"${__rate_interval}", "2m", "$__rate_interval", "2m",
	"${__interval}", "5s", "$__interval", "5s", "$interval", "5s",
	"${__range}", "5m", "$__range", "5m",
)

// counterExpr: an expression over counters (per collector, summed) and
// not only over the fleet gauges (the same on every collector).
func counterExpr(expr string) bool { return strings.Contains(expr, "_total") }

// fleet is what the test reports: six servers in three clusters, two
// versions, two components. Every server runs this test's OS and arch.
var fleet = []struct {
	cluster, server, version string
	features                 map[string]int
}{
	{"cluster-a", "server-a1", "2.10.0", map[string]int{"qos/ratelimit/router": 2, "auth/validator": 1}},
	{"cluster-a", "server-a2", "2.10.0", map[string]int{"qos/ratelimit/router": 2, "auth/validator": 1}},
	{"cluster-b", "server-b1", "2.10.0", map[string]int{"qos/ratelimit/router": 1}},
	{"cluster-b", "server-b2", "2.11.1", map[string]int{"qos/ratelimit/router": 1}},
	{"cluster-c", "server-c1", "2.11.1", map[string]int{"qos/ratelimit/router": 3}},
	{"cluster-c", "server-c2", "2.11.1", map[string]int{"qos/ratelimit/router": 3}},
}

// TestDashboardQueries starts two real collectors (the binary, with
// -fleet-metrics) on one SQLite database and reports the fleet to them
// through the HTTP intake with our reporter. One Prometheus scrapes the
// first collector, another scrapes both. Every expression of
// grafana/fleet.json must give series on both; those over the fleet
// gauges must give the same answer on both (the fleet, not the fleet
// times the number of collectors), and the expected figures.
func TestDashboardQueries(t *testing.T) {
	exe := tool(t, "prometheus")
	db := filepath.Join(t.TempDir(), "usage.db")
	a := startCollector(t, db)
	b := startCollector(t, db)

	// The fleet's first reports, before the first scrape; more reports
	// and rejected ones while Prometheus watches, for the rates.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	toA := 0
	for i := range fleet {
		if i%2 == 0 {
			toA++
		}
		report(ctx, t, []string{a, b}[i%2], i)
	}

	one := startPrometheus(t, exe, a)
	two := startPrometheus(t, exe, a, b)
	one.waitFor(t, `count(usage_fleet_active)`, map[string]string{"{}": "6"})
	two.waitFor(t, `count(usage_fleet_active)`, map[string]string{"{}": "12"})

	// Three rejected reports and one accepted to the first collector, two
	// and one to the second.
	for i, url := range []string{a, a, a, b, b} {
		body := fmt.Sprintf(`{"token":"forged-%d","pow":"1:8:250101:x::salt:1","data":{"cluster_id":"c","server_id":"s"}}`, i)
		resp, err := http.Post(url+"/report", "application/json", bytes.NewReader([]byte(body)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("forged report: got %d, want 401", resp.StatusCode)
		}
	}
	report(ctx, t, a, 0)
	report(ctx, t, b, 1)
	toA++
	// Counters are per collector: a Prometheus sees what its targets did.
	rejected := `sum(usage_collector_reports_rejected_total{reason="bad_token"})`
	one.waitFor(t, rejected, map[string]string{"{}": "3"})
	two.waitFor(t, rejected, map[string]string{"{}": "5"})
	accepted := `sum(usage_collector_reports_accepted_total)`
	one.waitFor(t, accepted, map[string]string{"{}": fmt.Sprint(toA)})
	two.waitFor(t, accepted, map[string]string{"{}": fmt.Sprint(len(fleet) + 2)})
	// Each collector recomputes its fleet gauges every 30 s: wait until
	// both export the two later reports.
	all := `min(usage_fleet_reports{stored="all"})`
	one.waitFor(t, all, map[string]string{"{}": "8"})
	two.waitFor(t, all, map[string]string{"{}": "8"})

	want := map[string]map[string]string{ // expected answers, by expression
		`max(usage_fleet_active{kind="servers",window="24h"})`:  {"{}": "6"},
		`max(usage_fleet_active{kind="servers",window="30d"})`:  {"{}": "6"},
		`max(usage_fleet_active{kind="clusters",window="24h"})`: {"{}": "3"},
		`max(usage_fleet_active{kind="clusters",window="7d"})`:  {"{}": "3"},
		`max by (kind) (usage_fleet_active{window="24h"})`:      {`{kind="servers"}`: "6", `{kind="clusters"}`: "3"},
		`max by (version) (usage_fleet_servers_by_version)`:     {`{version="2.10.0"}`: "3", `{version="2.11.1"}`: "3"},
		`max by (os, arch) (usage_fleet_servers_by_platform)`:   {fmt.Sprintf(`{arch=%q,os=%q}`, runtime.GOARCH, runtime.GOOS): "6"},
		`max by (stored) (usage_fleet_reports)`:                 {`{stored="all"}`: "8", `{stored="kept"}`: "8"},
		`max by (feature) (usage_fleet_clusters_by_feature) / scalar(max(usage_fleet_active{kind="clusters",window="30d"}))`: {
			`{feature="qos/ratelimit/router"}`: "1", `{feature="auth/validator"}`: "0.3333333333333333"},
	}
	at := time.Now()
	checked := 0
	for _, tg := range dashboardTargets(t) {
		expr := grafanaVars.Replace(tg.Expr)
		if strings.Contains(expr, "$") {
			t.Errorf("%s: unknown Grafana variable in %s", tg.Panel, tg.Expr)
			continue
		}
		answers := map[string]map[string]string{}
		for _, p := range []struct {
			name string
			p    *prom
		}{{"one collector", one}, {"two collectors", two}} {
			res, err := p.p.query(ctx, expr, at, false)
			if err != nil {
				t.Errorf("%s, %s: %v", tg.Panel, p.name, err)
				continue
			}
			if len(res) == 0 {
				t.Errorf("%s, %s: %s gives no series", tg.Panel, p.name, expr)
			}
			answers[p.name] = map[string]string{}
			for _, s := range res {
				answers[p.name][s.key()] = s.value()
			}
			if !tg.Instant { // a time series panel: Grafana asks for a range
				res, err := p.p.query(ctx, expr, at, true)
				if err != nil {
					t.Errorf("%s, %s, range: %v", tg.Panel, p.name, err)
				} else if len(res) == 0 {
					t.Errorf("%s, %s: %s gives no series over a range", tg.Panel, p.name, expr)
				}
			}
		}
		if counterExpr(expr) {
			// Per collector: two see more than one. Reports were
			// accepted and rejected while they watched.
			for name, got := range answers {
				for k, v := range got {
					if v == "0" {
						t.Errorf("%s, %s: %s gives %s for %s, want a rate above 0", tg.Panel, name, expr, v, k)
					}
				}
			}
			continue
		}
		if got1, got2 := answers["one collector"], answers["two collectors"]; !equal(got1, got2) {
			t.Errorf("%s: %s gives %v with two collectors on one database, %v with one: want the same", tg.Panel, expr, got2, got1)
		}
		if w, ok := want[expr]; ok {
			checked++
			if got := answers["two collectors"]; !equal(got, w) {
				t.Errorf("%s: %s gives %v, want %v", tg.Panel, expr, got, w)
			}
		}
	}
	if checked < len(want)/2 {
		t.Errorf("only %d of the dashboard's expressions have an expected answer here: update the test's want", checked)
	}
	checkRulesHealthy(t, two)
}

// checkRulesHealthy: the real Prometheus loaded alerts.yml and evaluates
// every rule without error against real collector metrics.
func checkRulesHealthy(t *testing.T, p *prom) {
	t.Helper()
	resp, err := http.Get(p.url + "/api/v1/rules")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		Data struct {
			Groups []struct {
				Rules []struct {
					Name      string `json:"name"`
					Health    string `json:"health"`
					LastError string `json:"lastError"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range r.Data.Groups {
		for _, rule := range g.Rules {
			n++
			if rule.Health != "ok" {
				t.Errorf("rule %s: health %q %s", rule.Name, rule.Health, rule.LastError)
			}
		}
	}
	if n == 0 {
		t.Error("Prometheus loaded no rule from alerts.yml")
	}
}

// report sends fleet[i]'s report to the collector at url with our
// reporter, through the HTTP intake.
func report(ctx context.Context, t *testing.T, url string, i int) {
	t.Helper()
	s := fleet[i]
	payload := krakend.Payload{Endpoints: 10, Backends: 12, Methods: map[string]int{"GET": 10}, Namespaces: s.features}
	rep, err := usage.New(usage.Options{ClusterID: s.cluster, ServerID: s.server, URL: url, Version: s.version,
		ExtraPayload: payload.JSON(), HashBits: 8}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.SingleReport(ctx); err != nil {
		t.Fatalf("report of %s to %s: %v", s.server, url, err)
	}
}
