package main

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestHealthcheck: usage-collector healthcheck exits 0 when the collector
// it finds (-listen, or USAGE_COLLECTOR_LISTEN as the collector reads it)
// answers /healthz, and 1 saying why when nothing answers.
func TestHealthcheck(t *testing.T) {
	p := start(t, filepath.Join(t.TempDir(), "usage.db"))
	addr := strings.TrimPrefix(p.URL, "http://")
	_, port, _ := net.SplitHostPort(addr)
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := free.Addr().String()
	free.Close()
	for _, tc := range []struct {
		args []string
		env  string
		code int
		want string
	}{
		{[]string{"-listen", addr}, "", 0, `"status":"ok"`},
		{nil, "USAGE_COLLECTOR_LISTEN=127.0.0.1:" + port, 0, `"status":"ok"`},
		{[]string{"-listen", ":" + port}, "", 0, `"status":"ok"`}, // every interface: asks loopback
		{[]string{"-listen", closed}, "", 1, "connection refused"},
		{[]string{"-listen", port}, "", 2, "did you mean"},
	} {
		cmd := exec.Command(binary(t), append([]string{"healthcheck"}, tc.args...)...)
		cmd.Env = append(os.Environ(), tc.env)
		out, err := cmd.CombinedOutput()
		if code := exitCode(err); code != tc.code || !strings.Contains(string(out), tc.want) {
			t.Errorf("healthcheck %v %s: exit %d %q, want %d saying %q", tc.args, tc.env, code, out, tc.code, tc.want)
		}
	}
}
