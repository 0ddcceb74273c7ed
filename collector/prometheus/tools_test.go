// Package prometheus holds the collector's Prometheus alert rules
// (alerts.yml) and their tests: promtool's unit tests of every rule, and a
// real Prometheus scraping real collectors to run the Grafana dashboard's
// queries (collector/grafana/fleet.json). It has no Go code of its own.
package prometheus

import (
	"os"
	"os/exec"
	"testing"
)

// tool finds Debian's prometheus or promtool (apt-get install prometheus).
// Without it the test skips, unless USAGE_TEST_REQUIRE_PROMETHEUS=1 (CI),
// where it fails.
func tool(t *testing.T, name string) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/" + name, name} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("USAGE_TEST_REQUIRE_PROMETHEUS") == "1" {
		t.Fatalf("%s not found and USAGE_TEST_REQUIRE_PROMETHEUS=1: install it (apt-get install prometheus)", name)
	}
	t.Skipf("skipped: %s not found (apt-get install prometheus)", name)
	return ""
}
