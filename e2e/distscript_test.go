package e2e

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// make plugins (targets/dist.sh): a file asked for by name that this
// machine has no toolchain for fails the command, naming the file and
// what is missing, and nothing is built for it; a name that is not a
// plugin file is refused before anything is done.
func TestDistNamedFileItCannotBuild(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("targets/dist.sh needs root")
	}
	release := readTarget(t).Version
	dir := t.TempDir()
	specs := filepath.Join(dir, "no-such-musl-gcc.specs")
	name := "krakend-usage_" + release + "_linux_arm64_musl.so"
	cmd := exec.Command("targets/dist.sh", "dist/"+name)
	cmd.Env = append(os.Environ(), "DIST="+dir, "ARM64_MUSL_SPECS="+specs)
	out, err := cmd.CombinedOutput()
	if code := exitCode(err); code != 1 {
		t.Errorf("exit status %d, want 1\n%s", code, out)
	}
	for _, want := range []string{
		"built 0 of 1 files",
		filepath.Join(dir, name) + ": " + specs + " not found",
		"FAILED: asked for by name, not built: " + filepath.Join(dir, name),
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if so, _ := filepath.Glob(filepath.Join(dir, "*.so")); len(so) != 0 {
		t.Errorf("built %v", so)
	}

	cmd = exec.Command("targets/dist.sh", "dist/krakend-usage_"+release+"_linux_riscv64_musl.so")
	cmd.Env = append(os.Environ(), "DIST="+dir)
	out, err = cmd.CombinedOutput()
	if code := exitCode(err); code != 2 || !strings.Contains(string(out), "not a plugin file name") {
		t.Errorf("a name that is not a plugin file: exit status %d, want 2 saying so\n%s", code, out)
	}
}

// exitCode is the exit status of a finished command, 0 for a nil error,
// -1 when it did not run.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}
