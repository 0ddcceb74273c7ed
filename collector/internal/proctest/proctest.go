// Package proctest builds and runs a collector as a process of its own,
// for the tests that observe what a process does: its memory, its file
// descriptors, its answer to a signal, its exit code.
//
// A collector process is any program that logs a line holding "listening"
// and "addr=HOST:PORT" once it accepts connections: the command
// usage-collector, or a program embedding the library.
package proctest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/krakend-usage/krakend-usage/usage"
	"github.com/krakend-usage/krakend-usage/usage/usagetest"
)

var (
	mu    sync.Mutex
	built = map[string]string{} // package -> binary
	dir   string
)

// Build builds the main package pkg (a path relative to the test's
// directory) once per test binary and returns the binary's path. Clean,
// called from TestMain, removes what Build made.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if b, ok := built[pkg]; ok {
		return b
	}
	if dir == "" {
		d, err := os.MkdirTemp("", "collector-proctest")
		if err != nil {
			t.Fatal(err)
		}
		dir = d
	}
	bin := filepath.Join(dir, fmt.Sprintf("bin%d-%s", len(built), filepath.Base(pkg)))
	out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	built[pkg] = bin
	return bin
}

// Clean removes the binaries Build made.
func Clean() {
	mu.Lock()
	defer mu.Unlock()
	if dir != "" {
		os.RemoveAll(dir)
	}
}

// Proc is a collector process.
type Proc struct {
	Cmd  *exec.Cmd
	URL  string // http://HOST:PORT, the address it logged
	Logs *usagetest.Log
	done chan error
}

var addrRE = regexp.MustCompile(`addr=(\S+)`)

// Start runs bin with args and the environment env added to the test's,
// and waits until it logs the address it listens on. The process is
// killed when the test ends.
func Start(t testing.TB, bin string, args []string, env ...string) *Proc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &Proc{Cmd: cmd, Logs: new(usagetest.Log), done: make(chan error, 1)}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			fmt.Fprintln(p.Logs, sc.Text())
			if m := addrRE.FindStringSubmatch(sc.Text()); m != nil && strings.Contains(sc.Text(), "listening") {
				select {
				case addr <- m[1]:
				default: // a second listener
				}
			}
		}
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() { cmd.Process.Kill() })
	select {
	case a := <-addr:
		p.URL = "http://" + a
	case err := <-p.done:
		t.Fatalf("collector exited: %v\n%s", err, p.Logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("collector did not start\n%s", p.Logs)
	}
	return p
}

// Stop signals the process and returns its exit code.
func (p *Proc) Stop(t testing.TB, sig os.Signal) int {
	t.Helper()
	p.Cmd.Process.Signal(sig)
	return p.Wait(t)
}

// Wait waits for the process to exit and returns its exit code.
func (p *Proc) Wait(t testing.TB) int {
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

// Session opens a session at the collector at url and returns its token.
func Session(t testing.TB, url, cluster, server string) string {
	t.Helper()
	return SessionWith(t, http.DefaultClient, url, cluster, server)
}

// SessionWith is Session through client c (from an address of its own,
// say).
func SessionWith(t testing.TB, c *http.Client, url, cluster, server string) string {
	t.Helper()
	b, _ := json.Marshal(usage.SessionRequest{ClusterID: cluster, ServerID: server})
	resp, err := c.Post(url+"/session", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r usage.SessionReply
	json.NewDecoder(resp.Body).Decode(&r)
	if resp.StatusCode != 200 || r.Token == "" {
		t.Fatalf("session: %d %+v", resp.StatusCode, r)
	}
	return r.Token
}

// FreePort is usagetest.FreePort as a string, for an address or a flag.
func FreePort(t testing.TB) string { return strconv.Itoa(usagetest.FreePort(t)) }
