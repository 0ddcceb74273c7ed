package krakendusage

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
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
func (e *e2e) firstSession(t *testing.T, col *testCollector, file string, env []string) usage.SessionRequest {
	t.Helper()
	g := e.start(t, col, file, env)
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

// runningGateway is one gateway process.
type runningGateway struct {
	t      testing.TB
	cmd    *exec.Cmd
	cfg    string
	port   int
	out    *syncBuffer
	cancel context.CancelFunc
	probe  sync.WaitGroup
	failed []string
	probes int
	mu     sync.Mutex
	once   sync.Once
	// noProbe: nobody checks the endpoints in the background.
	noProbe bool
}

// start runs the gateway on cfg with extra environment, waits until it
// serves, and probes every endpoint until stop: they must all answer.
func (e *e2e) start(t testing.TB, col *testCollector, cfg string, env []string) *runningGateway {
	t.Helper()
	var m struct {
		Port float64 `json:"port"`
	}
	b, _ := os.ReadFile(cfg)
	if filepath.Ext(cfg) == ".json" {
		json.Unmarshal(b, &m)
	} else {
		m.Port = float64(yamlPort(t, b))
	}
	for _, kv := range env { // KrakenD's override of the config's port
		if p, ok := strings.CutPrefix(kv, "KRAKEND_PORT="); ok {
			fmt.Sscan(p, &m.Port)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	g := &runningGateway{t: t, cfg: cfg, port: int(m.Port), out: &syncBuffer{}, cancel: cancel}
	g.cmd = exec.CommandContext(ctx, e.gateway, "run", "-c", cfg)
	g.cmd.Dir = e.dir
	g.cmd.Env = append(append(gatewayEnv(), "USAGE_DISABLE=", "DO_NOT_TRACK="), env...)
	g.cmd.Stdout, g.cmd.Stderr = g.out, g.out
	g.cmd.Cancel = func() error { return g.cmd.Process.Signal(os.Interrupt) }
	g.cmd.WaitDelay = 5 * time.Second
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.stop)
	base := fmt.Sprintf("http://127.0.0.1:%d", g.port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/__health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not serving on port %d: %v\n%s", e.host.name, g.port, err, g.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	g.noProbe = e.noProbe
	if !e.noProbe {
		g.probe.Add(1)
		go g.probeLoop(ctx, base)
	}
	return g
}

var probeRequests = []struct{ method, path string }{
	{"GET", "/users/1"}, {"GET", "/users/1/summary"}, {"POST", "/posts"},
	{"PUT", "/posts/1"}, {"DELETE", "/posts/1"}, {"GET", "/dashboard"},
}

func (g *runningGateway) probeLoop(ctx context.Context, base string) {
	defer g.probe.Done()
	for ctx.Err() == nil {
		for _, p := range probeRequests {
			req, _ := http.NewRequestWithContext(ctx, p.method, base+p.path, strings.NewReader(`{}`))
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if ctx.Err() != nil {
				return
			}
			g.mu.Lock()
			switch {
			case err != nil:
				g.failed = append(g.failed, p.method+" "+p.path+": "+err.Error())
			case resp.StatusCode != 200:
				g.failed = append(g.failed, fmt.Sprintf("%s %s: status %d", p.method, p.path, resp.StatusCode))
			default:
				g.probes++
			}
			g.mu.Unlock()
			if resp != nil {
				resp.Body.Close()
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stop ends the probes, then the gateway, and checks the probes.
func (g *runningGateway) stop() {
	g.once.Do(func() {
		g.cancel()
		g.probe.Wait()
		g.cmd.Wait()
		g.mu.Lock()
		defer g.mu.Unlock()
		if !g.noProbe && (len(g.failed) > 0 || g.probes == 0) {
			g.t.Errorf("endpoints not served throughout: %d ok, failures %v\n%s", g.probes, g.failed, g.out.String())
		}
	})
}

func (g *runningGateway) waitLog(t testing.TB, s string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(g.out.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("gateway stdout lacks %q:\n%s", s, g.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (g *runningGateway) lines(substr string) []string {
	var out []string
	for _, l := range strings.Split(g.out.String(), "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return out
}

// gatewayEnv is the test's environment for a gateway process: without
// KRAKEND_* variables, which KrakenD's parser would read as config
// overrides, and with HTTPS requests sent to a proxy that refuses them.
// The stock KrakenD's own reporter would otherwise phone
// https://usage.krakend.io from every test run, and USAGE_DISABLE, the
// only switch it has, would stop the plugin under test too. Loopback
// requests (the test collector, the backends) are never proxied.
func gatewayEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "KRAKEND_"), strings.EqualFold(k, "HTTPS_PROXY"), strings.EqualFold(k, "NO_PROXY"):
		default:
			env = append(env, kv)
		}
	}
	return append(env, "HTTPS_PROXY=http://127.0.0.1:9", "https_proxy=http://127.0.0.1:9")
}
