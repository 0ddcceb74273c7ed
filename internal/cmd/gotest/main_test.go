package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sampleModule is a module with a package that has a passing, a failing
// and two skipped tests, and a package that does not compile. It is written to a temporary directory, so that no
// module of the repository (make test, make lint) contains it.
var sampleModule = map[string]string{
	"go.mod": `module example.com/gotestdata

go 1.25
`,
	"x_test.go": `package gotestdata

import "testing"

func TestPasses(t *testing.T) {}

func TestSkipsWithReason(t *testing.T) {
	t.Skip("needs a thing this machine lacks")
}

func TestSubtestSkips(t *testing.T) {
	t.Run("one", func(t *testing.T) { t.Skipf("sub reason %d", 1) })
}

func TestFails(t *testing.T) {
	t.Log("what went wrong")
	t.Fail()
}
`,
	"broken/broken_test.go": `package broken

import "testing"

func TestNothing(t *testing.T) { undefinedName() }
`,
}

// A real go test run over sampleModule.
func TestSummaryOfARealRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go test on a sample module")
	}
	dir := t.TempDir()
	for name, text := range sampleModule {
		file := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	s := newSummary(&buf, time.Hour)
	if err := runModule(dir, []string{"-count=1"}, s); err != nil {
		t.Fatalf("runModule: %v", err)
	}
	if s.finish() {
		t.Errorf("finish reported success for a module with a failing test")
	}
	out := buf.String()
	for _, want := range []string{
		"what went wrong",                // the failing test's output
		"--- FAIL: TestFails",            // and its verdict
		"FAIL    example.com/gotestdata", // the package line
		"skipped tests (2):",
		"example.com/gotestdata TestSkipsWithReason: x_test.go:8: needs a thing this machine lacks",
		"example.com/gotestdata TestSubtestSkips/one: x_test.go:12: sub reason 1",
		"undefined: undefinedName",              // the compiler's error
		"FAIL    example.com/gotestdata/broken", // and its package
		"\nFAIL: ",                              // the summary names the failed packages
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "TestPasses") {
		t.Errorf("a fast passing test is printed:\n%s", out)
	}
}

func TestSkipReasonDropsGoTestLines(t *testing.T) {
	got := skipReason([]string{"=== RUN   TestX\n", "    x_test.go:3: no database\n", "--- SKIP: TestX (0.00s)\n"})
	if want := "x_test.go:3: no database"; got != want {
		t.Errorf("skipReason = %q, want %q", got, want)
	}
	if got := skipReason([]string{"=== RUN   TestX\n", "--- SKIP: TestX (0.00s)\n"}); got != "(no reason given)" {
		t.Errorf("skipReason without a log = %q", got)
	}
}

func TestParseArgs(t *testing.T) {
	dirs, flags, slow, err := parseArgs([]string{"-slow", "3s", ".", "./usage", "--", "-race", "-run", "TestX"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(dirs, " ") != ". ./usage" || strings.Join(flags, " ") != "-race -run TestX" || slow != 3*time.Second {
		t.Errorf("parseArgs = %q %q %v", dirs, flags, slow)
	}
	if _, _, _, err := parseArgs([]string{"--", "-race"}); err == nil {
		t.Error("parseArgs accepted no module directory")
	}
}
