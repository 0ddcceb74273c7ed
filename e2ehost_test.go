package krakendusage

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/krakend-usage/krakend-usage/usage"
)

// A gatewayHost is a gateway binary the end-to-end suite runs the plugin
// in: the stock KrakenD (glibc or musl) named by an environment variable,
// or the example gateway built here.
type gatewayHost struct {
	name   string
	env    string // the variable naming the binary; "" for the example gateway
	plugin string // the targetBuild kind of the .so it loads
}

var gatewayHosts = []gatewayHost{
	{name: "example gateway", plugin: "plugin"},
	{name: "KrakenD", env: "KRAKEND_BIN", plugin: "plugin"},
	{name: "KrakenD musl", env: "KRAKEND_MUSL_BIN", plugin: "plugin-musl"},
}

// newE2E resolves host: its binary (skipping, or failing in CI, when its
// variable is unset), its plugin built as `make plugin` or `make
// plugin-musl` builds it, and a test backend.
func newE2E(t testing.TB, host gatewayHost) *e2e {
	t.Helper()
	e := &e2e{host: host, dir: t.TempDir()}
	if host.env == "" {
		e.gateway = targetBuild(t, "gateway")
	} else {
		e.gateway = krakendBin(t, host.env)
	}
	e.pluginDir = filepath.Dir(targetBuild(t, host.plugin))
	e.backend = newTestBackend(t).URL
	return e
}

// krakendBin returns the KrakenD binary named by the variable env, or
// skips the test saying how to run it (fails in CI).
func krakendBin(t testing.TB, env string) string {
	t.Helper()
	bin := os.Getenv(env)
	if bin == "" {
		musl := ""
		if env == "KRAKEND_MUSL_BIN" {
			musl = " musl"
		}
		skipOrFail(t, fmt.Sprintf("%s is not set: the tests in the stock KrakenD are skipped (e.g. %s=$(../shared/krakend-ce/build.sh%s))", env, env, musl))
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s=%s: %v", env, bin, err)
	}
	return bin
}

// e2e holds what the gateway runs share.
type e2e struct {
	host                             gatewayHost
	gateway, pluginDir, backend, dir string
	noProbe                          bool // benchmarks load the gateway themselves
}

// config writes a copy of examples/krakend.json pointed at the test
// backend and collector, on a free port, with privacy markers added, then
// edited by edit.
func (e *e2e) config(t testing.TB, col *testCollector, edit func(map[string]interface{})) string {
	t.Helper()
	b, err := os.ReadFile("examples/krakend.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]interface{}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m["port"] = float64(freePort(t))
	m["plugin"] = map[string]interface{}{"pattern": "krakend-usage.so", "folder": e.pluginDir}
	for _, ep := range m["endpoints"].([]interface{}) {
		for _, be := range ep.(map[string]interface{})["backend"].([]interface{}) {
			be.(map[string]interface{})["host"] = []interface{}{e.backend}
		}
	}
	// Never probed; only there to be kept private.
	m["endpoints"] = append(m["endpoints"].([]interface{}), map[string]interface{}{
		"endpoint": "/markerpath/{id}", "method": "PATCH", "input_headers": []interface{}{"X-Marker-Header"},
		"backend": []interface{}{map[string]interface{}{
			"host": []interface{}{"http://markerhost.invalid"}, "url_pattern": "/markerbackendpath/{id}?markerquery=1", "method": "PATCH",
			"extra_config": map[string]interface{}{"marker/namespace": map[string]interface{}{"secret": "markersecret"}},
		}},
	})
	usageBlock(m)["url"] = col.URL
	usageBlock(m)["report_lapse"] = "1s"
	if edit != nil {
		edit(m)
	}
	file := e.write(t, m)
	// The marker must reach the parsed config for the privacy checks to
	// mean anything.
	cfg, err := NewConfigParser(noEnv).Parse(file)
	if err != nil {
		t.Fatalf("parsing %s: %v", file, err)
	}
	markerHeaderParsed(t, cfg)
	return file
}

func usageBlock(m map[string]interface{}) map[string]interface{} {
	return m["extra_config"].(map[string]interface{})["plugin/http-server"].(map[string]interface{})[PluginName].(map[string]interface{})
}

// firstSession runs a gateway on file until its first session and
// returns the IDs it sent.
func (e *e2e) firstSession(t *testing.T, col *testCollector, file string, env, flags []string) usage.SessionRequest {
	t.Helper()
	g := e.start(t, col, file, env, flags...)
	deadline := time.Now().Add(30 * time.Second)
	for {
		sessions, _, _, _ := col.snapshot()
		if len(sessions) > 0 {
			g.stop()
			isUUID5(t, sessions[0].ClusterID)
			isUUID5(t, sessions[0].ServerID)
			return sessions[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no session:\n%s", g.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// variant writes a copy of the config file edited by edit.
func (e *e2e) variant(t *testing.T, file string, edit func(map[string]interface{})) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]interface{}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	return e.write(t, m)
}

func (e *e2e) write(t testing.TB, m map[string]interface{}) string {
	t.Helper()
	out, _ := json.MarshalIndent(m, "", "  ")
	f, err := os.CreateTemp(e.dir, "krakend-*.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(out); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}

// countsOf counts endpoints, methods, backends and agents of a config file
// independently of the code under test.
func countsOf(t *testing.T, file string) string {
	b, _ := os.ReadFile(file)
	var m struct {
		Endpoints []struct {
			Method  string        `json:"method"`
			Backend []interface{} `json:"backend"`
		} `json:"endpoints"`
		AsyncAgent []interface{} `json:"async_agent"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	methods, backends := map[string]int{}, 0
	for _, ep := range m.Endpoints {
		meth := strings.ToUpper(ep.Method)
		if meth == "" {
			meth = "GET"
		}
		methods[meth]++
		backends += len(ep.Backend)
	}
	return fmt.Sprint(len(m.Endpoints), methods, backends, len(m.AsyncAgent))
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// newTestBackend answers every backend call of examples/krakend.json.
func newTestBackend(t testing.TB) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/posts") && strings.HasPrefix(r.URL.Path, "/users/") {
			fmt.Fprint(w, `[{"id":1}]`)
			return
		}
		fmt.Fprint(w, `{"id":1,"name":"n","email":"e"}`)
	}))
	t.Cleanup(s.Close)
	return s
}
