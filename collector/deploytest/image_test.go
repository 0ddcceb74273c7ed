package deploytest

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/internal/proctest"
	"github.com/krakend-usage/krakend-usage/collector/store/storetest"
)

// maxImageSize bounds the image: a static binary on an empty base.
const maxImageSize = 40 << 20

// container is a collector container the test started.
type container struct {
	id, url string
}

// startContainer runs the image with args (podman run options) and waits
// until its /healthz answers at url. It returns how long that took from
// podman run on.
func startContainer(t *testing.T, url string, args ...string) (*container, time.Duration) {
	t.Helper()
	start := time.Now()
	id := strings.TrimSpace(run(t, "podman", append(append([]string{"run", "-d"}, args...), collectorImage(t))...))
	t.Cleanup(func() { runErr("podman", "rm", "-f", "-t", "0", id) })
	c := &container{id: id, url: url}
	waitHealthy(t, url, 60*time.Second)
	return c, time.Since(start)
}

// stop stops c with podman stop (SIGTERM) and checks it exited 0.
func (c *container) stop(t *testing.T) {
	t.Helper()
	run(t, "podman", "stop", "-t", "40", c.id)
	if code := strings.TrimSpace(run(t, "podman", "inspect", "--format", "{{.State.ExitCode}}", c.id)); code != "0" {
		t.Errorf("exit code after podman stop: %s, want 0\n%s", code, run(t, "podman", "logs", c.id))
	}
}

// checkProcess checks that the collector in c runs as the image's
// non-root user and that the image's health check passes.
func (c *container) checkProcess(t *testing.T) {
	t.Helper()
	top := strings.Fields(run(t, "podman", "top", c.id, "user", "huser"))
	if len(top) < 4 || top[2] == "root" || top[2] == "0" || top[3] == "root" || top[3] == "0" {
		t.Errorf("podman top: %v, want a non-root user in the container and on the host", top)
	}
	if out, err := runErr("podman", "healthcheck", "run", c.id); err != nil {
		t.Errorf("podman healthcheck run: %v\n%s", err, out)
	}
}

// TestImage builds the image and runs it as an operator would: with a
// volume and a published port, then with the host's PostgreSQL. Reports
// sent by our reporter from the host before a podman stop are all found
// by a new container on the same data.
func TestImage(t *testing.T) {
	image := collectorImage(t)
	size, err := strconv.ParseInt(strings.TrimSpace(run(t, "podman", "image", "inspect", "--format", "{{.Size}}", image)), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("image size: %.1f MB", float64(size)/1e6)
	if size > maxImageSize {
		t.Errorf("image of %d bytes, want at most %d", size, maxImageSize)
	}
	labels := run(t, "podman", "image", "inspect", "--format", "{{json .Config.Labels}}", image)
	for _, l := range []string{`"org.opencontainers.image.version":"` + testVersion + `"`, "org.opencontainers.image.revision", "org.opencontainers.image.source"} {
		if !strings.Contains(labels, l) {
			t.Errorf("labels %s, want %s", labels, l)
		}
	}
	if out := run(t, "podman", "run", "--rm", image, "-version"); !strings.Contains(out, testVersion) {
		t.Errorf("-version: %q, want %s", out, testVersion)
	}

	const token = "deploytest-admin-token"
	t.Run("sqlite volume", func(t *testing.T) {
		vol := "deploytest-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		run(t, "podman", "volume", "create", vol)
		t.Cleanup(func() { runErr("podman", "volume", "rm", "-f", vol) })
		port := proctest.FreePort(t)
		url := "http://127.0.0.1:" + port
		args := []string{"--read-only", "-v", vol + ":/data", "-p", "127.0.0.1:" + port + ":8090", "-e", "USAGE_COLLECTOR_ADMIN_TOKEN=" + token}
		start := time.Now()
		c, ready := startContainer(t, url, args...)
		report(t, url, "image-c", "image-s0")
		t.Logf("from podman run: /healthz 200 after %s, the first report accepted after %s (20-bit stamp minted on the host)",
			ready.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
		c.checkProcess(t)
		sendAndRestart(t, c, url, token, func() *container { c, _ := startContainer(t, url, args...); return c })
	})
	t.Run("postgres host network", func(t *testing.T) {
		dsn := storetest.PostgresDSN(t)
		port := proctest.FreePort(t)
		url := "http://127.0.0.1:" + port
		args := []string{"--read-only", "--network=host", "-e", "USAGE_COLLECTOR_LISTEN=127.0.0.1:" + port,
			"-e", "USAGE_COLLECTOR_DB=" + dsn, "-e", "USAGE_COLLECTOR_ADMIN_TOKEN=" + token}
		c, _ := startContainer(t, url, args...)
		c.checkProcess(t)
		sendAndRestart(t, c, url, token, func() *container { c, _ := startContainer(t, url, args...); return c })
	})
}

// sendAndRestart sends reports to c, stops it with SIGTERM, starts a new
// container with again and checks that every report acknowledged is
// stored.
func sendAndRestart(t *testing.T, c *container, url, token string, again func() *container) {
	t.Helper()
	before := storedReports(t, url, token)
	const n = 6
	for i := range n {
		report(t, url, "image-c", fmt.Sprintf("image-s%d", i%3))
	}
	c.stop(t)
	c = again()
	if got := storedReports(t, url, token); got != before+n {
		t.Errorf("after podman stop and a new container: %d reports stored, want %d", got, before+n)
	}
	c.stop(t)
}
