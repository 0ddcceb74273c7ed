package krakendusage

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/krakend-usage/krakend-usage/usage/krakend"
	"github.com/krakend-usage/krakend-usage/usage/usagetest"
)

func TestRegisterer(t *testing.T) {
	col := usagetest.NewCollector(t, 20)
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
	reports := col.WaitReports(t, 1, 30*time.Second)
	gc := parseTestConfig(t, exampleTestConfig)
	hash, _ := ConfigDigest(gc)
	if got, want := reports[0].Data.ClusterID, ClusterID(hash); got != want {
		t.Errorf("got cluster ID %s, want %s (from the gateway config)", got, want)
	}
	if got, want := reports[0].Data.ServerID, ServerID(krakend.InstanceIdentity(), 9000); got != want {
		t.Errorf("got server ID %s, want %s (port from -p)", got, want)
	}
	if got, want := string(reports[0].Data.Extra), string(sentPayload(gc, krakend.ModePlugin)); got != want {
		t.Errorf("got payload %s, want %s", got, want)
	}
	if n := strings.Count(buf.String(), "[PLUGIN: krakend-usage] Starting the usage reporter"); n != 1 {
		t.Errorf("got %d start lines, want 1:\n%s", n, buf.String())
	}
	if sessions := col.Sessions(); len(sessions) != 1 {
		t.Errorf("got %d sessions, want 1", len(sessions))
	}
}

func TestRegistererFallback(t *testing.T) {
	col := usagetest.NewCollector(t, 20)
	l, buf := testLogger(t)
	r := &Registerer{Args: []string{"gateway"}, Getenv: func(string) string { return "" }}
	r.RegisterLogger(l)
	block := map[string]interface{}{"url": col.URL, "report_lapse": "1h"}
	r.handler(context.Background(), map[string]interface{}{PluginName: block}, http.NotFoundHandler())
	reports := col.WaitReports(t, 1, 30*time.Second)
	if got, want := reports[0].Data.ClusterID, ClusterID(krakend.BlockDigest(block)); got != want {
		t.Errorf("got cluster ID %s, want %s (from the plugin block)", got, want)
	}
	if len(reports[0].Data.Extra) != 0 {
		t.Errorf("got payload %s, want none", reports[0].Data.Extra)
	}
	if !strings.Contains(buf.String(), "WARNING: [PLUGIN: krakend-usage] Cannot read the gateway config (no -c or --config flag") {
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
	if !strings.Contains(buf.String(), `ERROR: [PLUGIN: krakend-usage] Usage reporter not started: no "krakend-usage" block`) {
		t.Errorf("got log %q", buf.String())
	}
}

type sentinelHandler struct{}

func (*sentinelHandler) ServeHTTP(http.ResponseWriter, *http.Request) {}

// A telemetry/usage block is read by the decorator only: in a stock
// KrakenD that loads the plugin but does not enable it, one WARNING says
// where the config goes instead of silence.
func TestRegistererNamesTheRightPlace(t *testing.T) {
	for _, tc := range []struct {
		name, config string
		warn         bool
	}{
		{"telemetry/usage alone", `{"version": 3, "extra_config": {"telemetry/usage": {"url": "http://127.0.0.1:9"}}, "endpoints": []}`, true},
		{"plugin listed without its block", `{"version": 3, "extra_config": {"telemetry/usage": {"url": "http://127.0.0.1:9"}, "plugin/http-server": {"name": ["krakend-usage"]}}, "endpoints": []}`, true},
		{"plugin enabled too", `{"version": 3, "extra_config": {"telemetry/usage": {"url": "http://127.0.0.1:9"}, "plugin/http-server": {"name": ["krakend-usage"], "krakend-usage": {"url": "http://127.0.0.1:9"}}}, "endpoints": []}`, false},
		{"no usage block", `{"version": 3, "extra_config": {}, "endpoints": []}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "krakend.json")
			if err := os.WriteFile(file, []byte(tc.config), 0o644); err != nil {
				t.Fatal(err)
			}
			l, buf := testLogger(t)
			r := &Registerer{Args: []string{"krakend", "run", "-c", file}, Getenv: func(string) string { return "" }}
			r.RegisterLogger(l)
			want := `WARNING: [PLUGIN: krakend-usage] The "telemetry/usage" block is read by custom builds with the RunServer decorator and by the krakend-usage command, not by this plugin; in a stock KrakenD the plugin reads its config from extra_config."plugin/http-server"."krakend-usage"`
			if got := strings.Count(buf.String(), want); got != map[bool]int{true: 1, false: 0}[tc.warn] {
				t.Errorf("log has the placement warning %d times, want it %v:\n%s", got, tc.warn, buf.String())
			}
		})
	}
}
