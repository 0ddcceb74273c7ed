package main

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The test binary is also krakend-usage: with KRAKEND_USAGE_TEST_MAIN set
// it runs Main on its arguments, so that the tests run the command as a
// process of its own, as an operator does.
func TestMain(m *testing.M) {
	if os.Getenv("KRAKEND_USAGE_TEST_MAIN") != "" {
		os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr))
	}
	// A stand-in gateway process: a binary that links lura, waiting, and
	// listening on 127.0.0.1:PORT when the variable is a port.
	if v := os.Getenv("KRAKEND_USAGE_TEST_SLEEP"); v != "" {
		if _, err := strconv.Atoi(v); err == nil {
			if _, err := net.Listen("tcp", "127.0.0.1:"+v); err != nil {
				os.Exit(3)
			}
		}
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// command returns krakend-usage ARGS as a command, with the off switches
// cleared and env added.
func command(t *testing.T, env []string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "KRAKEND_USAGE_TEST_MAIN=1", "USAGE_DISABLE=", "DO_NOT_TRACK=")
	cmd.Env = append(cmd.Env, env...)
	return cmd
}

// exitCode runs cmd and returns its exit status and output.
func exitCode(t *testing.T, cmd *exec.Cmd) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, stdout.String(), stderr.String()
}

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "Usage:"},
		{[]string{"nope"}, `unknown command "nope"`},
		{[]string{"run"}, "no COMMAND to run"},
		{[]string{"run", "--no-such-flag", "--", "true"}, "flag provided but not defined: -no-such-flag"},
		{[]string{"sidecar"}, "Usage: krakend-usage sidecar -c FILE"},
		{[]string{"dry-run"}, "Usage: krakend-usage dry-run -c FILE"},
		{[]string{"dry-run", "-c", "x.json", "--mode", "plugin"}, "Usage: krakend-usage dry-run -c FILE"},
		{[]string{"run", "--log-level", "LOUD", "--", "true"}, `-log-level "LOUD"`},
	} {
		code, _, stderr := exitCode(t, command(t, nil, tc.args...))
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("krakend-usage %q: exit %d, stderr %q; want %d and %q", tc.args, code, stderr, exitUsage, tc.want)
		}
	}
}

func TestHelpAndVersion(t *testing.T) {
	code, out, _ := exitCode(t, command(t, nil, "help"))
	if code != 0 || !strings.Contains(out, "krakend-usage run [flags] -- COMMAND") {
		t.Errorf("help: exit %d, %q", code, out)
	}
	code, out, _ = exitCode(t, command(t, nil, "version"))
	if code != 0 || !strings.HasPrefix(out, "krakend-usage ") {
		t.Errorf("version: exit %d, %q", code, out)
	}
}

// waitFile waits until file exists and returns its content.
func waitFile(t *testing.T, file string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if b, err := os.ReadFile(file); err == nil && len(b) > 0 {
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not written after 10s", file)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
