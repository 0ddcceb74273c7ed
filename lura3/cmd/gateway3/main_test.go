package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	usage3 "github.com/krakend-usage/krakend-usage/lura3"
	"github.com/krakend-usage/krakend-usage/usage/krakend"
	"github.com/krakend-usage/krakend-usage/usage/usagetest"
	"github.com/luraproject/lura/v3/config"
)

// client is the test's own: lura's router replaces http.DefaultTransport
// when it starts, which would race with requests made through it.
var client = &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}

// A lura v3 gateway with the decorator reports to a collector, and serves
// its endpoints meanwhile. (e2e/'s every-host test runs this gateway
// against the real collector.)
func TestGatewayReportsToCollector(t *testing.T) {
	col := usagetest.NewCollector(t, 8)
	port := usagetest.FreePort(t)
	cfgJSON := fmt.Sprintf(`{
  "version": 3, "name": "lura v3 test", "port": %d, "timeout": "3s",
  "extra_config": {
    "telemetry/usage": {"url": %q, "report_lapse": "1m", "hash_bits": 8},
    "security/cors": {"allow_origins": ["*"]}
  },
  "endpoints": [
    {"endpoint": "/ping", "method": "GET", "backend": [{"host": ["http://127.0.0.1:%d"], "url_pattern": "/__health"}],
     "extra_config": {"qos/http-cache": {}}}
  ]
}`, port, col.URL, port)
	file := filepath.Join(t.TempDir(), "krakend.json")
	if err := os.WriteFile(file, []byte(cfgJSON), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.NewParser().Parse(file)
	if err != nil {
		t.Fatal(err)
	}
	digest, err := usage3.ConfigDigest(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cluster := krakend.ClusterID(digest)
	server := krakend.ServerID(krakend.InstanceIdentity(), port)

	ctx, cancel := context.WithCancel(context.Background())
	var log usagetest.Log
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"run", "-c", file}, &log) }()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("the gateway did not stop within 10s")
		}
		if t.Failed() {
			t.Logf("gateway log:\n%s", log.String())
		}
	}()

	r0 := col.WaitReports(t, 1, 60*time.Second)[0]
	var p krakend.Payload
	if err := json.Unmarshal(r0.Data.Extra, &p); err != nil {
		t.Fatalf("payload %q: %v", r0.Data.Extra, err)
	}
	if !r0.Accepted || r0.Data.ClusterID != cluster || r0.Data.ServerID != server {
		t.Errorf("report %+v (accepted %v), want cluster %s and server %s", r0.Data, r0.Accepted, cluster, server)
	}
	var features []string
	for ns := range p.Namespaces {
		if ns != usage3.Namespace {
			features = append(features, ns)
		}
	}
	sort.Strings(features)
	if p.Endpoints != 1 || p.Mode != krakend.ModeDecorator || strings.Join(features, ",") != "qos/http-cache,security/cors" {
		t.Errorf("payload %s: want 1 endpoint, mode decorator and the components qos/http-cache and security/cors", r0.Data.Extra)
	}
	// The gateway served throughout.
	r, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/ping", port))
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 200 {
		t.Errorf("GET /ping: %d, want 200", r.StatusCode)
	}
	l := log.String()
	for _, want := range []string{
		"INFO: [SERVICE: Usage] Starting the usage reporter: cluster ID " + cluster + ", server ID " + server,
		"[SERVICE: Usage] Report accepted",
	} {
		if !strings.Contains(l, want) {
			t.Errorf("gateway log lacks %q", want)
		}
	}
}
