package e2e

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestRunRefusesTakenPort: `make run` (examples/run.sh) must stop with a
// clear line and a non-zero status when the collector's port is taken,
// rather than run a gateway without its collector. Nothing is started: the
// check comes first, so BUILD may name an empty directory.
func TestRunRefusesTakenPort(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	// Taken by this test, or already by something else: taken either way.
	if l, err := net.Listen("tcp", ":8090"); err == nil {
		defer l.Close()
	}
	cmd := exec.Command("bash", "examples/run.sh")
	cmd.Env = append(withoutEnv("KRAKEND_BIN"), "BUILD="+t.TempDir())
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Errorf("got %v, want exit status 1:\n%s", err, out)
	}
	if want := "make run: port 8090 is already in use"; !strings.Contains(string(out), want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
}

// TestRunRefusesEmptyKrakenDBin: `KRAKEND_BIN=$(build.sh) make run` where
// the script failed leaves KRAKEND_BIN empty; make run must stop with one
// line (make's own, exit status 2) instead of running the example gateway.
func TestRunRefusesEmptyKrakenDBin(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make")
	}
	for _, bin := range []string{"", "../shared/krakend-ce/missing", "/dev/null"} {
		cmd := exec.Command("make", "--no-print-directory", "run", "BUILD="+t.TempDir())
		cmd.Env = append(withoutEnv("KRAKEND_BIN"), "KRAKEND_BIN="+bin)
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 2 {
			t.Errorf("KRAKEND_BIN=%q make run: got %v, want exit status 2:\n%s", bin, err, out)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) != 1 || !strings.Contains(lines[0], "make run: KRAKEND_BIN") {
			t.Errorf("KRAKEND_BIN=%q make run: got %q, want one line about KRAKEND_BIN", bin, out)
		}
	}
}

func withoutEnv(name string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, name+"=") {
			env = append(env, kv)
		}
	}
	return env
}

// TestRunNamesAMissingPin: where the module proxy lacks one of a release's
// pins, examples/run.sh missing names that module, which make run prints
// before falling back to the release whose pins are the root go.mod's. Here
// the proxy serves nothing and the module cache is empty.
func TestRunNamesAMissingPin(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	release := readTarget(t).Version
	cmd := exec.Command("bash", "examples/run.sh", "missing", release)
	cmd.Env = append(withoutEnv("KRAKEND_BIN"), "GOPROXY=off", "GOMODCACHE="+t.TempDir(), "GOWORK=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("examples/run.sh missing %s: %v\n%s", release, err, out)
	}
	if line := strings.TrimSpace(string(out)); strings.Contains(line, "\n") || !strings.Contains(line, "@v") {
		t.Errorf("examples/run.sh missing %s printed %q, want one module@version", release, out)
	}
}
