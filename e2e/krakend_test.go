package e2e

import (
	"debug/buildinfo"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/krakend-usage/krakend-usage/usage/usagetest"
)

// KrakenD's own checks, run with the stock binaries: what an operator
// runs before deploying the plugin (docs/gateway.md, "Troubleshooting"),
// and one report through a real `krakend run`, in every supported release
// and libc. The newest release also runs the whole end-to-end suite
// (e2e_test.go).

// krakendCmd runs the KrakenD binary bin with args and returns its output.
func krakendCmd(t *testing.T, bin string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = gatewayEnv()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

var libcLine = regexp.MustCompile(`(?m)^Glibc Version: (\S+)`)

// TestKrakenDReleases: in each release and libc, `krakend check-plugin`
// finds no module of the release's pins at another version than the
// binary's, `krakend test-plugin` loads the .so built for it, and a
// gateway running it delivers a report to a collector.
func TestKrakenDReleases(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the plugins and runs gateways")
	}
	for _, spec := range stockHosts(t) {
		t.Run(spec.name, func(t *testing.T) {
			h := spec.resolve(t)
			t.Run("check-plugin", func(t *testing.T) {
				// -l: the libc the binary was stamped with (build.sh
				// stamps none: "undefined"); the .so is built here.
				version, _ := krakendCmd(t, h.Bin, "version")
				libc := "undefined"
				if m := libcLine.FindStringSubmatch(version); m != nil {
					libc = m[1]
				}
				sum := strings.TrimSuffix(findTarget(t, h.Release).modfile(), ".mod") + ".sum"
				out, err := krakendCmd(t, h.Bin, "check-plugin", "-g", h.Go, "-s", sum, "-l", libc, "-f")
				if err != nil || !strings.Contains(out, "No incompatibilities found!") {
					t.Errorf("krakend check-plugin -g %s -s %s -l %s: %v\n%s", h.Go, sum, libc, err, out)
				}
			})
			t.Run("test-plugin", func(t *testing.T) {
				out, err := krakendCmd(t, h.Bin, "test-plugin", "-s", h.Plugin)
				if want := "[OK] SERVER\t" + filepath.Base(h.Plugin); err != nil || !strings.Contains(out, want) {
					t.Errorf("krakend test-plugin -s %s: %v, want %q:\n%s", h.Plugin, err, want, out)
				}
			})
			t.Run("report", func(t *testing.T) {
				e := newE2EOn(t, h)
				col := usagetest.NewCollector(t, 20)
				g := e.start(t, col, e.config(t, col, nil), nil)
				reports := col.WaitReports(t, 1, 60*time.Second)
				// Logged once the collector's answer is read.
				g.waitLog(t, "INFO: [PLUGIN: krakend-usage] Report accepted")
				g.stop()
				if v := reports[0].Data.Version; v != h.Release {
					t.Errorf("reported version %q, want %q", v, h.Release)
				}
			})
		})
	}
}

// TestKrakenDHosts checks what krakendHosts hands to the cross-host
// tests: every host is the release it says, and its plugin is built with
// that release's Go.
func TestKrakenDHosts(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the plugins")
	}
	for _, h := range krakendHosts(t) {
		info, err := buildinfo.ReadFile(h.Plugin)
		if err != nil {
			t.Errorf("%s: plugin %s: %v", h.Name, h.Plugin, err)
		} else if info.GoVersion != "go"+h.Go {
			t.Errorf("%s: plugin %s built with %s, want go%s", h.Name, h.Plugin, info.GoVersion, h.Go)
		}
		if !h.Stock() {
			continue
		}
		out, _ := krakendCmd(t, h.Bin, "version")
		if !strings.Contains(out, "KrakenD Version: "+h.Release+"\n") {
			t.Errorf("%s: %s version says %q, want KrakenD %s", h.Name, h.Bin, out, h.Release)
		}
	}
}

// TestKrakenDCheckExample lints examples/krakend.json against the schema
// built into KrakenD (no network), as `krakend check -n` does.
func TestKrakenDCheckExample(t *testing.T) {
	h := gatewayHosts[1].resolve(t)
	out, err := krakendCmd(t, h.Bin, "check", "-n", "-c", "examples/krakend.json")
	if err != nil || !strings.Contains(out, "Syntax OK!") {
		t.Errorf("krakend check -n -c examples/krakend.json: %v\n%s", err, out)
	}
}
