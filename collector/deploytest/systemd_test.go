package deploytest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/krakend-usage/krakend-usage/collector/internal/proctest"
)

// TestSystemdUnit checks deploy/systemd/usage-collector.service with
// systemd-analyze verify, its ExecStart pointed at a build of the
// command. Starting it needs systemd as PID 1, which these machines lack.
func TestSystemdUnit(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not found (apt-get install systemd)")
	}
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "systemd", "usage-collector.service"))
	if err != nil {
		t.Fatal(err)
	}
	bin, err := filepath.Abs(proctest.Build(t, "../cmd/usage-collector"))
	if err != nil {
		t.Fatal(err)
	}
	unit := string(data)
	const execStart = "ExecStart=/usr/local/bin/usage-collector"
	if !strings.Contains(unit, execStart) {
		t.Fatalf("the unit has no %q: update the test", execStart)
	}
	for _, want := range []string{"DynamicUser=yes", "StateDirectory=usage-collector", "ProtectSystem=strict", "NoNewPrivileges=yes", "USAGE_COLLECTOR_DB=sqlite:/var/lib/usage-collector/"} {
		if !strings.Contains(unit, want) {
			t.Errorf("the unit does not set %s", want)
		}
	}
	file := filepath.Join(t.TempDir(), "usage-collector.service")
	os.WriteFile(file, []byte(strings.Replace(unit, execStart, "ExecStart="+bin, 1)), 0o644)
	out, err := exec.Command(analyze, "verify", file).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
