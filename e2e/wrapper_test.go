package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	krakendusage "github.com/krakend-usage/krakend-usage"
	"github.com/krakend-usage/krakend-usage/internal/testenv"
	"github.com/krakend-usage/krakend-usage/usage/krakend"
	"github.com/krakend-usage/krakend-usage/usage/usagetest"
)

// The krakend-usage command beside the stock KrakenD of the newest
// release, glibc and musl (KRAKEND_BIN, KRAKEND_MUSL_BIN): the whole
// end-to-end suite of the plugin, run through the wrapper on the same
// configs (written for the plugin: the wrapper reads the plugin's block),
// then what only a process beside the gateway must get right.

// wrapperE2E is the end-to-end suite's setup for host under the wrapper:
// no plugin to load (an empty plugin folder), krakend-usage run -- first.
func wrapperE2E(t *testing.T, host gatewayHost) *e2e {
	t.Helper()
	e := newE2E(t, host)
	e.pluginDir = t.TempDir()
	e.wrap = []string{krakendUsage(t), "run", "--"}
	e.prefix = krakend.LogPrefix
	return e
}

func TestWrapperEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs gateways")
	}
	for _, host := range gatewayHosts[1:] {
		t.Run(host.name, func(t *testing.T) {
			e := wrapperE2E(t, host)
			e.suite(t)
			e.wrapperSuite(t)
		})
	}
}

// wrapperSuite checks what the wrapper adds to the plugin's suite.
func (e *e2e) wrapperSuite(t *testing.T) {
	t.Run("identity", func(t *testing.T) {
		t.Parallel()
		col := usagetest.NewCollector(t, 20)
		file := e.config(t, col, nil)
		g := e.start(t, col, file, nil)
		reports := col.WaitReports(t, 1, 60*time.Second)
		g.stop()
		cfg, err := krakendusage.NewConfigParser(testenv.NoEnv).Parse(file)
		if err != nil {
			t.Fatal(err)
		}
		digest, _ := krakendusage.ConfigDigest(cfg)
		d := reports[0].Data
		if want := krakendusage.ClusterID(digest); d.ClusterID != want {
			t.Errorf("cluster ID %s, want %s (the plugin's for this config)", d.ClusterID, want)
		}
		if want := krakendusage.ServerID(krakend.InstanceIdentity(), cfg.Port); d.ServerID != want {
			t.Errorf("server ID %s, want %s (the plugin's on this host and port)", d.ServerID, want)
		}
		want := krakendusage.NewPayload(cfg)
		want.Mode, want.Libc = krakend.ModeWrapper, e.host.Libc
		if string(d.Extra) != string(want.JSON()) {
			t.Errorf("payload %s, want %s", d.Extra, want.JSON())
		}
		if d.Version != e.host.Release || d.Uptime < 0 || d.Uptime > 60 {
			t.Errorf("version %q, uptime %d; want %q and the gateway's few seconds", d.Version, d.Uptime, e.host.Release)
		}
		// The dry run prints the same IDs.
		out, err := exec.Command(e.wrap[0], "dry-run", "-c", file, "--krakend", e.gateway).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "cluster ID: "+d.ClusterID+"\nserver ID:  "+d.ServerID+"\n") {
			t.Errorf("dry run: %v\n%s\nwant cluster %s and server %s", err, out, d.ClusterID, d.ServerID)
		}
	})

	// SIGTERM reaches KrakenD, which shuts down; the wrapper exits with
	// its status, right after it, leaving no process behind.
	t.Run("SIGTERM", func(t *testing.T) {
		t.Parallel()
		col := usagetest.NewCollector(t, 20)
		g := e.start(t, col, e.config(t, col, nil), nil)
		col.WaitReports(t, 1, 60*time.Second)
		child := gatewayChild(t, g)
		g.noProbe = true // the probes fail once KrakenD is stopped
		start := time.Now()
		if err := g.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		err := g.cmd.Wait()
		took := time.Since(start)
		if g.cmd.ProcessState.ExitCode() != 0 {
			t.Errorf("wrapper after SIGTERM: %v, want exit 0 (KrakenD's)\n%s", err, g.out.String())
		}
		if took > 10*time.Second {
			t.Errorf("the wrapper took %s to stop", took)
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", child)); err == nil {
			t.Errorf("KrakenD (pid %d) outlived the wrapper", child)
		}
		if !strings.Contains(g.out.String(), "Signal intercepted") && !strings.Contains(g.out.String(), "terminated") {
			t.Logf("KrakenD's log after SIGTERM:\n%s", g.out.String())
		}
	})

	// A KrakenD killed with SIGKILL takes the wrapper with it: exit 137.
	t.Run("SIGKILL of the gateway", func(t *testing.T) {
		t.Parallel()
		col := usagetest.NewCollector(t, 20)
		g := e.start(t, col, e.config(t, col, nil), nil)
		g.noProbe = true // the probes fail once KrakenD is stopped
		child := gatewayChild(t, g)
		if err := syscall.Kill(child, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		g.cmd.Wait()
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("the wrapper outlived its child by %s", took)
		}
		if code := g.cmd.ProcessState.ExitCode(); code != 128+9 {
			t.Errorf("wrapper exit %d, want 137", code)
		}
	})

	// A config file the reporter cannot read as KrakenD would is said in
	// one line, and the gateway serves as without the wrapper.
	t.Run("unreadable usage block", func(t *testing.T) {
		t.Parallel()
		col := usagetest.NewCollector(t, 20)
		g := e.start(t, col, e.config(t, col, func(m map[string]interface{}) {
			m["extra_config"].(map[string]interface{})[krakendusage.Namespace] = "not an object"
		}), nil)
		g.waitLog(t, `ERROR: [SERVICE: Usage] Usage reporter not started: config key "telemetry/usage": bad value "not an object": want a JSON object`)
		time.Sleep(krakend.MaxStartDelay + time.Second)
		g.stop() // fails the test unless every endpoint answered throughout
		if raw := col.Requests(); len(raw) != 0 {
			t.Errorf("the collector got %d requests", len(raw))
		}
	})
}

// gatewayChild returns the PID of the KrakenD the wrapper runs.
func gatewayChild(t *testing.T, g *runningGateway) int {
	t.Helper()
	f := procChildren(g.cmd.Process.Pid)
	if len(f) != 1 {
		t.Fatalf("the wrapper has children %v, want KrakenD alone", f)
	}
	return f[0]
}

// procChildren lists the children of process pid: each of its threads
// lists those it started.
func procChildren(pid int) []int {
	var out []int
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, task := range tasks {
		b, _ := os.ReadFile(task)
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// Moving from the plugin to the wrapper keeps the cluster and the server:
// the same config, host and port, run first with the plugin, then under
// the wrapper, is one cluster and one server at a real collector.
func TestUpgradeFromPluginToWrapper(t *testing.T) {
	if testing.Short() {
		t.Skip("runs gateways")
	}
	collector := testenv.StartCollector(t)
	e := newE2E(t, gatewayHosts[1])
	col := usagetest.NewCollector(t, 20)
	col.Upstream = collector
	file := e.config(t, col, func(m map[string]interface{}) { usageBlock(m)["report_lapse"] = "1h" })
	g := e.start(t, col, file, nil)
	col.WaitReports(t, 1, 60*time.Second)
	g.stop()

	// The plugin's folder emptied: what a KrakenD without plugins runs.
	w := *e
	w.pluginDir = t.TempDir()
	w.wrap = []string{krakendUsage(t), "run", "--"}
	w.prefix = krakend.LogPrefix
	file2 := w.variant(t, file, func(m map[string]interface{}) {
		m["plugin"].(map[string]interface{})["folder"] = w.pluginDir
	})
	g = w.start(t, col, file2, nil)
	reports := col.WaitReports(t, 2, 60*time.Second)
	g.stop()
	if a, b := reports[0].Data, reports[1].Data; a.ClusterID != b.ClusterID || a.ServerID != b.ServerID {
		t.Errorf("plugin sent %s/%s, wrapper %s/%s", a.ClusterID, a.ServerID, b.ClusterID, b.ServerID)
	}
	var stats struct {
		Clusters int `json:"clusters"`
		Servers  int `json:"servers"`
	}
	collectorStats(t, collector, &stats)
	if stats.Clusters != 1 || stats.Servers != 1 {
		t.Errorf("the collector counts %d clusters and %d servers, want 1 and 1", stats.Clusters, stats.Servers)
	}
}

// startSidecar runs krakend-usage sidecar beside the gateway serving cfg
// on port, checking its health every 200ms, until the test ends.
func startSidecar(t testing.TB, cfg string, port int) *usagetest.Log {
	t.Helper()
	cmd := exec.Command(krakendUsage(t), "sidecar", "-c", cfg, "--gateway", fmt.Sprintf("http://127.0.0.1:%d", port), "--health-interval", "200ms")
	cmd.Env = append(gatewayEnv(), "USAGE_DISABLE=", "DO_NOT_TRACK=")
	out := &usagetest.Log{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		if t.Failed() {
			t.Logf("sidecar log:\n%s", out.String())
		}
	})
	return out
}

// The sidecar reports while the gateway answers /__health, stops when it
// stops answering, and starts again when it is back.
func TestSidecar(t *testing.T) {
	if testing.Short() {
		t.Skip("runs gateways")
	}
	for _, host := range gatewayHosts[1:] {
		t.Run(host.name, func(t *testing.T) {
			t.Parallel()
			e := newE2E(t, host)
			e.pluginDir = t.TempDir()
			col := usagetest.NewCollector(t, 20)
			file := e.config(t, col, nil)
			cfg, err := krakendusage.NewConfigParser(testenv.NoEnv).Parse(file)
			if err != nil {
				t.Fatal(err)
			}
			g := e.start(t, col, file, nil)
			out := startSidecar(t, file, cfg.Port)
			reports := col.WaitReports(t, 2, 60*time.Second)
			d := reports[0].Data
			var p krakendusage.Payload
			json.Unmarshal(d.Extra, &p)
			digest, _ := krakendusage.ConfigDigest(cfg)
			if d.ClusterID != krakendusage.ClusterID(digest) || d.ServerID != krakendusage.ServerID(krakend.InstanceIdentity(), cfg.Port) || d.Version != e.host.Release || p.Mode != krakend.ModeSidecar {
				t.Errorf("report %+v, payload %s; want the plugin's IDs, version %s and mode sidecar", d, d.Extra, e.host.Release)
			}
			g.stop()
			waitFor(t, out, "The gateway stopped answering")
			sessions := col.Sessions()
			before := col.Reports()
			time.Sleep(2 * time.Second) // report_lapse is 1s
			if after := col.Reports(); len(after) != len(before) {
				t.Errorf("%d reports after the gateway stopped", len(after)-len(before))
			}
			g = e.start(t, col, file, nil)
			defer g.stop()
			deadline := time.Now().Add(30 * time.Second)
			for {
				if s := col.Sessions(); len(s) > len(sessions) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no new session after the gateway came back:\n%s", out.String())
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}

// waitFor waits until out holds s.
func waitFor(t *testing.T, out *usagetest.Log, s string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in:\n%s", s, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The arm64 krakend-usage wraps the arm64 stock KrakenD, both run by
// qemu-user (KRAKEND_ARM64_BIN: targets/krakend-arm64.sh glibc RELEASE):
// a report arrives with arch arm64 and the gateway's version and libc.
// The wrapper sees qemu as its child's executable, so it reads KrakenD
// from the command line, as without /proc.
func TestWrapperArm64(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a gateway under qemu-user")
	}
	bin := os.Getenv("KRAKEND_ARM64_BIN")
	qemu, err := exec.LookPath("qemu-aarch64")
	switch {
	case bin == "":
		testenv.SkipOrFail(t, "KRAKEND_ARM64_BIN is not set (targets/krakend-arm64.sh glibc "+readTarget(t).Version+" builds it)")
	case err != nil:
		testenv.SkipOrFail(t, "qemu-aarch64 not found (Debian: apt-get install qemu-user)")
	}
	r := testenv.BuildTool(".", "./cmd/krakend-usage", "krakend-usage-arm64", "GOARCH=arm64")
	if r.Out != "" {
		t.Fatalf("building krakend-usage for arm64: %s", r.Out)
	}
	col := usagetest.NewCollector(t, 20)
	// qemu-aarch64 krakend-usage run -- qemu-aarch64 -L SYSROOT krakend run -c FILE
	e := &e2e{host: krakendHost{Name: "KrakenD arm64 (qemu)"}, gateway: bin, dir: t.TempDir(), noProbe: true, prefix: krakend.LogPrefix,
		wrap: []string{qemu, r.Path, "run", "--", qemu, "-L", "/usr/aarch64-linux-gnu"}}
	file := everyComponentConfig(t, e.dir, t.TempDir(), usagetest.FreePort(t), col, newTestBackend(t).URL)
	g := e.start(t, col, file, nil)
	defer g.stop()
	reports := col.WaitReports(t, 1, 120*time.Second)
	d := reports[0].Data
	var p krakendusage.Payload
	json.Unmarshal(d.Extra, &p)
	if d.Arch != "arm64" || d.Version != readTarget(t).Version || p.Mode != krakend.ModeWrapper || p.Libc != krakend.LibcGlibc {
		t.Errorf("report %+v, payload %s; want arch arm64, version %s, mode wrapper, libc glibc", d, d.Extra, readTarget(t).Version)
	}
}
