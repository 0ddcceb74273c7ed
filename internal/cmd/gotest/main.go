// Command gotest runs the tests of several Go modules, as make test does,
// and keeps a long run readable: it runs `go test -json` in each module
// directory and prints one line per package as it finishes, one line per
// test that took 10 seconds or more (so a package that runs for twenty
// minutes shows what it is doing), the whole output of every test that
// fails, and, at the end, every skipped test with its reason.
//
//	go run ./internal/cmd/gotest [-slow 10s] DIR... [-- GO TEST FLAGS]
//	go run ./internal/cmd/gotest . ./usage -- -race -count=1 -run TestReport
//
// Each DIR is a module directory whose ./... is tested; the flags after
// "--" go to go test unchanged. It exits 1 when a package fails (every
// module is still run) and 2 on bad arguments. It uses the standard library
// only.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"
)

func main() {
	dirs, testFlags, slow, err := parseArgs(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "gotest:", err)
		os.Exit(2)
	}
	s := newSummary(os.Stdout, slow)
	for _, dir := range dirs {
		fmt.Fprintln(os.Stdout, "==> go test", strings.Join(slices.Concat(testFlags, []string{dir}), " "))
		if err := runModule(dir, testFlags, s); err != nil {
			s.failModule(dir, err)
		}
	}
	if !s.finish() {
		os.Exit(1)
	}
}

func parseArgs(args []string) (dirs, testFlags []string, slow time.Duration, err error) {
	fs := flag.NewFlagSet("gotest", flag.ContinueOnError)
	fs.DurationVar(&slow, "slow", 10*time.Second, "print each test that runs at least this long as it finishes")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: gotest [-slow 10s] DIR... [-- GO TEST FLAGS]")
		fs.PrintDefaults()
	}
	if i := slices.Index(args, "--"); i >= 0 {
		args, testFlags = args[:i], args[i+1:]
	}
	if err := fs.Parse(args); err != nil {
		return nil, nil, 0, err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return nil, nil, 0, errors.New("no module directory")
	}
	return fs.Args(), testFlags, slow, nil
}

// runModule runs go test -json on dir's packages and feeds its events to s.
func runModule(dir string, testFlags []string, s *summary) error {
	cmd := exec.Command("go", append(append([]string{"test", "-json"}, testFlags...), "./...")...)
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	failedBefore := len(s.failed)
	readErr := s.read(out)
	waitErr := cmd.Wait()
	if readErr != nil {
		return readErr
	}
	var exit *exec.ExitError
	if errors.As(waitErr, &exit) && len(s.failed) > failedBefore {
		return nil // the failing packages are already named
	}
	return waitErr
}

// event is one line of go test -json (cmd/test2json).
type event struct {
	Action     string
	Package    string
	ImportPath string // build-output, build-fail
	Test       string
	Elapsed    float64
	Output     string
}

type key struct{ pkg, test string }

type skipped struct {
	pkg, test, reason string
}

// summary prints the progress of go test -json streams and remembers what
// the end summary needs.
type summary struct {
	w      io.Writer
	slow   time.Duration
	output map[key][]string // output of each test (and package) still running
	skips  []skipped
	failed []string // packages (or modules) that failed
	passed int
}

func newSummary(w io.Writer, slow time.Duration) *summary {
	return &summary{w: w, slow: slow, output: map[key][]string{}}
}

// read consumes one go test -json stream. A line that is not JSON (go test
// prints some errors that way) is printed as it is.
func (s *summary) read(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.Action == "" {
			fmt.Fprintln(s.w, sc.Text())
			continue
		}
		s.handle(e)
	}
	return sc.Err()
}

func (s *summary) handle(e event) {
	k := key{e.Package, e.Test}
	switch e.Action {
	case "build-output":
		fmt.Fprint(s.w, e.Output)
	case "output":
		s.output[k] = append(s.output[k], e.Output)
	case "pass", "fail", "skip":
		out := s.output[k]
		delete(s.output, k)
		elapsed := time.Duration(e.Elapsed * float64(time.Second)).Round(100 * time.Millisecond)
		if e.Test == "" {
			s.packageDone(e, out, elapsed)
			return
		}
		switch {
		case e.Action == "fail":
			// The output already ends with "--- FAIL: Test (…)".
			fmt.Fprintf(s.w, "    %s\n", e.Package)
			for _, line := range out {
				fmt.Fprint(s.w, line)
			}
		case e.Action == "skip":
			s.skips = append(s.skips, skipped{e.Package, e.Test, skipReason(out)})
		case e.Action == "pass" && !strings.Contains(e.Test, "/") && elapsed >= s.slow:
			fmt.Fprintf(s.w, "    %-6s %s %s (%s)\n", "pass", e.Package, e.Test, elapsed)
		}
	}
}

func (s *summary) packageDone(e event, out []string, elapsed time.Duration) {
	switch e.Action {
	case "pass":
		s.passed++
		fmt.Fprintf(s.w, "ok      %s (%s)\n", e.Package, elapsed)
	case "skip": // no test files
	case "fail":
		s.failed = append(s.failed, e.Package)
		// What the package printed outside any test: a panic, a
		// timeout, a build failure, FAIL.
		for _, line := range out {
			if strings.HasPrefix(line, "FAIL\t") || line == "FAIL\n" {
				continue
			}
			fmt.Fprint(s.w, line)
		}
		fmt.Fprintf(s.w, "FAIL    %s (%s)\n", e.Package, elapsed)
	}
}

// skipReason is what a skipped test logged, without go test's own lines.
func skipReason(out []string) string {
	var lines []string
	for _, line := range out {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- SKIP") {
			continue
		}
		lines = append(lines, t)
	}
	if len(lines) == 0 {
		return "(no reason given)"
	}
	return strings.Join(lines, " / ")
}

func (s *summary) failModule(dir string, err error) {
	s.failed = append(s.failed, dir+" ("+err.Error()+")")
	fmt.Fprintf(s.w, "FAIL    %s: %v\n", dir, err)
}

// finish prints the skipped tests and the failures, and reports whether
// everything passed.
func (s *summary) finish() bool {
	if len(s.skips) == 0 {
		fmt.Fprintln(s.w, "\nskipped tests: none")
	} else {
		fmt.Fprintf(s.w, "\nskipped tests (%d):\n", len(s.skips))
		for _, sk := range s.skips {
			fmt.Fprintf(s.w, "  %s %s: %s\n", sk.pkg, sk.test, sk.reason)
		}
	}
	if len(s.failed) > 0 {
		fmt.Fprintf(s.w, "\nFAIL: %s\n", strings.Join(s.failed, ", "))
		return false
	}
	fmt.Fprintf(s.w, "\nok: %d packages passed\n", s.passed)
	return true
}
