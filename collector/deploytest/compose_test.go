package deploytest

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/internal/proctest"
)

var (
	postgresOnce sync.Once
	postgresErr  error
)

// postgresStandin is the image the compose test runs for PostgreSQL: no
// registry is reachable here, so Debian's PostgreSQL 15 on the local
// Debian stand-in (testdata/postgres) replaces the official postgres:17.
const postgresStandin = "localhost/usage-postgres-standin:15"

func postgresImage(t *testing.T) string {
	t.Helper()
	requirePodman(t)
	postgresOnce.Do(func() {
		if out, err := runErr("podman", "image", "exists", postgresStandin); err == nil {
			return
		} else if _, err := runErr("podman", "build", "-t", postgresStandin, "testdata/postgres"); err != nil {
			postgresErr = err
			_ = out
		}
	})
	if postgresErr != nil {
		t.Fatalf("build %s: %v", postgresStandin, postgresErr)
	}
	return postgresStandin
}

// TestCompose runs deploy/compose.yaml with podman-compose: the collector
// on PostgreSQL, reports from our reporter on the published intake port,
// the fleet on the admin port of the host's loopback. Substituted: the
// official postgres image by postgresStandin, the collector image by the
// one built from this tree. Not run: the prometheus profile's container
// (podman-compose 1.0.3 knows no profiles and no Prometheus image can be
// pulled here); promtool checks its configuration and the alert rules it
// loads instead.
func TestCompose(t *testing.T) {
	requirePodman(t)
	compose, err := exec.LookPath("podman-compose")
	if err != nil {
		if os.Getenv(requirePodmanEnv) == "1" {
			t.Fatalf("podman-compose not found and %s=1: install it (apt-get install podman-compose)", requirePodmanEnv)
		}
		t.Skip("podman-compose not found: apt-get install podman-compose (on these machines: ../shared/containers/setup.sh)")
	}
	file := filepath.Join(repoRoot(t), "deploy", "compose.yaml")
	b := make([]byte, 4)
	rand.Read(b)
	project := "deploytest" + hex.EncodeToString(b)
	port, adminPort := proctest.FreePort(t), proctest.FreePort(t)
	env := append(os.Environ(), "COLLECTOR_IMAGE="+collectorImage(t), "POSTGRES_IMAGE="+postgresImage(t),
		"COLLECTOR_PORT="+port, "COLLECTOR_ADMIN_PORT="+adminPort, "POSTGRES_PASSWORD=pw-"+hex.EncodeToString(b))
	pc := func(args ...string) (string, error) {
		cmd := exec.Command(compose, append([]string{"-p", project, "-f", file}, args...)...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	t.Cleanup(func() {
		pc("down", "-v", "-t", "40")
		// podman-compose 1.0.3's down leaves the network and the volumes.
		runErr("podman", "network", "rm", "-f", project+"_default")
		runErr("podman", "volume", "rm", "-f", project+"_postgres-data", project+"_prometheus-data")
	})
	// The services are named: podman-compose 1.0.3 would start the
	// prometheus profile's too.
	if out, err := pc("up", "-d", "--no-build", "collector", "postgres"); err != nil {
		t.Fatalf("podman-compose up: %v\n%s", err, out)
	}
	url, admin := "http://127.0.0.1:"+port, "http://127.0.0.1:"+adminPort
	// The collector restarts (restart: unless-stopped) until PostgreSQL
	// accepts connections, where depends_on's condition is not honoured.
	waitHealthy(t, url, 3*time.Minute)
	for _, s := range []string{"compose-s1", "compose-s2", "compose-s3"} {
		report(t, url, "compose-c", s)
	}
	if got := storedReports(t, admin, ""); got != 3 {
		t.Errorf("%d reports stored, want 3", got)
	}
	resp, err := http.Get(url + "/api/stats")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("/api/stats on the published intake: %d, want 404 (the admin routes are on the admin port)", resp.StatusCode)
	}
	logs, _ := pc("logs", "collector")
	if !strings.Contains(logs, "db=postgres") || !strings.Contains(logs, "host=postgres") {
		t.Errorf("the collector's start line does not name the PostgreSQL host:\n%s", logs)
	}

	t.Run("prometheus profile config", func(t *testing.T) {
		promtool, err := exec.LookPath("promtool")
		if err != nil {
			t.Skip("promtool not found (apt-get install prometheus)")
		}
		dir := t.TempDir()
		for src, dst := range map[string]string{"deploy/prometheus.yml": "prometheus.yml", "collector/prometheus/alerts.yml": "alerts.yml"} {
			data, err := os.ReadFile(filepath.Join(repoRoot(t), src))
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(dir, dst), data, 0o644)
		}
		if out, err := exec.Command(promtool, "check", "config", filepath.Join(dir, "prometheus.yml")).CombinedOutput(); err != nil {
			t.Errorf("promtool check config: %v\n%s", err, out)
		}
	})
}
