package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLinkedReadsZipLinesOnly(t *testing.T) {
	sum := []byte(`github.com/a/a v1.2.0 h1:x=
github.com/a/a v1.2.0/go.mod h1:y=
github.com/a/a v1.10.0/go.mod h1:y=
github.com/a/a v1.9.0 h1:x=
github.com/b/b v0.1.0/go.mod h1:y=
`)
	lines := parseSum(sum)
	if got := linked(lines); len(got) != 1 || got["github.com/a/a"] != "v1.9.0" {
		t.Errorf("linked: got %v, want only github.com/a/a v1.9.0 (the highest zip line)", got)
	}
	if got := highest(lines); got["github.com/a/a"] != "v1.10.0" || got["github.com/b/b"] != "v0.1.0" {
		t.Errorf("highest: got %v, want a v1.10.0 and b v0.1.0 (go.mod lines count)", got)
	}
}

func TestNameReleaseKeepsTheTableSorted(t *testing.T) {
	file := filepath.Join(t.TempDir(), "releases")
	head := "# comment\n#\n# release  go       lura\n"
	if err := os.WriteFile(file, []byte(head+"2.12.1     1.25.6   v2.12.1\n2.13.8     1.25.12  v2.14.2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := nameRelease(file, "2.13.10", "1.25.13", "v2.14.3"); err != nil {
		t.Fatal(err)
	}
	if err := nameRelease(file, "2.12.1", "1.25.7", "v2.12.1"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(file)
	want := head + "2.12.1     1.25.7   v2.12.1\n2.13.8     1.25.12  v2.14.2\n2.13.10    1.25.13  v2.14.3\n"
	if string(b) != want {
		t.Errorf("got\n%s\nwant\n%s", b, want)
	}
}

func TestRunRefusesBadArguments(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"-release", "2.13", "-go", "1.25.12", "-sum", "go.sum"},
		{"-release", "2.13.8", "-go", "go1.25.12", "-sum", "go.sum"},
		{"-release", "2.13.8", "-go", "1.25.12"},
	} {
		err := run(args, nil)
		if _, ok := err.(usageError); !ok || !strings.Contains(err.Error(), "usage: addrelease") {
			t.Errorf("run(%q): got %v, want a usage error", args, err)
		}
	}
}

func TestHelpPrintsTheFlags(t *testing.T) {
	var out strings.Builder
	if err := run([]string{"-h"}, &out); err != nil {
		t.Fatalf("addrelease -h: %v", err)
	}
	for _, want := range []string{"usage: addrelease", "-release string", "-go string", "-sum string"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("addrelease -h prints no %q:\n%s", want, out.String())
		}
	}
}
