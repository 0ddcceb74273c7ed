package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/semver"
)

// sumLine is one line of a go.sum: a module version's zip hash, or its
// go.mod's hash (goMod).
type sumLine struct {
	path, version string
	goMod         bool
}

func parseSum(b []byte) []sumLine {
	var lines []sumLine
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) != 3 {
			continue
		}
		v, goMod := strings.CutSuffix(f[1], "/go.mod")
		lines = append(lines, sumLine{f[0], v, goMod})
	}
	return lines
}

// linked returns, for each module whose code KrakenD's build downloaded (a
// zip hash in its go.sum), the highest such version: the one its binary
// links, which is also what `krakend check-plugin` reads from a go.sum.
// Modules of which KrakenD's go.sum holds only go.mod hashes are not in
// its binary, so a plugin cannot clash with them.
func linked(lines []sumLine) map[string]string {
	m := map[string]string{}
	for _, l := range lines {
		if !l.goMod && semver.Compare(l.version, m[l.path]) > 0 {
			m[l.path] = l.version
		}
	}
	return m
}

// highest returns the highest version of each module in a go.sum,
// go.mod-only lines included (what check-plugin compares).
func highest(lines []sumLine) map[string]string {
	m := map[string]string{}
	for _, l := range lines {
		if semver.Compare(l.version, m[l.path]) > 0 {
			m[l.path] = l.version
		}
	}
	return m
}

// A target is one release's modfile being written.
type target struct {
	release, goVersion string
	krakend            map[string]string // module -> the version KrakenD links
	mod                string            // the modfile being written
}

func (t *target) sumPath() string { return strings.TrimSuffix(t.mod, ".mod") + ".sum" }

// align writes t.mod from the root go.mod with every shared module at
// KrakenD's version, tidies it, and checks the result: every module the
// plugin links that KrakenD links too is at KrakenD's version, and the .sum
// lists no other version of one (check-plugin would report it). Modules
// the plugin does not link are pinned with a replace, which changes no
// build of it.
// It returns the modules whose version differs from the root go.mod's.
func (t *target) align(krakendSum []byte) ([]string, error) {
	root, err := os.ReadFile("go.mod")
	if err != nil {
		return nil, err
	}
	f, err := modfile.Parse("go.mod", root, nil)
	if err != nil {
		return nil, err
	}
	if err := t.precheck(f); err != nil {
		return nil, err
	}
	var moved []string
	for _, r := range append([]*modfile.Require(nil), f.Require...) {
		if v, ok := t.krakend[r.Mod.Path]; ok && v != r.Mod.Version {
			moved = append(moved, r.Mod.Path+"@"+v)
			if err := f.AddRequire(r.Mod.Path, v); err != nil {
				return nil, err
			}
		}
	}
	for _, r := range append([]*modfile.Replace(nil), f.Replace...) {
		if v, ok := t.krakend[r.Old.Path]; ok && r.New.Path == r.Old.Path && r.New.Version != v {
			if err := f.AddReplace(r.Old.Path, r.Old.Version, r.New.Path, v); err != nil {
				return nil, err
			}
		}
	}
	rootSum, _ := os.ReadFile("go.sum")
	// KrakenD's lines first: its hashes for the versions only a file proxy
	// may serve here, so that no checksum-database lookup is needed.
	if err := os.WriteFile(t.sumPath(), append(append([]byte(nil), krakendSum...), rootSum...), 0o644); err != nil {
		return nil, err
	}
	for round := 0; ; round++ {
		if err := t.write(f); err != nil {
			return nil, err
		}
		if _, err := t.goCmd("mod", "tidy", "-modfile="+t.mod); err != nil {
			return nil, err
		}
		linked, err := t.checkLinked()
		if err != nil {
			return nil, err
		}
		// check-plugin reads the highest version of each module in the
		// .sum: pin the ones listed at another version than KrakenD's
		// (neither the plugin nor the example gateway links them).
		sum, err := os.ReadFile(t.sumPath())
		if err != nil {
			return nil, err
		}
		var pinned []string
		for path, v := range highest(parseSum(sum)) {
			if kv, ok := t.krakend[path]; ok && v != kv && !linked[path] {
				pinned = append(pinned, path)
			}
		}
		if len(pinned) == 0 {
			break
		}
		sort.Strings(pinned) // the same file every time
		if round == 3 {
			return nil, fmt.Errorf("the .sum keeps listing versions other than KrakenD %s's: %s", t.release, strings.Join(pinned, ", "))
		}
		f, err = t.reload()
		if err != nil {
			return nil, err
		}
		for _, path := range pinned {
			if err := f.AddReplace(path, "", path, t.krakend[path]); err != nil {
				return nil, err
			}
		}
	}
	sort.Strings(moved)
	return moved, nil
}

func (t *target) write(f *modfile.File) error {
	f.Cleanup()
	b, err := f.Format()
	if err != nil {
		return err
	}
	return os.WriteFile(t.mod, b, 0o644)
}

func (t *target) reload() (*modfile.File, error) {
	b, err := os.ReadFile(t.mod)
	if err != nil {
		return nil, err
	}
	return modfile.Parse(t.mod, b, nil)
}

// precheck fails early, from the root go.mod's module graph alone (no
// download), when a module of the root go.mod that KrakenD does not link
// (so it stays at our version) requires a module the plugin links above
// KrakenD's version: the go command's version selection would keep it
// there whatever the pins say. (KrakenD 2.11's go.sum: our krakend-koanf
// requires lura and fsnotify above its.)
func (t *target) precheck(root *modfile.File) error {
	kept := map[string]bool{} // path@version of the modules that stay
	for _, r := range root.Require {
		if _, ok := t.krakend[r.Mod.Path]; !ok {
			kept[r.Mod.String()] = true
		}
	}
	graph, err := t.goCmdWith("local", "mod", "graph")
	if err != nil {
		return err
	}
	deps, err := t.goCmdWith("local", "list", "-deps", "-f", "{{with .Module}}{{.Path}}{{end}}", "./cmd/krakend-usage-plugin", "./examples/gateway")
	if err != nil {
		return err
	}
	linked := map[string]bool{}
	for _, p := range strings.Fields(deps) {
		linked[p] = true
	}
	var bad []string
	for _, l := range strings.Split(graph, "\n") {
		f := strings.Fields(l)
		if len(f) != 2 {
			continue
		}
		to, v, _ := strings.Cut(f[1], "@")
		if !kept[f[0]] {
			continue
		}
		if kv, ok := t.krakend[to]; ok && linked[to] && semver.Compare(v, kv) > 0 {
			bad = append(bad, fmt.Sprintf("%s: KrakenD %s links %s, but %s requires %s", to, t.release, kv, f[0], v))
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return fmt.Errorf("cannot align with KrakenD %s; nothing written:\n\t%s", t.release, strings.Join(bad, "\n\t"))
	}
	return nil
}

// checkLinked fails naming every module the plugin or the example gateway
// links at another version than KrakenD's, and what requires the version
// selected. It returns the modules they link.
func (t *target) checkLinked() (map[string]bool, error) {
	out, err := t.goCmd("list", "-modfile="+t.mod, "-deps", "-f", "{{with .Module}}{{.Path}} {{.Version}}{{with .Replace}} {{.Version}}{{end}}{{end}}", "./cmd/krakend-usage-plugin", "./examples/gateway")
	if err != nil {
		return nil, err
	}
	linked := map[string]bool{}
	var bad []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 || linked[f[0]] {
			continue // the main module, a directory replacement, or seen
		}
		linked[f[0]] = true
		v := f[len(f)-1]
		kv, ok := t.krakend[f[0]]
		if !ok || v == kv {
			continue
		}
		by, err := t.requirers(f[0], f[1])
		if err != nil {
			return nil, err
		}
		bad = append(bad, fmt.Sprintf("%s: KrakenD %s links %s, the plugin would link %s (required by %s)", f[0], t.release, kv, v, by))
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("cannot align with KrakenD %s; nothing written:\n\t%s", t.release, strings.Join(bad, "\n\t"))
	}
	return linked, nil
}

// requirers names the modules whose go.mod requires path at version.
func (t *target) requirers(path, version string) (string, error) {
	out, err := t.goCmd("mod", "graph", "-modfile="+t.mod)
	if err != nil {
		return "", err
	}
	var by []string
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[1] == path+"@"+version {
			by = append(by, f[0])
		}
	}
	if len(by) == 0 {
		return "the root go.mod", nil
	}
	return strings.Join(by, ", "), nil
}

// goCmd runs the go command with the release's Go, outside any workspace.
func (t *target) goCmd(args ...string) (string, error) {
	return t.goCmdWith("go"+t.goVersion, args...)
}

func (t *target) goCmdWith(toolchain string, args ...string) (string, error) {
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN="+toolchain, "GOWORK=off", "GOFLAGS=-mod=mod")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return stdout.String(), nil
}

// nameRelease sets the release's line in the releases table, which stays
// sorted oldest first.
func nameRelease(file, release, goVersion, lura string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var head, rows []string
	for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) == 0 || strings.HasPrefix(f[0], "#"):
			head = append(head, l)
		case f[0] != release:
			rows = append(rows, l)
		}
	}
	rows = append(rows, fmt.Sprintf("%-10s %-8s %s", release, goVersion, lura))
	sort.Slice(rows, func(i, j int) bool {
		return semver.Compare("v"+strings.Fields(rows[i])[0], "v"+strings.Fields(rows[j])[0]) < 0
	})
	return os.WriteFile(file, []byte(strings.Join(append(head, rows...), "\n")+"\n"), 0o644)
}
