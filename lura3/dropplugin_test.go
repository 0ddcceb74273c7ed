package lura3

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// KrakenD CE PR #1106 and lura PR #803 ("Drop plugin support") remove
// ServiceConfig.Plugin and lura's plugin packages. The decorator must
// build against that lura too: dropplugin.mod pins it.
func TestBuildsWithoutPluginSupport(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the module against another lura")
	}
	cmd := exec.Command("go", "vet", "-modfile=dropplugin.mod", "./...")
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly")
	out, err := cmd.CombinedOutput()
	if err == nil {
		return
	}
	if s := string(out); strings.Contains(s, "404") || strings.Contains(s, "410") || strings.Contains(s, "refused") || strings.Contains(s, "no such host") {
		msg := "cannot fetch lura v3 at the drop-plugin pin (here it comes from the shared goproxy: GOPROXY=file://…/shared/goproxy,…): " + s
		if os.Getenv("USAGE_TEST_REQUIRE_KRAKEND") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	t.Fatalf("go vet -modfile=dropplugin.mod: %v\n%s", err, out)
}
