package krakendusage

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/luraproject/lura/v2/config"
	"github.com/luraproject/lura/v2/logging"
)

// syncBuffer is a log sink that can be read while it is written.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func testLogger(t *testing.T) (logging.Logger, *syncBuffer) {
	buf := &syncBuffer{}
	l, err := logging.NewLogger("DEBUG", buf, "")
	if err != nil {
		t.Fatal(err)
	}
	return l, buf
}

// noDelay removes the start delay for the test.
func noDelay(t *testing.T) {
	d, j := firstDelay, firstDelayJitter
	firstDelay, firstDelayJitter = 0, 0
	t.Cleanup(func() { firstDelay, firstDelayJitter = d, j })
}

// serviceWith parses exampleTestConfig with the usage block replaced.
func serviceWith(t *testing.T, usageBlock map[string]interface{}) config.ServiceConfig {
	cfg := parseTestConfig(t, exampleTestConfig)
	delete(cfg.ExtraConfig, Namespace)
	if usageBlock != nil {
		cfg.ExtraConfig[Namespace] = usageBlock
	}
	return cfg
}

// runServer runs New's decorator around a server that blocks until its
// context ends, and returns a func that stops it and waits.
func runServer(t *testing.T, l logging.Logger, cfg config.ServiceConfig) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	called := make(chan struct{})
	done := make(chan error, 1)
	rs := New(l, func(ctx context.Context, _ config.ServiceConfig, h http.Handler) error {
		close(called)
		<-ctx.Done()
		return nil
	})
	go func() { done <- rs(ctx, cfg, http.NotFoundHandler()) }()
	select {
	case <-called:
	case <-time.After(5 * time.Second):
		t.Fatal("the decorator did not call next")
	}
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("RunServer returned %v", err)
		}
	}
}

func TestNewFallsThroughSilently(t *testing.T) {
	l, buf := testLogger(t)
	stop := runServer(t, l, serviceWith(t, nil))
	stop()
	if s := buf.String(); s != "" {
		t.Errorf("got log %q, want nothing", s)
	}
}

func TestNewReports(t *testing.T) {
	noDelay(t)
	col := newTestCollector(t, 20)
	l, buf := testLogger(t)
	cfg := serviceWith(t, map[string]interface{}{"url": col.URL, "report_lapse": "100ms"})
	stop := runServer(t, l, cfg)
	reports := col.waitReports(t, 2, 30*time.Second)
	stop()

	hash, _ := configHash(cfg)
	wantCluster, wantServer := ClusterID(hash), ServerID(instanceIdentity(), cfg.Port)
	sessions, _, _, _ := col.snapshot()
	if len(sessions) != 1 || sessions[0].ClusterID != wantCluster || sessions[0].ServerID != wantServer {
		t.Errorf("got sessions %+v, want one for %s %s", sessions, wantCluster, wantServer)
	}
	first := reports[0].Data
	if first.ClusterID != wantCluster || first.ServerID != wantServer {
		t.Errorf("got IDs %s %s, want %s %s", first.ClusterID, first.ServerID, wantCluster, wantServer)
	}
	if got, want := string(first.Extra), string(NewPayload(cfg).JSON()); got != want {
		t.Errorf("got extra %s, want %s", got, want)
	}
	if len(reports[1].Data.Extra) != 0 {
		t.Errorf("second report carries the payload again: %s", reports[1].Data.Extra)
	}
	log := buf.String()
	for _, want := range []string{
		"WARNING: [SERVICE: Usage] report_lapse 100ms is below 1m0s",
		"INFO: [SERVICE: Usage] starting usage reporter: cluster ID " + wantCluster + ", server ID " + wantServer + ", collector " + col.URL + ", report lapse 100ms",
		"[SERVICE: Usage] usage: report accepted",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

func TestNewStopsWithServer(t *testing.T) {
	noDelay(t)
	col := newTestCollector(t, 8)
	l, _ := testLogger(t)
	stop := runServer(t, l, serviceWith(t, map[string]interface{}{"url": col.URL, "report_lapse": "50ms", "hash_bits": 8}))
	col.waitReports(t, 1, 30*time.Second)
	stop()
	// Reporter stopped: after a request in flight settles, nothing more arrives.
	time.Sleep(100 * time.Millisecond)
	_, before, _, _ := col.snapshot()
	time.Sleep(300 * time.Millisecond)
	if _, after, _, _ := col.snapshot(); len(after) != len(before) {
		t.Errorf("got %d reports after the server stopped", len(after)-len(before))
	}
}

func TestOffSwitches(t *testing.T) {
	for _, tc := range []struct {
		name, env, block, want string
	}{
		{"USAGE_DISABLE", "USAGE_DISABLE", `{"url": "URL"}`, "usage reporter disabled by the USAGE_DISABLE environment variable"},
		{"DO_NOT_TRACK", "DO_NOT_TRACK", `{"url": "URL"}`, "usage reporter disabled by the DO_NOT_TRACK environment variable"},
		{"env beats a bad config", "USAGE_DISABLE", `{"url": "URL", "hash_bits": 99}`, "usage reporter disabled by the USAGE_DISABLE environment variable"},
		{"config key", "", `{"url": "URL", "disabled": true}`, `usage reporter disabled by the "disabled" config key`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			noDelay(t)
			t.Setenv("USAGE_DISABLE", "")
			t.Setenv("DO_NOT_TRACK", "")
			if tc.env != "" {
				t.Setenv(tc.env, "1")
			}
			col := newTestCollector(t, 20)
			var block map[string]interface{}
			json.Unmarshal([]byte(strings.Replace(tc.block, "URL", col.URL, 1)), &block)
			cfg, err := ConfigGetter(config.ExtraConfig{Namespace: block})
			l, buf := testLogger(t)
			if launch(context.Background(), newPrefixed(l, logPrefix), os.Getenv, cfg, err, func() instance {
				t.Error("the instance was computed")
				return instance{}
			}) {
				t.Error("a goroutine was started")
			}
			if got, want := buf.String(), "INFO: [SERVICE: Usage] "+tc.want+"\n"; !strings.HasSuffix(got, want) || strings.Count(got, "\n") != 1 {
				t.Errorf("got log %q, want exactly one line ending %q", got, want)
			}
			if _, _, raw, _ := col.snapshot(); len(raw) != 0 {
				t.Errorf("the collector got %d requests", len(raw))
			}
		})
	}
}

func TestOffSwitchValues(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	for v, off := range map[string]bool{"": false, "0": false, "false": false, "1": true, "true": true, "yes": true} {
		env["DO_NOT_TRACK"] = v
		if got := offSwitch(getenv) != ""; got != off {
			t.Errorf("DO_NOT_TRACK=%q: got off=%t, want %t", v, got, off)
		}
	}
}

func TestBadConfigKeepsServer(t *testing.T) {
	l, buf := testLogger(t)
	stop := runServer(t, l, serviceWith(t, map[string]interface{}{"url": "ftp://x"}))
	stop()
	if log := buf.String(); !strings.Contains(log, `ERROR: [SERVICE: Usage] krakend-usage: config key "url"`) || !strings.Contains(log, "not started") {
		t.Errorf("got log %q, want the config error", log)
	}
}

func TestDryRun(t *testing.T) {
	noDelay(t)
	col := newTestCollector(t, 20)
	l, buf := testLogger(t)
	stop := runServer(t, l, serviceWith(t, map[string]interface{}{"url": col.URL, "dry_run": true, "report_lapse": "1h"}))
	defer stop()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(buf.String(), "would POST "+col.URL+"/report") {
		if time.Now().After(deadline) {
			t.Fatalf("no report body logged:\n%s", buf.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	log := buf.String()
	if !strings.Contains(log, `INFO: [SERVICE: Usage] (dry run) would POST `+col.URL+`/session {"cluster_id":"`) {
		t.Errorf("session request not logged:\n%s", log)
	}
	if !strings.Contains(log, `{"token":"dry-run","pow":"1:20:`) {
		t.Errorf("report stamp not logged:\n%s", log)
	}
	if _, _, raw, _ := col.snapshot(); len(raw) != 0 {
		t.Errorf("dry run sent %d requests", len(raw))
	}
}

func TestPrivacy(t *testing.T) {
	noDelay(t)
	col := newTestCollector(t, 20)
	l, _ := testLogger(t)
	stop := runServer(t, l, serviceWith(t, map[string]interface{}{"url": col.URL, "report_lapse": "50ms", "user_agent": "test"}))
	col.waitReports(t, 2, 30*time.Second)
	stop()
	_, reports, raw, _ := col.snapshot()
	var all []string
	all = append(all, raw...)
	for _, r := range reports {
		all = append(all, string(r.Data.Extra)) // base64 in the raw body
	}
	secrets := privacyMarkers
	if host, _ := os.Hostname(); len(host) >= 8 { // shorter ones match random stamp salts
		secrets = append(secrets, host)
	}
	if mid, _ := os.ReadFile("/etc/machine-id"); len(mid) > 0 {
		secrets = append(secrets, strings.TrimSpace(string(mid)))
	}
	for _, s := range all {
		for _, m := range secrets {
			if m != "" && strings.Contains(strings.ToLower(s), strings.ToLower(m)) {
				t.Errorf("%q reached the collector in %s", m, s)
			}
		}
	}
}

func TestRegisterer(t *testing.T) {
	noDelay(t)
	col := newTestCollector(t, 20)
	l, buf := testLogger(t)
	file := filepath.Join(t.TempDir(), "krakend.json")
	os.WriteFile(file, []byte(exampleTestConfig), 0o644)

	r := &Registerer{Args: []string{"krakend", "run", "-c", file, "-p", "9000"}, Getenv: func(string) string { return "" }}
	r.RegisterLogger(l)
	var factory HandlerFunc
	r.RegisterHandlers(func(name string, f HandlerFunc) {
		if name != PluginName {
			t.Errorf("registered as %q, want %q", name, PluginName)
		}
		factory = f
	})
	extra := map[string]interface{}{"name": []interface{}{PluginName}, PluginName: map[string]interface{}{"url": col.URL, "report_lapse": "1h"}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	next := &sentinelHandler{}
	for range 2 { // lura may build the chain more than once: one reporter
		h, err := factory(ctx, extra, next)
		if err != nil || h != http.Handler(next) {
			t.Fatalf("got %v, %v; want the next handler unchanged", h, err)
		}
	}
	reports := col.waitReports(t, 1, 30*time.Second)
	gc := parseTestConfig(t, exampleTestConfig)
	hash, _ := configHash(gc)
	if got, want := reports[0].Data.ClusterID, ClusterID(hash); got != want {
		t.Errorf("got cluster ID %s, want %s (from the gateway config)", got, want)
	}
	if got, want := reports[0].Data.ServerID, ServerID(instanceIdentity(), 9000); got != want {
		t.Errorf("got server ID %s, want %s (port from -p)", got, want)
	}
	if got, want := string(reports[0].Data.Extra), string(NewPayload(gc).JSON()); got != want {
		t.Errorf("got payload %s, want %s", got, want)
	}
	if n := strings.Count(buf.String(), "[PLUGIN: krakend-usage] starting usage reporter"); n != 1 {
		t.Errorf("got %d start lines, want 1:\n%s", n, buf.String())
	}
	if sessions, _, _, _ := col.snapshot(); len(sessions) != 1 {
		t.Errorf("got %d sessions, want 1", len(sessions))
	}
}

func TestRegistererFallback(t *testing.T) {
	noDelay(t)
	col := newTestCollector(t, 20)
	l, buf := testLogger(t)
	r := &Registerer{Args: []string{"gateway"}, Getenv: func(string) string { return "" }}
	r.RegisterLogger(l)
	block := map[string]interface{}{"url": col.URL, "report_lapse": "1h"}
	r.handler(context.Background(), map[string]interface{}{PluginName: block}, http.NotFoundHandler())
	reports := col.waitReports(t, 1, 30*time.Second)
	if got, want := reports[0].Data.ClusterID, ClusterID(blockHash(block)); got != want {
		t.Errorf("got cluster ID %s, want %s (from the plugin block)", got, want)
	}
	if len(reports[0].Data.Extra) != 0 {
		t.Errorf("got payload %s, want none", reports[0].Data.Extra)
	}
	if !strings.Contains(buf.String(), "WARNING: [PLUGIN: krakend-usage] cannot read the gateway config: no -c or --config flag") {
		t.Errorf("no warning saying why:\n%s", buf.String())
	}
}

func TestRegistererNoBlock(t *testing.T) {
	l, buf := testLogger(t)
	r := &Registerer{Getenv: func(string) string { return "" }}
	r.RegisterLogger(l)
	next := http.NotFoundHandler()
	if _, err := r.handler(context.Background(), map[string]interface{}{"name": PluginName}, next); err != nil {
		t.Errorf("got %v, want the handler", err)
	}
	if !strings.Contains(buf.String(), `ERROR: [PLUGIN: krakend-usage] no "krakend-usage" block`) {
		t.Errorf("got log %q", buf.String())
	}
}

type sentinelHandler struct{}

func (*sentinelHandler) ServeHTTP(http.ResponseWriter, *http.Request) {}
