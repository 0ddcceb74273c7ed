package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/internal/proctest"
	"github.com/krakend-usage/krakend-usage/collector/store/sqlite"
	"github.com/krakend-usage/krakend-usage/usage"
	"github.com/krakend-usage/krakend-usage/usage/hashcash"
)

// binary builds the real command once per test run, or returns
// $USAGE_COLLECTOR_TEST_BINARY, to run the same tests against another
// build (an older release, for a comparison).
func binary(t *testing.T) string {
	t.Helper()
	if b := os.Getenv("USAGE_COLLECTOR_TEST_BINARY"); b != "" {
		return b
	}
	return proctest.Build(t, ".")
}

func TestMain(m *testing.M) {
	code := m.Run()
	proctest.Clean()
	os.Exit(code)
}

// proc is a running collector command.
type proc = proctest.Proc

// start runs the binary on a loopback port over the SQLite file db and
// waits until it listens.
func start(t *testing.T, db string, args ...string) *proc {
	t.Helper()
	return startDSN(t, "sqlite:"+db, args...)
}

// startDSN runs the binary over the database dsn.
func startDSN(t *testing.T, dsn string, args ...string) *proc {
	t.Helper()
	return proctest.Start(t, binary(t), append([]string{"-listen", "127.0.0.1:0", "-db", dsn, "-bits", "8"}, args...), "USAGE_COLLECTOR_SECRET=")
}

// session opens a session at the collector at url.
func session(t *testing.T, url, cluster, server string) string {
	t.Helper()
	return proctest.Session(t, url, cluster, server)
}

func reportBody(t *testing.T, token, cluster, server string) []byte {
	t.Helper()
	req := usage.ReportRequest{Token: token, Data: usage.UsageData{Version: "v1", OS: "linux", Arch: "amd64",
		ClusterID: cluster, ServerID: server, Time: time.Now().Unix()}}
	h, _ := req.Data.Hash()
	var err error
	if req.Pow, err = (&hashcash.Minter{Bits: 8}).Mint(token + h); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(req)
	return b
}

func post(t *testing.T, url string, body []byte) int {
	t.Helper()
	resp, err := http.Post(url+"/report", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

func stored(t *testing.T, db string) int64 {
	t.Helper()
	st, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s, err := st.Stats(context.Background(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return s.Reports
}

// TestSignalDrainsInFlight: a report whose body is still arriving when
// SIGTERM comes is answered 200 and stored, then the process exits 0.
func TestSignalDrainsInFlight(t *testing.T) {
	for _, sig := range []os.Signal{syscall.SIGTERM, os.Interrupt} {
		t.Run(sig.String(), func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "usage.db")
			p := start(t, db)
			tok := session(t, p.URL, "c", "s")
			body := reportBody(t, tok, "c", "s")

			conn, err := net.Dial("tcp", strings.TrimPrefix(p.URL, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			fmt.Fprintf(conn, "POST /report HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
			conn.Write(body[:len(body)/2])
			// Let the server start reading the request; the signal must
			// find it in flight.
			time.Sleep(200 * time.Millisecond)
			p.Cmd.Process.Signal(sig)
			time.Sleep(200 * time.Millisecond)
			conn.Write(body[len(body)/2:])
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("in-flight request: %v\n%s", err, p.Logs)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("in-flight report: got %d, want 200", resp.StatusCode)
			}
			if code := p.Wait(t); code != 0 {
				t.Errorf("exit code %d, want 0\n%s", code, p.Logs)
			}
			if n := stored(t, db); n != 1 {
				t.Errorf("stored %d reports, want 1", n)
			}
		})
	}
}

// TestTokensSurviveRestart: the key generated on first start is kept in
// the database, so a token from before a restart is still accepted.
func TestTokensSurviveRestart(t *testing.T) {
	db := filepath.Join(t.TempDir(), "usage.db")
	p := start(t, db)
	tok := session(t, p.URL, "c", "s")
	if code := p.Stop(t, os.Interrupt); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	p = start(t, db)
	if code := post(t, p.URL, reportBody(t, tok, "c", "s")); code != 200 {
		t.Errorf("report with a token from before the restart: got %d, want 200", code)
	}
	// A second collector on the same database accepts it too.
	q := start(t, db)
	if code := post(t, q.URL, reportBody(t, tok, "c", "s")); code != 200 {
		t.Errorf("report to a second collector: got %d, want 200", code)
	}
	p.Stop(t, syscall.SIGTERM)
	q.Stop(t, syscall.SIGTERM)
	if n := stored(t, db); n != 2 {
		t.Errorf("stored %d, want 2", n)
	}
}

func TestExitCodes(t *testing.T) {
	for _, tt := range []struct {
		args []string
		env  string
		code int
	}{
		{[]string{"-h"}, "", 0},
		{[]string{"-no-such-flag"}, "", 2},
		{[]string{"-db", "mysql://x"}, "", 2},
		{nil, "USAGE_COLLECTOR_BITS=lots", 2},
		{[]string{"-listen", "256.0.0.1:99999"}, "", 1},
		{[]string{"-version"}, "", 0},
		{[]string{"-bits", "29"}, "", 2},
		{[]string{"-bits", "0"}, "", 2},
		{nil, "USAGE_COLLECTOR_BITS=40", 2},
		{[]string{"-db", "sqlite:"}, "", 2},
		{[]string{"-db", "sqlite::memory:"}, "", 2},
		{[]string{"-db", "sqlite:file:x.db?mode=memory"}, "", 2},
		{[]string{"-session-path", "/metrics"}, "", 2},
		{[]string{"-report-path", "/a b"}, "", 2},
		{[]string{"-client-ip-header", "X-Forwarded-For"}, "", 2},
		{[]string{"-client-ip-header", "X-Forwarded-For", "-trusted-proxies", "10.0.0.0/33"}, "", 2},
		{[]string{"-log-level", "loud"}, "", 2},
		{[]string{"-max-conns", "1"}, "", 2},
	} {
		cmd := exec.Command(binary(t), append([]string{"-db", "sqlite:" + filepath.Join(t.TempDir(), "x.db")}, tt.args...)...)
		cmd.Env = append(os.Environ(), tt.env)
		out, err := cmd.CombinedOutput()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		}
		if code != tt.code {
			t.Errorf("%v %s: exit code %d, want %d\n%s", tt.args, tt.env, code, tt.code, out)
		}
		if code == 2 && len(tt.args) > 1 && !bytes.Contains(out, []byte(tt.args[len(tt.args)-2])) && !bytes.Contains(out, []byte(tt.args[0])) {
			t.Errorf("%v: the error does not name the flag:\n%s", tt.args, out)
		}
		if code != 0 && bytes.Contains(out, []byte("panic")) {
			t.Errorf("%v: panicked:\n%s", tt.args, out)
		}
	}
}

func TestEnvFallback(t *testing.T) {
	db := filepath.Join(t.TempDir(), "usage.db")
	t.Setenv("USAGE_COLLECTOR_SESSION_PATH", "/s")
	p := start(t, db)
	b, _ := json.Marshal(usage.SessionRequest{ClusterID: "c", ServerID: "s"})
	resp, err := http.Post(p.URL+"/s", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("session at USAGE_COLLECTOR_SESSION_PATH: got %d", resp.StatusCode)
	}
	p.Stop(t, syscall.SIGTERM)
}
