package main

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/krakend-usage/krakend-usage/collector/store/storetest"
)

// TestStartErrorsSayWhatToDo: the mistakes of a first start are refused
// with exit 2 and a message that names the setting and what it wants
// (before: "missing port in address", "parse error", "address already in
// use").
func TestStartErrorsSayWhatToDo(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "usage.db")
	for _, tc := range []struct {
		args []string
		env  string
		want []string
	}{
		{[]string{"-listen", "8090"}, "", []string{"-listen", `":8090"`}},
		{[]string{"-admin-listen", "localhost"}, "", []string{"-admin-listen", "HOST:PORT"}},
		{nil, "USAGE_COLLECTOR_BITS=abc", []string{"USAGE_COLLECTOR_BITS", "whole number", "-bits"}},
		{nil, "USAGE_COLLECTOR_RETENTION=30", []string{"USAGE_COLLECTOR_RETENTION", "duration"}},
		{[]string{"-listen", "127.0.0.1:18091", "-admin-listen", "127.0.0.1:18091"}, "", []string{"-admin-listen", "address of their own"}},
		{[]string{"-listen", ":18091", "-admin-listen", "127.0.0.1:18091"}, "", []string{"-admin-listen", "address of their own"}},
	} {
		cmd := exec.Command(binary(t), append([]string{"-db", db}, tc.args...)...)
		cmd.Env = append(os.Environ(), tc.env)
		out, err := cmd.CombinedOutput()
		if code := exitCode(err); code != 2 {
			t.Errorf("%v %s: exit %d, want 2\n%s", tc.args, tc.env, code, out)
		}
		for _, w := range tc.want {
			if !strings.Contains(string(out), w) {
				t.Errorf("%v %s: the error does not say %q:\n%s", tc.args, tc.env, w, out)
			}
		}
	}
}

// TestAdminRoutesSafeByDefault: started with no admin setting, the
// collector serves the dashboard to this machine, and says so only when
// the intake is reachable from elsewhere; -admin-anywhere says they are
// public; no warning comes before a failed start.
func TestAdminRoutesSafeByDefault(t *testing.T) {
	const public, localOnly = "are public", "answer clients on this machine only"
	for _, tc := range []struct {
		name      string
		args      []string
		want, not string
	}{
		{"loopback demo", nil, "", public + "|" + localOnly},
		{"every interface", []string{"-listen", ":0"}, localOnly, public},
		{"admin anywhere", []string{"-listen", ":0", "-admin-anywhere"}, public, localOnly},
		{"admin listener public", []string{"-admin-listen", ":0"}, public, localOnly},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := start(t, filepath.Join(t.TempDir(), "usage.db"), tc.args...)
			resp, err := http.Get(strings.Replace(p.URL, "[::]", "127.0.0.1", 1) + "/api/stats")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if want := map[bool]int{true: 404, false: 200}[strings.Contains(tc.name, "admin listener")]; resp.StatusCode != want {
				t.Errorf("/api/stats from this machine: got %d, want %d", resp.StatusCode, want)
			}
			p.Stop(t, syscall.SIGTERM)
			logs := p.Logs.String()
			if tc.want != "" && !strings.Contains(logs, tc.want) {
				t.Errorf("the log does not say %q:\n%s", tc.want, logs)
			}
			for _, n := range strings.Split(tc.not, "|") {
				if strings.Contains(logs, n) {
					t.Errorf("the log says %q:\n%s", n, logs)
				}
			}
		})
	}
	t.Run("failed start", func(t *testing.T) {
		taken, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer taken.Close()
		out, _ := exec.Command(binary(t), "-db", "sqlite:"+filepath.Join(t.TempDir(), "usage.db"),
			"-listen", taken.Addr().String(), "-admin-anywhere").CombinedOutput()
		if !strings.Contains(string(out), "address already in use") || strings.Contains(string(out), public) {
			t.Errorf("a port taken: want the error alone, no warning first:\n%s", out)
		}
	})
}

// TestPostgresStartLineNamesServer: the start line says which PostgreSQL
// host and database the collector uses.
func TestPostgresStartLineNamesServer(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	p := startDSN(t, dsn)
	p.Stop(t, syscall.SIGTERM)
	for _, want := range []string{"db=postgres", "host=", "database="} {
		if !strings.Contains(p.Logs.String(), want) {
			t.Errorf("the start line does not say %q:\n%s", want, p.Logs)
		}
	}
}
