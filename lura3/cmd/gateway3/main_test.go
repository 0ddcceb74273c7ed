package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	usage3 "github.com/krakend-usage/krakend-usage/lura3"
	"github.com/krakend-usage/krakend-usage/usage/krakend"
	"github.com/luraproject/lura/v3/config"
)

// syncBuffer is the gateway's log, written by its goroutines.
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

// client is the test's own: lura's router replaces http.DefaultTransport
// when it starts, which would race with requests made through it.
var client = &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startCollector builds the real usage-collector from ../../../collector
// and runs it on a loopback port with a SQLite file. It skips (fails when
// USAGE_TEST_REQUIRE_KRAKEND is set, as in CI) when it cannot be built.
func startCollector(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "usage-collector")
	build := exec.Command("go", "build", "-o", bin, "./cmd/usage-collector")
	build.Dir = filepath.Join("..", "..", "..", "collector")
	build.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=")
	if out, err := build.CombinedOutput(); err != nil {
		msg := fmt.Sprintf("cannot build the collector: %v\n%s", err, out)
		if os.Getenv("USAGE_TEST_REQUIRE_KRAKEND") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cmd := exec.Command(bin, "-listen", addr, "-db", "sqlite:"+filepath.Join(dir, "usage.db"), "-bits", "8")
	var log syncBuffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		if t.Failed() {
			t.Logf("collector log:\n%s", log.String())
		}
	})
	url := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		if r, err := client.Get(url + "/healthz"); err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				return url
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the collector did not answer /healthz within 30s:\n%s", log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// A lura v3 gateway with the decorator reports to a real collector, and
// serves its endpoints meanwhile.
func TestGatewayReportsToCollector(t *testing.T) {
	collector := startCollector(t)
	port := freePort(t)
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
}`, port, collector, port)
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
	var log syncBuffer
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

	var got struct {
		Endpoints int64    `json:"endpoints"`
		Features  []string `json:"features"`
		Servers   []struct {
			ID string `json:"server_id"`
		} `json:"servers"`
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		r, err := client.Get(collector + "/api/clusters/" + cluster)
		if err == nil {
			if r.StatusCode == 200 {
				err = json.NewDecoder(r.Body).Decode(&got)
				r.Body.Close()
				if err != nil {
					t.Fatalf("GET /api/clusters/%s: %v", cluster, err)
				}
				break
			}
			r.Body.Close()
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster %s did not reach the collector within 60s (last error %v)", cluster, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(got.Servers) != 1 || got.Servers[0].ID != server {
		t.Errorf("cluster %s has servers %+v, want one: %s", cluster, got.Servers, server)
	}
	if got.Endpoints != 1 || strings.Join(got.Features, ",") != "qos/http-cache,security/cors" {
		t.Errorf("cluster %s: %d endpoints, features %v; want 1 and [qos/http-cache security/cors]", cluster, got.Endpoints, got.Features)
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
