package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/krakend-usage/krakend-usage/usage/usagetest"
)

// runningGateway is one gateway process.
type runningGateway struct {
	t      testing.TB
	cmd    *exec.Cmd
	cfg    string
	port   int
	out    *usagetest.Log
	cancel context.CancelFunc
	probe  sync.WaitGroup
	failed []string
	probes int
	mu     sync.Mutex
	once   sync.Once
	// noProbe: nobody checks the endpoints in the background.
	noProbe bool
}

// start runs `gateway run -c cfg [flags]` with extra environment, waits
// until it serves, and probes every endpoint until stop: they must all
// answer. The port it waits on is the config's, else KRAKEND_PORT's, else
// the -p flag's, as in `krakend run`.
func (e *e2e) start(t testing.TB, col *usagetest.Collector, cfg string, env []string, flags ...string) *runningGateway {
	t.Helper()
	var m struct {
		Port float64 `json:"port"`
	}
	b, _ := os.ReadFile(cfg)
	switch filepath.Ext(cfg) {
	case ".json":
		json.Unmarshal(b, &m)
	case ".yaml":
		m.Port = float64(yamlPort(t, b))
	}
	for _, kv := range env {
		if p, ok := strings.CutPrefix(kv, "KRAKEND_PORT="); ok {
			fmt.Sscan(p, &m.Port)
		}
	}
	for i, f := range flags {
		if f == "-p" && i+1 < len(flags) {
			fmt.Sscan(flags[i+1], &m.Port)
		}
	}
	if m.Port == 0 {
		t.Fatalf("no port for %s", cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	g := &runningGateway{t: t, cfg: cfg, port: int(m.Port), out: &usagetest.Log{}, cancel: cancel}
	argv := append(append(append([]string{}, e.wrap...), e.gateway, "run", "-c", cfg), flags...)
	g.cmd = exec.CommandContext(ctx, argv[0], argv[1:]...)
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
			t.Fatalf("%s not serving on port %d: %v\n%s", e.host.Name, g.port, err, g.out.String())
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
