package deploytest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/krakend-usage/krakend-usage/usage"
)

// requirePodmanEnv, set to 1, turns every skip for want of podman into a
// failure: CI sets it where podman must work.
const requirePodmanEnv = "USAGE_TEST_REQUIRE_PODMAN"

// requirePodman skips t, saying how to get podman, unless podman runs
// containers here; with USAGE_TEST_REQUIRE_PODMAN=1 it fails t instead.
func requirePodman(t *testing.T) {
	t.Helper()
	out, err := exec.Command("podman", "info", "--format", "{{.Host.OCIRuntime.Name}}").CombinedOutput()
	if err == nil {
		return
	}
	msg := fmt.Sprintf("podman does not work here (%v: %s): install podman (on these machines: ../shared/containers/setup.sh, see its README)", err, strings.TrimSpace(string(out)))
	if os.Getenv(requirePodmanEnv) == "1" {
		t.Fatalf("%s; %s=1 wants it", msg, requirePodmanEnv)
	}
	t.Skip(msg)
}

// run runs a command and returns its standard output; a failure fails t
// with the command's output.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := runErr(name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

func runErr(name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return stdout.String() + stderr.String(), err
	}
	return stdout.String(), nil
}

// repoRoot is the repository's root directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

var (
	imageOnce sync.Once
	imageErr  error
)

// testImage is the image collector/Dockerfile builds from this working
// tree, built once per test run.
const testImage = "localhost/usage-collector:deploytest"

// testVersion is the version stamped into the test image.
const testVersion = "v0.0.0-deploytest"

// collectorImage builds testImage from a context holding usage/ and
// collector/ of the working tree, as collector/Dockerfile.dockerignore
// leaves them.
func collectorImage(t *testing.T) string {
	t.Helper()
	requirePodman(t)
	imageOnce.Do(func() {
		root := repoRoot(t)
		ctx, err := os.MkdirTemp("", "deploytest-context")
		if err != nil {
			imageErr = err
			return
		}
		defer os.RemoveAll(ctx)
		tar := fmt.Sprintf("tar -C %q -c --exclude=testdata --exclude='*_test.go' usage collector | tar -C %q -x", root, ctx)
		if out, err := exec.Command("sh", "-c", tar).CombinedOutput(); err != nil {
			imageErr = fmt.Errorf("context: %v\n%s", err, out)
			return
		}
		rev, _ := runErr("git", "-C", root, "rev-parse", "HEAD")
		start := time.Now()
		// --no-cache: buildah 1.28 reuses a COPY layer whose --chown
		// changed. The Go caches are cache mounts, kept across builds.
		out, err := runErr("podman", "build", "--no-cache", "--format", "docker", "-f", "collector/Dockerfile",
			"--build-arg", "VERSION="+testVersion, "--build-arg", "REVISION="+strings.TrimSpace(rev),
			"--build-arg", "TARGETARCH="+runtime.GOARCH, "-t", testImage, ctx)
		if err != nil {
			imageErr = fmt.Errorf("podman build: %v\n%s", err, out)
			return
		}
		t.Logf("built %s in %s", testImage, time.Since(start).Round(time.Second))
	})
	if imageErr != nil {
		t.Fatal(imageErr)
	}
	return testImage
}

// waitHealthy polls url's /healthz until it answers 200.
func waitHealthy(t *testing.T, url string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		resp, err := http.Get(url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s/healthz did not answer 200 within %s (last: %v)", url, within, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// report sends one report with our reporter, a session of its own per
// server, and fails t unless it is accepted.
func report(t *testing.T, url, cluster, server string) {
	t.Helper()
	r, err := usage.New(usage.Options{URL: url, ClusterID: cluster, ServerID: server, Version: "v2.13.2"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := r.SingleReport(ctx); err != nil {
		t.Fatalf("report %s/%s to %s: %v", cluster, server, url, err)
	}
}

// storedReports asks url's /api/stats, with the admin token when one is
// given, how many reports are stored.
func storedReports(t *testing.T, url, token string) int64 {
	t.Helper()
	req, _ := http.NewRequest("GET", url+"/api/stats", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var st struct{ Reports int64 }
	if resp.StatusCode != 200 || json.Unmarshal(body, &st) != nil {
		t.Fatalf("GET %s/api/stats: %d %s", url, resp.StatusCode, body)
	}
	return st.Reports
}
