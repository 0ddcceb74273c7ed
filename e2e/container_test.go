package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	krakendusage "github.com/krakend-usage/krakend-usage"
	"github.com/krakend-usage/krakend-usage/usage/krakend"
	"github.com/krakend-usage/krakend-usage/usage/usagetest"
)

// The images of deploy/krakend/Dockerfile, built and run with podman: the
// official KrakenD image with the wrapper as its entrypoint, and the
// static binary alone as a sidecar beside the official image.
//
// USAGE_TEST_KRAKEND_IMAGE names the KrakenD image to build on (here a
// stand-in of the official layout, ../shared/containers/krakend-image.sh;
// elsewhere devopsfaith/krakend:2.13.8 or :3.0.0). Without it, or without
// podman, the test skips; USAGE_TEST_REQUIRE_PODMAN=1 makes it fail.

// podmanOrSkip returns the KrakenD base image, or skips saying what is
// missing.
func podmanOrSkip(t *testing.T) string {
	t.Helper()
	why := ""
	image := os.Getenv("USAGE_TEST_KRAKEND_IMAGE")
	if _, err := exec.LookPath("podman"); err != nil {
		why = "podman is not installed (Debian: apt-get install podman; here ../shared/containers/setup.sh)"
	} else if image == "" {
		why = "USAGE_TEST_KRAKEND_IMAGE is not set (e.g. devopsfaith/krakend:2.13.8, or here localhost/krakend-standin:2.13.8 from ../shared/containers/krakend-image.sh 2.13.8)"
	}
	if why != "" {
		if os.Getenv("USAGE_TEST_REQUIRE_PODMAN") != "" {
			t.Fatalf("%s (USAGE_TEST_REQUIRE_PODMAN is set)", why)
		}
		t.Skip(why)
	}
	return image
}

func podman(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("podman", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("podman %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// containerConfig writes a krakend.json for a container on the host's
// network: the gateway on port, reporting to col every second.
func containerConfig(t *testing.T, port int, col *usagetest.Collector) string {
	t.Helper()
	m := map[string]interface{}{
		"version": 3, "port": port,
		"extra_config": map[string]interface{}{krakendusage.Namespace: map[string]interface{}{"url": col.URL, "report_lapse": "1s"}},
		"endpoints": []interface{}{map[string]interface{}{"endpoint": "/self", "backend": []interface{}{
			map[string]interface{}{"host": []interface{}{fmt.Sprintf("http://127.0.0.1:%d", port)}, "url_pattern": "/__health"}}}},
	}
	b, _ := json.Marshal(m)
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "krakend.json")
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

func TestContainerImages(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs container images")
	}
	base := podmanOrSkip(t)
	tag := fmt.Sprintf("localhost/krakend-usage-test:%d", os.Getpid())
	gwTag := tag + "-krakend"
	build := []string{"build", "-q", "-f", "deploy/krakend/Dockerfile", "--build-arg", "GOPROXY=" + goproxyForBuild()}
	start := time.Now()
	podman(t, append(build, "--target", "krakend-usage", "-t", tag, ".")...)
	podman(t, append(build, "--build-arg", "KRAKEND_IMAGE="+base, "-t", gwTag, ".")...)
	t.Logf("built both images in %s", time.Since(start).Round(time.Second))
	t.Cleanup(func() { exec.Command("podman", "rmi", "-f", tag, gwTag).Run() })
	size, _ := strconv.ParseFloat(podman(t, "image", "inspect", "--format", "{{.Size}}", tag), 64)
	t.Logf("%s: %.1f MB", tag, size/1e6)

	t.Run("wrapper in the KrakenD image", func(t *testing.T) {
		col := usagetest.NewCollector(t, 20)
		port := usagetest.FreePort(t)
		file := containerConfig(t, port, col)
		name := fmt.Sprintf("krakend-usage-test-%d-wrapper", os.Getpid())
		podman(t, "run", "-d", "--name", name, "--network=host", "-e", "HTTPS_PROXY=http://127.0.0.1:9",
			"-v", file+":/etc/krakend/krakend.json:ro", gwTag)
		t.Cleanup(func() {
			if t.Failed() {
				out, _ := exec.Command("podman", "logs", name).CombinedOutput()
				t.Logf("container log:\n%s", out)
			}
			exec.Command("podman", "rm", "-f", name).Run()
		})
		reports := col.WaitReports(t, 1, 90*time.Second)
		var p krakend.Payload
		json.Unmarshal(reports[0].Data.Extra, &p)
		if p.Mode != krakend.ModeWrapper || p.Libc != krakend.LibcMusl || reports[0].Data.Version == "undefined" {
			t.Errorf("report %+v, payload %s: want mode wrapper, libc musl and KrakenD's version", reports[0].Data, reports[0].Data.Extra)
		}
		// KrakenD runs as uid 1000, as in the image without the wrapper,
		// and the wrapper (PID 1) no longer runs as root.
		pid1, _ := strconv.Atoi(podman(t, "inspect", "--format", "{{.State.Pid}}", name))
		gw := -1
		if c := procChildren(pid1); len(c) == 1 {
			gw = c[0]
		}
		for what, pid := range map[string]int{"KrakenD": gw, "the wrapper": pid1} {
			if uid, _ := procIDsOf(pid); uid != 1000 {
				t.Errorf("%s (pid %d) runs as uid %d, want 1000", what, pid, uid)
			}
		}
		if out, err := exec.Command("curl", "-sf", fmt.Sprintf("http://127.0.0.1:%d/self", port)).CombinedOutput(); err != nil {
			t.Errorf("the gateway does not answer: %v %s", err, out)
		}
		stop := time.Now()
		podman(t, "stop", "-t", "10", name)
		took := time.Since(stop)
		code := podman(t, "inspect", "--format", "{{.State.ExitCode}}", name)
		t.Logf("podman stop took %s, exit %s", took.Round(time.Millisecond), code)
		if code != "0" || took > 9*time.Second {
			t.Errorf("podman stop: exit %s after %s; want KrakenD's clean exit 0 on SIGTERM, before podman's 10s kill", code, took)
		}
	})

	t.Run("sidecar beside the KrakenD image", func(t *testing.T) {
		col := usagetest.NewCollector(t, 20)
		port := usagetest.FreePort(t)
		file := containerConfig(t, port, col)
		gw := fmt.Sprintf("krakend-usage-test-%d-gateway", os.Getpid())
		sc := fmt.Sprintf("krakend-usage-test-%d-sidecar", os.Getpid())
		podman(t, "run", "-d", "--name", gw, "--network=host", "-e", "USAGE_DISABLE=1", "-e", "HTTPS_PROXY=http://127.0.0.1:9",
			"-v", file+":/etc/krakend/krakend.json:ro", base)
		podman(t, "run", "-d", "--name", sc, "--network=host", "-v", file+":/etc/krakend/krakend.json:ro",
			tag, "sidecar", "-c", "/etc/krakend/krakend.json", "--health-interval", "500ms")
		t.Cleanup(func() {
			if t.Failed() {
				for _, n := range []string{gw, sc} {
					out, _ := exec.Command("podman", "logs", n).CombinedOutput()
					t.Logf("%s log:\n%s", n, out)
				}
			}
			exec.Command("podman", "rm", "-f", gw, sc).Run()
		})
		reports := col.WaitReports(t, 1, 90*time.Second)
		var p krakend.Payload
		json.Unmarshal(reports[0].Data.Extra, &p)
		if p.Mode != krakend.ModeSidecar || reports[0].Data.Version == "undefined" {
			t.Errorf("report %+v, payload %s: want mode sidecar and the version from KrakenD's X-KrakenD header", reports[0].Data, reports[0].Data.Extra)
		}
		stop := time.Now()
		podman(t, "stop", "-t", "10", sc)
		if took := time.Since(stop); took > 5*time.Second {
			t.Errorf("the sidecar took %s to stop", took)
		}
	})

	// The Kubernetes example, as podman play kube runs it: the same
	// manifest with the local images, this test's collector and a free
	// port, on the host's network (podman's pod network cannot reach the
	// test collector on loopback), one replica (podman runs one pod).
	t.Run("kubernetes example", func(t *testing.T) {
		col := usagetest.NewCollector(t, 20)
		port := usagetest.FreePort(t)
		b, err := os.ReadFile("deploy/krakend/kubernetes.yaml")
		if err != nil {
			t.Fatal(err)
		}
		y := string(b)
		for _, r := range [][2]string{
			// podman refuses port mappings on the host's network.
			{"          ports:\n            - containerPort: 8080\n", ""},
			{"devopsfaith/krakend:3.0.0", base},
			{"registry.example.com/krakend-usage:latest", tag},
			{"https://usage-collector.example.com", col.URL},
			{"8080", strconv.Itoa(port)},
			{"replicas: 2", "replicas: 1"},
			{"      shareProcessNamespace: true", "      hostNetwork: true\n      shareProcessNamespace: true"},
		} {
			if !strings.Contains(y, r[0]) {
				t.Fatalf("deploy/krakend/kubernetes.yaml has no %q", r[0])
			}
			y = strings.ReplaceAll(y, r[0], r[1])
		}
		file := filepath.Join(t.TempDir(), "kube.yaml")
		if err := os.WriteFile(file, []byte(y), 0o644); err != nil {
			t.Fatal(err)
		}
		podman(t, "play", "kube", file)
		t.Cleanup(func() {
			if t.Failed() {
				out, _ := exec.Command("podman", "pod", "logs", "krakend-pod-0").CombinedOutput()
				t.Logf("pod log:\n%s", out)
			}
			exec.Command("podman", "play", "kube", "--down", file).Run()
		})
		reports := col.WaitReports(t, 1, 90*time.Second)
		var p krakend.Payload
		json.Unmarshal(reports[0].Data.Extra, &p)
		if p.Mode != krakend.ModeSidecar || p.Libc != krakend.LibcMusl || reports[0].Data.Version == "undefined" {
			t.Errorf("report %+v, payload %s: want mode sidecar, and the gateway's version and libc read from its process (shareProcessNamespace)", reports[0].Data, reports[0].Data.Extra)
		}
	})
}

// procIDsOf reads the real user and group IDs of a host process.
func procIDsOf(pid int) (uid, gid int) {
	uid, gid = -1, -1
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "Uid:" {
			uid, _ = strconv.Atoi(f[1])
		}
		if len(f) >= 2 && f[0] == "Gid:" {
			gid, _ = strconv.Atoi(f[1])
		}
	}
	return
}

// goproxyForBuild is the module proxy the image build uses: the first
// network proxy of GOPROXY (a file:// proxy of this machine is not in the
// build's view; the root module's pins are all on the public proxy).
func goproxyForBuild() string {
	out, _ := exec.Command("go", "env", "GOPROXY").Output()
	var keep []string
	for _, p := range strings.Split(strings.TrimSpace(string(out)), ",") {
		if p != "" && !strings.HasPrefix(p, "file://") {
			keep = append(keep, p)
		}
	}
	if len(keep) == 0 {
		return "https://proxy.golang.org,direct"
	}
	return strings.Join(keep, ",")
}
