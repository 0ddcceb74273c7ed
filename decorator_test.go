package krakendusage

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/krakend-usage/krakend-usage/internal/testenv"
	"github.com/krakend-usage/krakend-usage/usage/krakend"
	"github.com/krakend-usage/krakend-usage/usage/usagetest"

	"github.com/luraproject/lura/v2/config"
	"github.com/luraproject/lura/v2/logging"
)

func testLogger(t *testing.T) (logging.Logger, *usagetest.Log) {
	buf := &usagetest.Log{}
	l, err := logging.NewLogger("DEBUG", buf, "")
	if err != nil {
		t.Fatal(err)
	}
	return l, buf
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
	col := usagetest.NewCollector(t, 20)
	l, buf := testLogger(t)
	cfg := serviceWith(t, map[string]interface{}{"url": col.URL, "report_lapse": "100ms"})
	stop := runServer(t, l, cfg)
	reports := col.WaitReports(t, 2, 30*time.Second)
	stop()

	hash, _ := ConfigDigest(cfg)
	wantCluster, wantServer := ClusterID(hash), ServerID(krakend.InstanceIdentity(), cfg.Port)
	sessions := col.Sessions()
	if len(sessions) != 1 || sessions[0].ClusterID != wantCluster || sessions[0].ServerID != wantServer {
		t.Errorf("got sessions %+v, want one for %s %s", sessions, wantCluster, wantServer)
	}
	first := reports[0].Data
	if first.ClusterID != wantCluster || first.ServerID != wantServer {
		t.Errorf("got IDs %s %s, want %s %s", first.ClusterID, first.ServerID, wantCluster, wantServer)
	}
	if got, want := string(first.Extra), string(sentPayload(cfg, krakend.ModeDecorator)); got != want {
		t.Errorf("got extra %s, want %s", got, want)
	}
	if len(reports[1].Data.Extra) != 0 {
		t.Errorf("second report carries the payload again: %s", reports[1].Data.Extra)
	}
	log := buf.String()
	for _, want := range []string{
		"WARNING: [SERVICE: Usage] Report lapse 100ms is below 1m0s",
		"INFO: [SERVICE: Usage] Starting the usage reporter: cluster ID " + wantCluster + ", server ID " + wantServer + ", collector " + col.URL + ", report lapse 100ms",
		"[SERVICE: Usage] Report accepted",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

func TestNewStopsWithServer(t *testing.T) {
	col := usagetest.NewCollector(t, 8)
	l, _ := testLogger(t)
	stop := runServer(t, l, serviceWith(t, map[string]interface{}{"url": col.URL, "report_lapse": "50ms", "hash_bits": 8}))
	col.WaitReports(t, 1, 30*time.Second)
	stop()
	// Reporter stopped: after a request in flight settles, nothing more arrives.
	time.Sleep(100 * time.Millisecond)
	before := col.Reports()
	time.Sleep(300 * time.Millisecond)
	if after := col.Reports(); len(after) != len(before) {
		t.Errorf("got %d reports after the server stopped", len(after)-len(before))
	}
}

func TestBadConfigKeepsServer(t *testing.T) {
	l, buf := testLogger(t)
	stop := runServer(t, l, serviceWith(t, map[string]interface{}{"url": "ftp://x"}))
	stop()
	if log := buf.String(); !strings.Contains(log, `ERROR: [SERVICE: Usage] Usage reporter not started: config key "url"`) || !strings.Contains(log, "not started") {
		t.Errorf("got log %q, want the config error", log)
	}
}

func TestPrivacy(t *testing.T) {
	col := usagetest.NewCollector(t, 20)
	l, _ := testLogger(t)
	cfg := serviceWith(t, map[string]interface{}{"url": col.URL, "report_lapse": "50ms", "user_agent": "test"})
	testenv.MarkerHeaderParsed(t, cfg)
	stop := runServer(t, l, cfg)
	col.WaitReports(t, 2, 30*time.Second)
	stop()
	reports, raw := col.Reports(), col.Requests()
	var all []string
	for _, r := range raw {
		all = append(all, r.String())
	}
	for _, r := range reports {
		all = append(all, string(r.Data.Extra)) // base64 in the raw body
	}
	secrets := testenv.PrivacyMarkers
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
