package krakendusage

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// KrakenD's own checks, run with the stock binaries: what an operator
// runs before deploying the plugin (docs/gateway.md, "Troubleshooting").

// krakendCmd runs the KrakenD binary bin with args and returns its output.
func krakendCmd(t *testing.T, bin string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = gatewayEnv()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

var libcLine = regexp.MustCompile(`(?m)^Glibc Version: (\S+)`)

// TestKrakenDCheckPlugin runs `krakend check-plugin -g <KrakenD's Go> -s
// go.sum`, which compares our go.sum with the modules linked into the
// binary. Its libc line compares -l with the libc the binary was stamped
// with; we pass the binary's own, since the .so is built on this machine.
func TestKrakenDCheckPlugin(t *testing.T) {
	tg := readTarget(t)
	for _, env := range []string{"KRAKEND_BIN", "KRAKEND_MUSL_BIN"} {
		t.Run(env, func(t *testing.T) {
			bin := krakendBin(t, env)
			version, err := krakendCmd(t, bin, "version")
			if err != nil || !strings.Contains(version, "KrakenD Version: "+tg.Version) || !strings.Contains(version, "Go Version: "+tg.Go) {
				t.Fatalf("%s is not KrakenD %s on Go %s: %v\n%s", bin, tg.Version, tg.Go, err, version)
			}
			libc := "undefined"
			if m := libcLine.FindStringSubmatch(version); m != nil {
				libc = m[1]
			}
			out, err := krakendCmd(t, bin, "check-plugin", "-g", tg.Go, "-s", "go.sum", "-l", libc, "-f")
			if err != nil || !strings.Contains(out, "No incompatibilities found!") {
				t.Errorf("krakend check-plugin -g %s -s go.sum -l %s: %v\n%s", tg.Go, libc, err, out)
			}
		})
	}
}

// TestKrakenDTestPlugin loads each .so into its KrakenD with `krakend
// test-plugin`: the glibc plugin into the glibc binary, the musl plugin
// into the musl binary (as in the official Docker image).
func TestKrakenDTestPlugin(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the plugin")
	}
	for _, tc := range []struct{ env, plugin string }{
		{"KRAKEND_BIN", "plugin"},
		{"KRAKEND_MUSL_BIN", "plugin-musl"},
	} {
		t.Run(tc.env, func(t *testing.T) {
			bin := krakendBin(t, tc.env)
			so := targetBuild(t, tc.plugin)
			out, err := krakendCmd(t, bin, "test-plugin", "-s", so)
			if want := "[OK] SERVER\t" + filepath.Base(so); err != nil || !strings.Contains(out, want) {
				t.Errorf("krakend test-plugin -s %s: %v, want %q:\n%s", so, err, want, out)
			}
		})
	}
}

// TestKrakenDCheckExample lints examples/krakend.json against the schema
// built into KrakenD (no network), as `krakend check -n` does.
func TestKrakenDCheckExample(t *testing.T) {
	bin := krakendBin(t, "KRAKEND_BIN")
	out, err := krakendCmd(t, bin, "check", "-n", "-c", "examples/krakend.json")
	if err != nil || !strings.Contains(out, "Syntax OK!") {
		t.Errorf("krakend check -n -c examples/krakend.json: %v\n%s", err, out)
	}
}
