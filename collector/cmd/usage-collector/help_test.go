package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestHelpNamesImportAndBasicAuth: -h tells a new user of the import
// subcommand and of basic authentication for the admin token.
func TestHelpNamesImportAndBasicAuth(t *testing.T) {
	out, _ := exec.Command(binary(t), "-h").CombinedOutput()
	for _, want := range []string{"usage-collector import -from", "basic authentication", "Bearer", "-ipv6-prefix", "-max-client-conns"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("-h does not say %q:\n%s", want, out)
		}
	}
}

// TestConfigErrorsNameFlags: a bad value is refused naming the flag, not
// the Go field.
func TestConfigErrorsNameFlags(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "usage.db")
	for _, tc := range []struct{ args []string }{
		{[]string{"-retention", "30s"}},
		{[]string{"-ipv6-prefix", "8"}},
		{[]string{"-ipv4-prefix", "40"}},
		{[]string{"-session-burst", "-1"}},
		{[]string{"-max-clients", "-1"}},
		{[]string{"-max-client-conns", "-1"}},
	} {
		out, err := exec.Command(binary(t), append([]string{"-db", db}, tc.args...)...).CombinedOutput()
		if code := exitCode(err); code != 2 || !strings.Contains(string(out), tc.args[0]+" ") {
			t.Errorf("%v: exit %d %q, want 2 naming %s", tc.args, code, out, tc.args[0])
		}
	}
}

// TestDatabaseErrorLogged: a database that cannot be reached is one line
// of the structured log, without the password.
func TestDatabaseErrorLogged(t *testing.T) {
	out, err := exec.Command(binary(t), "-listen", "127.0.0.1:0",
		"-db", "host=127.0.0.1 port=1 user=usage password=s3cret dbname=usage connect_timeout=2").CombinedOutput()
	if code := exitCode(err); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if !strings.HasPrefix(line, "time=") {
			t.Errorf("line outside the structured log: %q", line)
		}
	}
	if !strings.Contains(string(out), `level=ERROR msg="collector: stopped on an error"`) || strings.Contains(string(out), "s3cret") {
		t.Errorf("output %q, want the error logged, without the password", out)
	}
}

func exitCode(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}
