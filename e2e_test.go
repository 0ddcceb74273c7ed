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
	"github.com/krakend-usage/krakend-usage/usage/hashcash"
)

// TestGatewayEndToEnd builds the handler plugin and the example gateway
// (as `make plugin gateway` does, never with -race: a plugin must match
// its host's build), runs the gateway on copies of examples/krakend.json
// re-pointed at test backends and a test collector, and checks what an
// operator and a collector would see.
func TestGatewayEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the plugin and the gateway")
	}
	e := newE2E(t)
	t.Run("reports", func(t *testing.T) {
		t.Parallel()
		col := newTestCollector(t, 20)
		g := e.start(t, col, e.config(t, col, nil), nil)
		reports := col.waitReports(t, 2, 60*time.Second)
		g.stop()

		sessions, _, raw, _ := col.snapshot()
		if len(sessions) != 1 {
			t.Errorf("got %d sessions, want 1", len(sessions))
		}
		s := sessions[0]
		isUUID5(t, s.ClusterID)
		isUUID5(t, s.ServerID)
		for _, r := range reports {
			if r.Data.ClusterID != s.ClusterID || r.Data.ServerID != s.ServerID {
				t.Errorf("report IDs %s %s differ from the session's %s %s", r.Data.ClusterID, r.Data.ServerID, s.ClusterID, s.ServerID)
			}
		}
		var p Payload
		if err := json.Unmarshal(reports[0].Data.Extra, &p); err != nil {
			t.Fatalf("payload %q: %v", reports[0].Data.Extra, err)
		}
		if want := countsOf(t, g.cfg); fmt.Sprint(p.Endpoints, p.Methods, p.Backends, p.AsyncAgents) != want {
			t.Errorf("got payload %s, want counts %s", reports[0].Data.Extra, want)
		}
		// Privacy: nothing from hosts, paths or headers, in any request.
		for _, body := range append(raw, string(reports[0].Data.Extra)) {
			for _, m := range append([]string{"127.0.0.1:" + strings.TrimPrefix(e.backend, "http://127.0.0.1:"), "/users", "/posts", "/dashboard"}, privacyMarkers...) {
				if strings.Contains(strings.ToLower(body), strings.ToLower(m)) {
					t.Errorf("%q reached the collector: %s", m, body)
				}
			}
		}
		out := g.out.String()
		for _, want := range []string{
			fmt.Sprintf("INFO: [PLUGIN: krakend-usage] Starting the usage reporter: cluster ID %s, server ID %s, collector %s, report lapse 1s", s.ClusterID, s.ServerID, col.URL),
			"WARNING: [PLUGIN: krakend-usage] Report lapse 1s is below 1m0s",
			"INFO: [PLUGIN: krakend-usage] Report accepted",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("gateway stdout lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("ids", func(t *testing.T) {
		t.Parallel()
		col := newTestCollector(t, 20)
		file := e.config(t, col, nil)
		base := e.firstSession(t, col, file)
		var again, otherPort, added usage.SessionRequest
		t.Run("group", func(t *testing.T) {
			for _, tc := range []struct {
				name string
				into *usage.SessionRequest
				file string
			}{
				{"restart", &again, file},
				{"other port", &otherPort, e.variant(t, file, func(m map[string]interface{}) { m["port"] = float64(freePort(t)) })},
				{"added endpoint", &added, e.variant(t, file, func(m map[string]interface{}) {
					m["port"] = float64(freePort(t))
					m["endpoints"] = append(m["endpoints"].([]interface{}), map[string]interface{}{
						"endpoint": "/added", "backend": []interface{}{map[string]interface{}{"url_pattern": "/added"}},
					})
				})},
			} {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					c := newTestCollector(t, 20)
					// Re-pointed at this subtest's collector: the usage block
					// is not part of the cluster identity.
					f := e.variant(t, tc.file, func(m map[string]interface{}) { usageBlock(m)["url"] = c.URL })
					*tc.into = e.firstSession(t, c, f)
				})
			}
		})
		if again != base {
			t.Errorf("restart changed the IDs: %+v, then %+v", base, again)
		}
		if otherPort.ClusterID != base.ClusterID || otherPort.ServerID == base.ServerID {
			t.Errorf("another port: got %+v, want cluster ID %s and a new server ID (first run %+v)", otherPort, base.ClusterID, base)
		}
		if added.ClusterID == base.ClusterID {
			t.Errorf("an added endpoint kept cluster ID %s", base.ClusterID)
		}
	})

	for _, tc := range []struct {
		name string
		env  []string
		edit func(map[string]interface{})
		line string
	}{
		{"USAGE_DISABLE", []string{"USAGE_DISABLE=1"}, nil, "INFO: [PLUGIN: krakend-usage] usage reporter disabled by the USAGE_DISABLE environment variable"},
		{"DO_NOT_TRACK", []string{"DO_NOT_TRACK=1"}, nil, "INFO: [PLUGIN: krakend-usage] usage reporter disabled by the DO_NOT_TRACK environment variable"},
		{"disabled", nil, func(m map[string]interface{}) { usageBlock(m)["disabled"] = true }, `INFO: [PLUGIN: krakend-usage] usage reporter disabled by the "disabled" config key`},
		{"bad config", nil, func(m map[string]interface{}) { usageBlock(m)["hash_bits"] = 99.0 }, `ERROR: [PLUGIN: krakend-usage] Usage reporter not started: config key "hash_bits"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			col := newTestCollector(t, 20)
			g := e.start(t, col, e.config(t, col, tc.edit), tc.env)
			g.waitLog(t, tc.line)
			// The reporter would have called by now (start delay ≤ 3s).
			time.Sleep(firstDelay + firstDelayJitter + time.Second)
			g.stop()
			if _, _, raw, _ := col.snapshot(); len(raw) != 0 {
				t.Errorf("the collector got %d requests: %v", len(raw), raw)
			}
			if lines := g.lines("[PLUGIN: krakend-usage]"); len(lines) != 1 {
				t.Errorf("got %d plugin lines, want exactly one:\n%s", len(lines), strings.Join(lines, "\n"))
			}
		})
	}

	t.Run("dry run", func(t *testing.T) {
		t.Parallel()
		col := newTestCollector(t, 20)
		g := e.start(t, col, e.config(t, col, func(m map[string]interface{}) { usageBlock(m)["dry_run"] = true }), nil)
		g.waitLog(t, "would POST "+col.URL+"/report ")
		g.stop()
		if _, _, raw, _ := col.snapshot(); len(raw) != 0 {
			t.Errorf("dry run sent %d requests", len(raw))
		}
		var session usage.SessionRequest
		var report usage.ReportRequest
		for _, l := range g.lines("would POST ") {
			switch {
			case strings.Contains(l, col.URL+"/session "):
				json.Unmarshal([]byte(l[strings.Index(l, "/session ")+9:]), &session)
			case strings.Contains(l, col.URL+"/report "):
				json.Unmarshal([]byte(l[strings.Index(l, "/report ")+8:]), &report)
			}
		}
		isUUID5(t, session.ClusterID)
		isUUID5(t, session.ServerID)
		// The logged body is exactly what would be sent: its stamp verifies.
		hash, _ := report.Data.Hash()
		if _, err := hashcash.Verify(report.Pow, report.Token+hash, 20, time.Now()); err != nil {
			t.Errorf("logged report does not verify: %v\n%s", err, g.out.String())
		}
		if report.Data.ClusterID != session.ClusterID || len(report.Data.Extra) == 0 {
			t.Errorf("logged report %+v does not match session %+v", report.Data, session)
		}
	})
}

// newE2E builds the plugin and the gateway into a temporary directory, as
// `make plugin gateway` does (GOWORK=off, no -race: a plugin must match
// its host's build exactly), and starts a test backend.
func newE2E(t testing.TB) *e2e {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build the plugin with")
	}
	dir := t.TempDir()
	e := &e2e{pluginDir: filepath.Join(dir, "plugins"), gateway: filepath.Join(dir, "gateway"), dir: dir}
	build := func(args ...string) {
		cmd := exec.Command(goBin, append([]string{"build"}, args...)...)
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %v: %v\n%s", args, err, out)
		}
	}
	build("-buildmode=plugin", "-o", filepath.Join(e.pluginDir, "krakend-usage.so"), "./cmd/krakend-usage-plugin")
	build("-o", e.gateway, "./examples/gateway")
	e.backend = newTestBackend(t).URL
	return e
}

// e2e holds what the gateway runs share.
type e2e struct {
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
	m["plugin"] = map[string]interface{}{"pattern": ".so", "folder": e.pluginDir}
	for _, ep := range m["endpoints"].([]interface{}) {
		for _, be := range ep.(map[string]interface{})["backend"].([]interface{}) {
			be.(map[string]interface{})["host"] = []interface{}{e.backend}
		}
	}
	// Never probed; only there to be kept private.
	m["endpoints"] = append(m["endpoints"].([]interface{}), map[string]interface{}{
		"endpoint": "/markerpath/{id}", "method": "PATCH", "headers_to_pass": []interface{}{"X-Marker-Header"},
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
	return e.write(t, m)
}

func usageBlock(m map[string]interface{}) map[string]interface{} {
	return m["extra_config"].(map[string]interface{})["plugin/http-server"].(map[string]interface{})[PluginName].(map[string]interface{})
}

// firstSession runs a gateway on file until its first session and
// returns the IDs it sent.
func (e *e2e) firstSession(t *testing.T, col *testCollector, file string) usage.SessionRequest {
	t.Helper()
	g := e.start(t, col, file, nil)
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
	json.Unmarshal(b, &m)
	ctx, cancel := context.WithCancel(context.Background())
	g := &runningGateway{t: t, cfg: cfg, port: int(m.Port), out: &syncBuffer{}, cancel: cancel}
	g.cmd = exec.CommandContext(ctx, e.gateway, "-c", cfg)
	g.cmd.Env = append(append(os.Environ(), "USAGE_DISABLE=", "DO_NOT_TRACK="), env...)
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
			t.Fatalf("gateway not serving: %v\n%s", err, g.out.String())
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
