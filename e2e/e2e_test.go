package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/krakend-usage/krakend-usage/usage/krakend"

	krakendusage "github.com/krakend-usage/krakend-usage"
	"github.com/krakend-usage/krakend-usage/internal/testenv"
	"github.com/krakend-usage/krakend-usage/usage"
	"github.com/krakend-usage/krakend-usage/usage/usagetest"
	"go.yaml.in/yaml/v3"
)

// TestGatewayEndToEnd runs the handler plugin in each gateway host — the
// stock KrakenD (KRAKEND_BIN, and its musl build KRAKEND_MUSL_BIN, as in
// the official Docker image) and the example gateway — on copies of
// examples/krakend.json re-pointed at test backends and a test collector,
// and checks what an operator and a collector would see. A host whose
// binary is not named is skipped, saying so (.ci/run names both).
func TestGatewayEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the plugin and runs gateways")
	}
	for _, host := range gatewayHosts {
		t.Run(host.name, func(t *testing.T) {
			newE2E(t, host).suite(t)
		})
	}
}

func (e *e2e) suite(t *testing.T) {
	release := e.host.Release
	t.Run("reports", func(t *testing.T) {
		t.Parallel()
		col := usagetest.NewCollector(t, 20)
		g := e.start(t, col, e.config(t, col, nil), nil)
		reports := col.WaitReports(t, 2, 60*time.Second)
		g.stop()

		sessions, raw := col.Sessions(), col.Requests()
		if len(sessions) != 1 {
			t.Fatalf("got %d sessions, want 1", len(sessions))
		}
		s := sessions[0]
		testenv.IsUUID5(t, s.ClusterID)
		testenv.IsUUID5(t, s.ServerID)
		for _, r := range reports {
			if r.Data.ClusterID != s.ClusterID || r.Data.ServerID != s.ServerID {
				t.Errorf("report IDs %s %s differ from the session's %s %s", r.Data.ClusterID, r.Data.ServerID, s.ClusterID, s.ServerID)
			}
		}
		if v := reports[0].Data.Version; v != release {
			t.Errorf("reported version %q, want the gateway's %q", v, release)
		}
		for _, r := range col.Requests() {
			ua := r.Header.Get("User-Agent")
			if want := "KrakenD Version " + release; ua != want {
				t.Errorf("got User-Agent %q, want %q (as KrakenD's own reporter)", ua, want)
			}
		}
		var p krakendusage.Payload
		if err := json.Unmarshal(reports[0].Data.Extra, &p); err != nil {
			t.Fatalf("payload %q: %v", reports[0].Data.Extra, err)
		}
		if want := countsOf(t, g.cfg); fmt.Sprint(p.Endpoints, p.Methods, p.Backends, p.AsyncAgents) != want {
			t.Errorf("got payload %s, want counts %s", reports[0].Data.Extra, want)
		}
		// Privacy: nothing from hosts, paths or headers, in any request.
		bodies := []string{string(reports[0].Data.Extra)}
		for _, r := range raw {
			bodies = append(bodies, r.String())
		}
		for _, body := range bodies {
			for _, m := range append([]string{"127.0.0.1:" + strings.TrimPrefix(e.backend, "http://127.0.0.1:"), "/users", "/posts", "/dashboard"}, testenv.PrivacyMarkers...) {
				if strings.Contains(strings.ToLower(body), strings.ToLower(m)) {
					t.Errorf("%q reached the collector: %s", m, body)
				}
			}
		}
		out := g.out.String()
		testenv.CheckLogLines(t, out, e.prefix)
		for _, want := range []string{
			fmt.Sprintf("INFO: "+e.prefix+" Starting the usage reporter: cluster ID %s, server ID %s, collector %s, report lapse 1s", s.ClusterID, s.ServerID, col.URL),
			"WARNING: " + e.prefix + " Report lapse 1s is below 1m0s",
			"INFO: " + e.prefix + " Session opened with " + col.URL,
			"INFO: " + e.prefix + " Report accepted (uptime ",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("gateway log lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("ids", func(t *testing.T) {
		t.Parallel()
		col := usagetest.NewCollector(t, 20)
		file := e.config(t, col, nil)
		base := e.firstSession(t, col, file, nil, nil)
		var again, otherPort, envPort, flagPort, added usage.SessionRequest
		t.Run("group", func(t *testing.T) {
			for _, tc := range []struct {
				name  string
				into  *usage.SessionRequest
				file  string
				env   []string
				flags []string
			}{
				{"restart", &again, file, nil, nil},
				{"other port", &otherPort, e.variant(t, file, func(m map[string]interface{}) { m["port"] = float64(usagetest.FreePort(t)) }), nil, nil},
				{"KRAKEND_PORT", &envPort, file, []string{fmt.Sprintf("KRAKEND_PORT=%d", usagetest.FreePort(t))}, nil},
				{"-p flag", &flagPort, file, nil, []string{"-p", fmt.Sprint(usagetest.FreePort(t))}},
				{"added endpoint", &added, e.variant(t, file, func(m map[string]interface{}) {
					m["port"] = float64(usagetest.FreePort(t))
					m["endpoints"] = append(m["endpoints"].([]interface{}), map[string]interface{}{
						"endpoint": "/added", "backend": []interface{}{map[string]interface{}{"url_pattern": "/added"}},
					})
				}), nil, nil},
			} {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					c := usagetest.NewCollector(t, 20)
					// Re-pointed at this subtest's collector: the usage block
					// is not part of the cluster identity.
					f := e.variant(t, tc.file, func(m map[string]interface{}) { usageBlock(m)["url"] = c.URL })
					*tc.into = e.firstSession(t, c, f, tc.env, tc.flags)
				})
			}
		})
		if again != base {
			t.Errorf("restart changed the IDs: %+v, then %+v", base, again)
		}
		for name, got := range map[string]usage.SessionRequest{"another port": otherPort, "KRAKEND_PORT": envPort, "-p": flagPort} {
			if got.ClusterID != base.ClusterID || got.ServerID == base.ServerID {
				t.Errorf("%s: got %+v, want cluster ID %s and a new server ID (first run %+v)", name, got, base.ClusterID, base)
			}
		}
		if added.ClusterID == base.ClusterID {
			t.Errorf("an added endpoint kept cluster ID %s", base.ClusterID)
		}
	})

	t.Run("yaml", func(t *testing.T) {
		t.Parallel()
		col := usagetest.NewCollector(t, 20)
		m := e.configMap(t, col, nil)
		file := e.writeYAML(t, m)
		g := e.start(t, col, file, nil)
		reports := col.WaitReports(t, 1, 60*time.Second)
		g.stop()
		var p krakendusage.Payload
		if err := json.Unmarshal(reports[0].Data.Extra, &p); err != nil {
			t.Fatalf("payload %q: %v", reports[0].Data.Extra, err)
		}
		if want := len(m["endpoints"].([]interface{})); p.Endpoints != want {
			t.Errorf("krakend.yaml with %d endpoints reported %d:\n%s", want, p.Endpoints, g.out.String())
		}
		if l := g.lines("Cannot read the gateway config"); len(l) > 0 {
			t.Errorf("the plugin could not read the YAML config: %s", l)
		}
	})

	t.Run("flexible config", func(t *testing.T) {
		t.Parallel()
		col := usagetest.NewCollector(t, 20)
		m := e.configMap(t, col, nil)
		want := len(m["endpoints"].([]interface{})) + 3
		file, settings := e.writeTemplate(t, m, []string{"/fc/a", "/fc/b", "/fc/c"})
		port := usagetest.FreePort(t)
		g := e.start(t, col, file, []string{"FC_ENABLE=1", "FC_SETTINGS=" + settings, fmt.Sprintf("KRAKEND_PORT=%d", port)})
		reports := col.WaitReports(t, 1, 60*time.Second)
		g.stop()
		var p krakendusage.Payload
		if err := json.Unmarshal(reports[0].Data.Extra, &p); err != nil {
			t.Fatalf("payload %q: %v", reports[0].Data.Extra, err)
		}
		if p.Endpoints != want {
			t.Errorf("a flexible config rendering %d endpoints reported %d:\n%s", want, p.Endpoints, g.out.String())
		}
		if l := g.lines("Cannot read the gateway config"); len(l) > 0 {
			t.Errorf("the plugin could not read the flexible config: %s", l)
		}
	})

	for _, tc := range []struct {
		name string
		env  []string
		edit func(map[string]interface{})
		line string
	}{
		{"USAGE_DISABLE", []string{"USAGE_DISABLE=1"}, nil, "INFO: " + e.prefix + " Usage reporter disabled by the USAGE_DISABLE environment variable"},
		{"DO_NOT_TRACK", []string{"DO_NOT_TRACK=1"}, nil, "INFO: " + e.prefix + " Usage reporter disabled by the DO_NOT_TRACK environment variable"},
		{"disabled", nil, func(m map[string]interface{}) { usageBlock(m)["disabled"] = true }, "INFO: " + e.prefix + ` Usage reporter disabled by the "disabled" config key`},
		{"bad config", nil, func(m map[string]interface{}) { usageBlock(m)["hash_bits"] = 99.0 }, "ERROR: " + e.prefix + ` Usage reporter not started: config key "hash_bits": bad value 99: want an integer from 1 to 28`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			col := usagetest.NewCollector(t, 20)
			g := e.start(t, col, e.config(t, col, tc.edit), tc.env)
			g.waitLog(t, tc.line)
			// The reporter would have called by now (start delay ≤ 3s).
			time.Sleep(krakend.MaxStartDelay + time.Second)
			g.stop() // fails the test unless every endpoint answered throughout
			if raw := col.Requests(); len(raw) != 0 {
				t.Errorf("the collector got %d requests: %v", len(raw), raw)
			}
			var lines []string // above DEBUG ("Logger loaded")
			for _, l := range g.lines(e.prefix) {
				if !strings.Contains(l, "DEBUG: ") {
					lines = append(lines, l)
				}
			}
			if len(lines) != 1 || !strings.Contains(lines[0], tc.line) {
				t.Errorf("got plugin lines %q, want exactly %q", lines, tc.line)
			}
		})
	}

	t.Run("dry run", func(t *testing.T) {
		t.Parallel()
		col := usagetest.NewCollector(t, 20)
		g := e.start(t, col, e.config(t, col, func(m map[string]interface{}) { usageBlock(m)["dry_run"] = true }), nil)
		g.waitLog(t, "Would send a report to "+col.URL+"/report: ")
		g.stop()
		if raw := col.Requests(); len(raw) != 0 {
			t.Errorf("dry run sent %d requests", len(raw))
		}
		out := g.out.String()
		testenv.CheckLogLines(t, out, e.prefix)
		session, report := testenv.DryRunRequests(t, out, col.URL)
		if report.Data.ClusterID != session.ClusterID || report.Data.Version != release {
			t.Errorf("logged report %+v does not match session %+v", report.Data, session)
		}
		for _, untrue := range []string{"Session opened", "Report accepted"} {
			if strings.Contains(out, untrue) {
				t.Errorf("a dry run logs %q:\n%s", untrue, out)
			}
		}
	})

	t.Run("collector down", func(t *testing.T) {
		t.Parallel()
		col := usagetest.NewCollector(t, 20)
		col.SetOutage(3)
		g := e.start(t, col, e.config(t, col, nil), nil)
		g.waitLog(t, "INFO: "+e.prefix+" Collector reachable again after 3 failed attempts")
		col.WaitReports(t, 1, 30*time.Second)
		g.stop()
		out := g.out.String()
		testenv.CheckLogLines(t, out, e.prefix)
		warn := g.lines("WARNING: " + e.prefix + " Collector unreachable")
		if want := "collector answered 502 Bad Gateway (text/html); retrying in the background"; len(warn) != 1 || !strings.HasSuffix(warn[0], want) {
			t.Errorf("got warnings %q, want exactly one ending %q", warn, want)
		}
		if n := len(g.lines("DEBUG: " + e.prefix + " Attempt ")); n != 2 {
			t.Errorf("got %d DEBUG retry lines, want 2 (the failures after the first):\n%s", n, out)
		}
		if strings.Contains(out, "<html") || strings.Contains(out, "nginx") {
			t.Errorf("the HTML error page reached the log:\n%s", out)
		}
	})
}

// configMap is the map config writes, before it is written.
func (e *e2e) configMap(t testing.TB, col *usagetest.Collector, edit func(map[string]interface{})) map[string]interface{} {
	t.Helper()
	var m map[string]interface{}
	b, err := os.ReadFile(e.config(t, col, edit))
	if err == nil {
		err = json.Unmarshal(b, &m)
	}
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// writeYAML writes m as a krakend.yaml.
func (e *e2e) writeYAML(t testing.TB, m map[string]interface{}) string {
	t.Helper()
	b, err := yaml.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp(e.dir, "yaml-")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "krakend.yaml")
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// writeTemplate writes m as a flexible-configuration template whose last
// endpoints come from a settings file (paths), one per path, and returns
// the template and the FC_SETTINGS directory.
func (e *e2e) writeTemplate(t testing.TB, m map[string]interface{}, paths []string) (string, string) {
	t.Helper()
	dir, err := os.MkdirTemp(e.dir, "fc-")
	if err != nil {
		t.Fatal(err)
	}
	settings := filepath.Join(dir, "settings")
	sb, _ := json.Marshal(map[string]interface{}{"paths": paths})
	if err := os.Mkdir(settings, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(settings, "extra.json"), sb, 0o644); err != nil {
		t.Fatal(err)
	}
	const placeholder = `{"endpoint":"__fc__"}`
	m["endpoints"] = append(m["endpoints"].([]interface{}), json.RawMessage(placeholder))
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := strings.Replace(string(b), ","+placeholder,
		`{{ range .extra.paths }},{"endpoint": "{{ . }}", "backend": [{"host": ["`+e.backend+`"], "url_pattern": "/__health"}]}{{ end }}`, 1)
	file := filepath.Join(dir, "krakend.tmpl")
	if err := os.WriteFile(file, []byte(tmpl), 0o644); err != nil {
		t.Fatal(err)
	}
	return file, settings
}

// yamlPort reads the port of a YAML config.
func yamlPort(t testing.TB, b []byte) int {
	var m struct {
		Port int `yaml:"port"`
	}
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m.Port
}
