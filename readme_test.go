package krakendusage

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadmeSnippetCompiles builds the README's library example as it is
// written, so that a reader can paste it.
func TestReadmeSnippetCompiles(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "## Using the library")
	if !ok {
		t.Fatal(`README.md has no "## Using the library" section`)
	}
	_, code, ok := strings.Cut(section, "```go\n")
	if ok {
		code, _, ok = strings.Cut(code, "```")
	}
	if !ok || !strings.HasPrefix(code, "package main") {
		t.Fatalf("no complete Go program in the README's library section:\n%s", section)
	}
	file := filepath.Join(t.TempDir(), "main.go")
	if err := os.WriteFile(file, []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	// Built from this directory, so that its import resolves to this module.
	cmd := exec.Command("go", "vet", file)
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("the README's library snippet does not build: %v\n%s", err, out)
	}
}
