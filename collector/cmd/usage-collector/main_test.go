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
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/store/sqlite"
	"github.com/krakend-usage/krakend-usage/usage"
	"github.com/krakend-usage/krakend-usage/usage/hashcash"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds the real command once per test run, or returns
// $USAGE_COLLECTOR_TEST_BINARY, to run the same tests against another
// build (an older release, for a comparison).
func binary(t *testing.T) string {
	t.Helper()
	if b := os.Getenv("USAGE_COLLECTOR_TEST_BINARY"); b != "" {
		return b
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "usage-collector-test")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "usage-collector")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	if name := os.Getenv(attackEnv); name != "" {
		os.Exit(attackMain(name)) // a fairness test's attacker process
	}
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

type proc struct {
	cmd  *exec.Cmd
	url  string
	logs *syncBuffer
	done chan error
}

var addrRE = regexp.MustCompile(`addr=(\S+)`)

// start runs the binary on a loopback port over the SQLite file db and
// waits until it listens.
func start(t *testing.T, db string, args ...string) *proc {
	t.Helper()
	return startDSN(t, "sqlite:"+db, args...)
}

// startDSN runs the binary over the database dsn.
func startDSN(t *testing.T, dsn string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(binary(t), append([]string{"-listen", "127.0.0.1:0", "-db", dsn, "-bits", "8"}, args...)...)
	cmd.Env = append(os.Environ(), "USAGE_COLLECTOR_SECRET=")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, logs: new(syncBuffer), done: make(chan error, 1)}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.logs.WriteString(sc.Text() + "\n")
			if m := addrRE.FindStringSubmatch(sc.Text()); m != nil && strings.Contains(sc.Text(), "listening") {
				addr <- m[1]
			}
		}
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() { cmd.Process.Kill() })
	select {
	case a := <-addr:
		p.url = "http://" + a
	case err := <-p.done:
		t.Fatalf("collector exited: %v\n%s", err, p.logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("collector did not start\n%s", p.logs)
	}
	return p
}

// stop signals the process and returns its exit code.
func (p *proc) stop(t *testing.T, sig os.Signal) int {
	t.Helper()
	p.cmd.Process.Signal(sig)
	return p.wait(t)
}

func (p *proc) wait(t *testing.T) int {
	t.Helper()
	select {
	case err := <-p.done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(30 * time.Second):
		t.Fatal("collector did not exit")
		return -1
	}
}

func session(t *testing.T, url, cluster, server string) string {
	t.Helper()
	b, _ := json.Marshal(usage.SessionRequest{ClusterID: cluster, ServerID: server})
	resp, err := http.Post(url+"/session", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r usage.SessionReply
	json.NewDecoder(resp.Body).Decode(&r)
	if resp.StatusCode != 200 || r.Token == "" || r.Bits != 8 {
		t.Fatalf("session: %d %+v", resp.StatusCode, r)
	}
	return r.Token
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
			tok := session(t, p.url, "c", "s")
			body := reportBody(t, tok, "c", "s")

			conn, err := net.Dial("tcp", strings.TrimPrefix(p.url, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			fmt.Fprintf(conn, "POST /report HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
			conn.Write(body[:len(body)/2])
			// Let the server start reading the request; the signal must
			// find it in flight.
			time.Sleep(200 * time.Millisecond)
			p.cmd.Process.Signal(sig)
			time.Sleep(200 * time.Millisecond)
			conn.Write(body[len(body)/2:])
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("in-flight request: %v\n%s", err, p.logs)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("in-flight report: got %d, want 200", resp.StatusCode)
			}
			if code := p.wait(t); code != 0 {
				t.Errorf("exit code %d, want 0\n%s", code, p.logs)
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
	tok := session(t, p.url, "c", "s")
	if code := p.stop(t, os.Interrupt); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	p = start(t, db)
	if code := post(t, p.url, reportBody(t, tok, "c", "s")); code != 200 {
		t.Errorf("report with a token from before the restart: got %d, want 200", code)
	}
	// A second collector on the same database accepts it too.
	q := start(t, db)
	if code := post(t, q.url, reportBody(t, tok, "c", "s")); code != 200 {
		t.Errorf("report to a second collector: got %d, want 200", code)
	}
	p.stop(t, syscall.SIGTERM)
	q.stop(t, syscall.SIGTERM)
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
	resp, err := http.Post(p.url+"/s", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("session at USAGE_COLLECTOR_SESSION_PATH: got %d", resp.StatusCode)
	}
	p.stop(t, syscall.SIGTERM)
}
