package e2e

import (
	"bufio"
	"debug/buildinfo"
	"os"
	"strings"
	"testing"

	"golang.org/x/mod/semver"
)

// Our own `krakend check-plugin`, without a KrakenD binary: a Go plugin
// loads only into a gateway built with the same Go release and the same
// version of every module the two share. KrakenD's go.sum (a copy in
// testdata) tells which versions its binary links: for each module, the
// highest version listed, which is how `krakend check-plugin` reads a
// go.sum too.

// sumVersions returns the highest version of each module in a go.sum.
func sumVersions(t testing.TB, file string) map[string]string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	versions := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		mod, v := fields[0], strings.TrimSuffix(fields[1], "/go.mod")
		if semver.Compare(v, versions[mod]) > 0 {
			versions[mod] = v
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return versions
}

// TestPluginMatchesKrakenD builds each release's plugins as `make plugin`,
// `make plugin-musl`, `GOARCH=arm64 make plugin` and `GOARCH=arm64 make
// plugin-musl` do and compares their
// build info with that release's go.sum: the Go release, and every module
// the plugin shares with KrakenD.
func TestPluginMatchesKrakenD(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the plugins")
	}
	for _, tg := range readTargets(t) {
		want := sumVersions(t, tg.krakendSum())
		for _, kind := range []string{"plugin", "plugin-musl", "plugin-arm64", "plugin-musl-arm64"} {
			t.Run(tg.Version+"/"+kind, func(t *testing.T) {
				checkBuildInfo(t, tg, releaseBuild(t, tg, kind), want)
			})
		}
	}
}

func checkBuildInfo(t *testing.T, tg krakendTarget, so string, want map[string]string) {
	t.Helper()
	info, err := buildinfo.ReadFile(so)
	if err != nil {
		t.Fatalf("reading the build info of %s: %v", so, err)
	}
	if info.GoVersion != "go"+tg.Go {
		t.Errorf("built with %s, KrakenD %s with go%s", info.GoVersion, tg.Version, tg.Go)
	}
	shared := 0
	for _, d := range info.Deps {
		mod := d
		if d.Replace != nil {
			mod = d.Replace
		}
		kv, ok := want[d.Path]
		if !ok {
			continue // not in KrakenD: nothing to clash with
		}
		shared++
		if mod.Version != kv {
			t.Errorf("%s: the plugin has %s, KrakenD %s has %s (fix the root go.mod, then make targets)", d.Path, mod.Version, tg.Version, kv)
		}
	}
	// Not vacuous: lura, gin and golang.org/x/sys are shared at least.
	if shared < 3 {
		t.Errorf("only %d modules shared with KrakenD: is the build info complete? %v", shared, info.Deps)
	}
}
