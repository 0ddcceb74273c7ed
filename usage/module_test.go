package usage_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A program that imports only this library needs no other module: the
// usage module is the standard library and itself.
func TestFreshProgramNeedsOnlyUsage(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	here, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := map[string]string{
		"go.mod": "module example.com/fresh\n\ngo 1.25.0\n\nrequire github.com/krakend-usage/krakend-usage/usage v0.0.0\n\nreplace github.com/krakend-usage/krakend-usage/usage => " + here + "\n",
		"main.go": `package main

import (
	"context"

	"github.com/krakend-usage/krakend-usage/usage"
	"github.com/krakend-usage/krakend-usage/usage/krakend"
)

func main() {
	_ = usage.Report(context.Background(), usage.Options{URL: "http://127.0.0.1:9"}, nil)
	_ = krakend.Components()
}
`,
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		// No proxy: nothing may need to be downloaded.
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "GOPROXY=off")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run("build", "-o", filepath.Join(dir, "fresh"), ".")
	mods := strings.Fields(run("list", "-m", "all"))
	want := []string{"example.com/fresh", "github.com/krakend-usage/krakend-usage/usage", "v0.0.0", "=>", here}
	if strings.Join(mods, " ") != strings.Join(want, " ") {
		t.Errorf("go list -m all:\n%s\nwant the program and the usage module only", strings.Join(mods, "\n"))
	}
}
