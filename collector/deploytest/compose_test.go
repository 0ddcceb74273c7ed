package deploytest

import (
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

	"github.com/krakend-usage/krakend-usage/collector/internal/proctest"
)

// Stand-ins for official images, built from testdata on the local Debian
// image where no registry is reachable (see README.md).
const (
	// postgresStandin replaces postgres:17: Debian's PostgreSQL 15.
	postgresStandin = "localhost/usage-postgres-standin:15"
	// prometheusStandin replaces prom/prometheus: Debian's Prometheus.
	prometheusStandin = "localhost/usage-prometheus-standin:1"
)

var (
	standinMu    sync.Mutex
	standinBuilt = map[string]error{}
)

// standin returns image, built from testdata/dir unless it exists.
func standin(t *testing.T, image, dir string) string {
	t.Helper()
	requirePodman(t)
	standinMu.Lock()
	defer standinMu.Unlock()
	err, done := standinBuilt[image]
	if !done {
		if _, err = runErr("podman", "image", "exists", image); err != nil {
			var out string
			if out, err = runErr("podman", "build", "-t", image, filepath.Join("testdata", dir)); err != nil {
				err = fmt.Errorf("%v\n%s", err, out)
			}
		}
		standinBuilt[image] = err
	}
	if err != nil {
		t.Fatalf("build %s: %v", image, err)
	}
	return image
}

func postgresImage(t *testing.T) string { return standin(t, postgresStandin, "postgres") }

// TestCompose runs deploy/compose.yaml with podman-compose: the collector
// on PostgreSQL, reports from our reporter on the published intake port,
// the fleet on the admin port of the host's loopback; then the prometheus
// profile's service, which must scrape the collector and load the alert
// rules. Substituted: the official postgres and prom/prometheus images by
// postgresStandin and prometheusStandin, the collector image by the one
// built from this tree. podman-compose 1.0.3 knows no profiles: the
// services are started by name.
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
	secret := randomHex(4)
	project := "deploytest" + secret
	port, adminPort := proctest.FreePort(t), proctest.FreePort(t)
	env := append(os.Environ(), "COLLECTOR_IMAGE="+collectorImage(t), "POSTGRES_IMAGE="+postgresImage(t),
		"COLLECTOR_PORT="+port, "COLLECTOR_ADMIN_PORT="+adminPort, "POSTGRES_PASSWORD=pw-"+secret)
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

	t.Run("prometheus profile", func(t *testing.T) {
		promPort := proctest.FreePort(t)
		env = append(env, "PROMETHEUS_IMAGE="+standin(t, prometheusStandin, "prometheus"), "PROMETHEUS_PORT="+promPort)
		// Named: podman-compose 1.0.3 knows no profiles.
		if out, err := pc("up", "-d", "--no-build", "prometheus"); err != nil {
			t.Fatalf("podman-compose up prometheus: %v\n%s", err, out)
		}
		prom := "http://127.0.0.1:" + promPort
		var targets struct {
			Data struct {
				ActiveTargets []struct{ Health, ScrapeURL, LastError string }
			}
		}
		var rules struct {
			Data struct{ Groups []struct{ Name string } }
		}
		deadline := time.Now().Add(3 * time.Minute)
		for {
			getJSON(prom+"/api/v1/targets", &targets)
			getJSON(prom+"/api/v1/rules", &rules)
			if len(targets.Data.ActiveTargets) == 1 && targets.Data.ActiveTargets[0].Health == "up" && len(rules.Data.Groups) > 0 {
				break
			}
			if time.Now().After(deadline) {
				logs, _ := pc("logs", "prometheus")
				t.Fatalf("Prometheus: targets %+v, rule groups %+v, want the collector up and the alert rules loaded\n%s", targets.Data, rules.Data, logs)
			}
			time.Sleep(time.Second)
		}
		t.Logf("Prometheus scrapes %s and loaded the rule group %s", targets.Data.ActiveTargets[0].ScrapeURL, rules.Data.Groups[0].Name)
	})
}

// getJSON decodes url's answer into v, leaving v as it is on any error.
func getJSON(url string, v any) {
	resp, err := http.Get(url)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	json.NewDecoder(resp.Body).Decode(v)
}
