package collector

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestStatsAPI(t *testing.T) {
	e := newEnv(t, Config{})
	for _, s := range []string{"s1", "s2"} {
		tok := e.session("c", s)
		if code, m, _ := e.post("/report", validReport(t, tok, "c", s, testBits)); code != 200 {
			t.Fatalf("report: %d %v", code, m)
		}
	}
	code, body := get(t, e.ts.URL+"/api/stats")
	if code != 200 {
		t.Fatalf("got %d %s", code, body)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"reports": "2", "clusters": "1", "servers": "2"} {
		if string(m[k]) != want {
			t.Errorf("%s = %s, want integer %s", k, m[k], want)
		}
	}
	for _, k := range []string{"active_clusters", "active_servers", "versions", "os", "arch", "os_arch", "days", "endpoints"} {
		if _, ok := m[k]; !ok {
			t.Errorf("stats lack %q", k)
		}
	}
	if !strings.Contains(string(m["active_servers"]), `"24h":2`) {
		t.Errorf("active_servers %s, want 24h:2", m["active_servers"])
	}
}

func TestMetricsAndHealth(t *testing.T) {
	e := newEnv(t, Config{})
	tok := e.session("c", "s")
	r := validReport(t, tok, "c", "s", testBits)
	e.post("/report", r)
	e.post("/report", r)      // a retry: already stored
	e.post("/report", "{bad") // bad JSON
	code, body := get(t, e.ts.URL+"/metrics")
	if code != 200 {
		t.Fatalf("metrics: %d", code)
	}
	for _, want := range []string{
		"usage_collector_reports_accepted_total 1",
		"usage_collector_reports_duplicate_total 1",
		`usage_collector_reports_rejected_total{reason="bad_json"} 1`,
		`usage_collector_reports_rejected_total{reason="stamp_weak"} 0`,
		`usage_collector_sessions_total{result="issued"} 1`,
		`usage_collector_request_duration_seconds_count{code="200",handler="report"} 2`,
		`usage_collector_request_duration_seconds_count{code="400",handler="report"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if code, body := get(t, e.ts.URL+"/healthz"); code != 200 || !strings.Contains(string(body), `"ok"`) {
		t.Errorf("healthz: %d %s", code, body)
	}
	e.store.Close()
	if code, _ := get(t, e.ts.URL+"/healthz"); code != 503 {
		t.Errorf("healthz with the database closed: got %d, want 503", code)
	}
}

func TestDashboardServerSide(t *testing.T) {
	e := newEnv(t, Config{Now: func() time.Time { return time.Now() }})
	tok := e.session("c", "s")
	e.post("/report", validReport(t, tok, "c", "s", testBits))
	code, body := get(t, e.ts.URL+"/")
	if code != 200 {
		t.Fatalf("GET /: %d", code)
	}
	for _, id := range []string{"active", "reports", "versions", "os-arch", "endpoints"} {
		if !strings.Contains(string(body), `data-chart="`+id+`"`) {
			t.Errorf("dashboard lacks chart %s", id)
		}
	}
	if code, _ := get(t, e.ts.URL+"/static/dashboard.js"); code != 200 {
		t.Errorf("dashboard.js: %d", code)
	}
	if code, _ := get(t, e.ts.URL+"/nope"); code != 404 {
		t.Errorf("GET /nope: %d, want 404", code)
	}
}

func TestConfigErrors(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no secret":   {},
		"short body":  {Secret: testKey, MaxBody: 10},
		"same paths":  {Secret: testKey, SessionPath: "/x", ReportPath: "/x"},
		"bits":        {Secret: testKey, Bits: 99},
		"neg expires": {Secret: testKey, Expiration: -1},
	} {
		if _, err := New(nil, cfg); err == nil {
			t.Errorf("%s: New accepted %+v", name, cfg)
		}
	}
}
