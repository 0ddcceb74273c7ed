package collector

import (
	"os"
	"testing"

	"github.com/krakend-usage/krakend-usage/collector/internal/proctest"
)

// The fairness and resource tests measure a process: its memory, its file
// descriptors, what its clients get while another process attacks it. The
// collector process is internal/embedded, a program that embeds this
// package with its defaults, Serve included: what they measure is what a
// program embedding the collector gets. USAGE_COLLECTOR_TEST_BINARY runs
// them against a build of the command usage-collector instead (another
// release, for a comparison).

func TestMain(m *testing.M) {
	if name := os.Getenv(attackEnv); name != "" {
		os.Exit(attackMain(name)) // a fairness test's attacker process
	}
	code := m.Run()
	proctest.Clean()
	os.Exit(code)
}

// proc is a collector process.
type proc = proctest.Proc

// start runs a collector process on a loopback port over the SQLite file
// db and waits until it listens.
func start(t testing.TB, db string) *proc {
	t.Helper()
	bin := os.Getenv("USAGE_COLLECTOR_TEST_BINARY")
	if bin == "" {
		bin = proctest.Build(t, "./internal/embedded")
	}
	return proctest.Start(t, bin, []string{"-listen", "127.0.0.1:0", "-db", "sqlite:" + db, "-bits", "8"}, "USAGE_COLLECTOR_SECRET=")
}

// session opens a session at the collector at url.
func session(t testing.TB, url, cluster, server string) string {
	t.Helper()
	return proctest.Session(t, url, cluster, server)
}
