package krakendusage

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
	cmd.Env = append(os.Environ(), "BUILD="+t.TempDir(), "KRAKEND_BIN=")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Errorf("got %v, want exit status 1:\n%s", err, out)
	}
	if want := "make run: port 8090 is already in use"; !strings.Contains(string(out), want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
}
