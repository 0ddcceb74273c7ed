//go:build linux

package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestWrapperPassesExitStatus(t *testing.T) {
	for _, tc := range []struct {
		script string
		want   int
	}{
		{"exit 0", 0},
		{"exit 3", 3},
		{"kill -TERM $$", 128 + 15},
		{"kill -KILL $$", 128 + 9},
	} {
		code, _, stderr := exitCode(t, command(t, nil, "run", "--", "sh", "-c", tc.script))
		if code != tc.want {
			t.Errorf("child %q: wrapper exit %d, want %d (%s)", tc.script, code, tc.want, stderr)
		}
	}
	code, out, _ := exitCode(t, command(t, nil, "run", "--", "no-such-command-here"))
	if code != exitExec || !strings.Contains(out, `Cannot run "no-such-command-here"`) {
		t.Errorf("missing command: exit %d, %q; want %d and a line naming it", code, out, exitExec)
	}
}

// The child's output reaches the same stdout and stderr, byte for byte,
// and its stdin is the wrapper's.
func TestWrapperPassesOutputThrough(t *testing.T) {
	cmd := command(t, nil, "run", "--", "sh", "-c", `printf 'a\nb'; printf 'err\n' >&2; cat; printf 'c\n'`)
	cmd.Stdin = strings.NewReader("from stdin\n")
	code, stdout, stderr := exitCode(t, cmd)
	if code != 0 || stdout != "a\nbfrom stdin\nc\n" || stderr != "err\n" {
		t.Errorf("got exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// Every forwarded signal reaches the child, which decides what to do.
func TestWrapperForwardsSignals(t *testing.T) {
	dir := t.TempDir()
	ready := filepath.Join(dir, "ready")
	script := fmt.Sprintf(`
for s in HUP INT QUIT USR1 USR2 TERM; do trap "echo $s >> %[1]s/got" $s; done
echo $$ > %[2]s
while [ "$(wc -l < %[1]s/got 2>/dev/null)" != 6 ]; do sleep 0.05; done
exit 7`, dir, ready)
	cmd := command(t, nil, "run", "--", "sh", "-c", script)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFile(t, ready)
	for _, s := range []syscall.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGTERM} {
		if err := cmd.Process.Signal(s); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond) // sh runs one trap at a time
	}
	err := cmd.Wait()
	if cmd.ProcessState.ExitCode() != 7 {
		t.Fatalf("wrapper: %v, want exit 7 from the child", err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "got"))
	if strings.Fields(string(got)) == nil || len(strings.Fields(string(got))) != 6 {
		t.Errorf("the child got %q, want the 6 signals", got)
	}
}

// An orphan that the child leaves behind is reaped by the wrapper (its
// subreaper), not left a zombie, and the wrapper exits with the child.
func TestWrapperReapsOrphans(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "orphan")
	// The grandchild outlives its parent by a little: it is re-parented
	// to the wrapper, and exits while the child still runs.
	script := fmt.Sprintf(`sh -c 'sleep 0.2 & echo $! > %s' ; sleep 1; exit 0`, pidFile)
	cmd := command(t, nil, "run", "--", "sh", "-c", script)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(waitFile(t, pidFile)))
	time.Sleep(600 * time.Millisecond) // the orphan has exited by now
	if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		fields := strings.Fields(string(st[strings.LastIndexByte(string(st), ')')+1:]))
		if fields[0] == "Z" {
			t.Errorf("the orphan %d is a zombie: %s", pid, st)
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("wrapper: %v", err)
	}
}

// With USAGE_DISABLE or DO_NOT_TRACK, the wrapper execs COMMAND in its
// place after one INFO line: the process is the command itself.
func TestWrapperOffSwitchExecsInPlace(t *testing.T) {
	for _, env := range []string{"USAGE_DISABLE=1", "DO_NOT_TRACK=1"} {
		code, out, _ := exitCode(t, command(t, []string{env}, "run", "--", "sh", "-c", `echo "pid $$"; exec cat /proc/self/status`))
		if code != 0 {
			t.Fatalf("%s: exit %d", env, code)
		}
		lines := strings.Split(out, "\n")
		if !strings.Contains(lines[0], "INFO: [SERVICE: Usage] Usage reporter disabled by the "+strings.TrimSuffix(env, "=1")+" environment variable") {
			t.Errorf("%s: first line %q", env, lines[0])
		}
		// The shell's parent is the test, not a wrapper process.
		for _, l := range lines {
			if v, ok := strings.CutPrefix(l, "PPid:"); ok && strings.TrimSpace(v) != strconv.Itoa(os.Getpid()) {
				t.Errorf("%s: the command's parent is %s, want the test (%d): a wrapper stayed", env, strings.TrimSpace(v), os.Getpid())
			}
		}
	}
}

// Without /proc, the gateway is read from COMMAND: the first word that is
// a lura binary (here this test binary, which links lura), its arguments
// for the config file, and the child's start time for the uptime.
func TestCommandGateway(t *testing.T) {
	started := time.Now().Add(-time.Minute)
	g := commandGateway([]string{"/bin/sh", "-c", "x", os.Args[0], "run", "-c", "krakend.json"}, started)
	if g.bin.Lura != 2 || g.bin.Version != "undefined" || !g.started.Equal(started) || g.args[0] != os.Args[0] || g.args[len(g.args)-1] != "krakend.json" || !g.serving() {
		t.Errorf("got %+v", g)
	}
	if g := commandGateway([]string{"/bin/sh", "-c", "exit 0"}, started); g.bin.Lura != 0 || g.bin.Version != "undefined" {
		t.Errorf("a command without a lura binary: %+v", g)
	}
}

// In /proc, the gateway is the descendant that links lura: this test
// binary, started by a shell that forks it.
func TestFindGatewayAmongDescendants(t *testing.T) {
	dir := t.TempDir()
	cmd := command(t, nil, "help")
	cmd.Path, cmd.Args = "/bin/sh", []string{"sh", "-c", `"$0" run -c my.json; true`, os.Args[0]}
	cmd.Dir = dir
	cmd.Env = append(cmd.Env, "KRAKEND_USAGE_TEST_MAIN=", "KRAKEND_USAGE_TEST_SLEEP=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		g, err := findGateway(cmd.Process.Pid, nil)
		if err == nil {
			defer syscall.Kill(g.pid, syscall.SIGKILL)
			if g.pid == cmd.Process.Pid || g.args[len(g.args)-1] != "my.json" || g.dir != dir || g.uid != os.Getuid() || time.Since(g.started) > time.Minute {
				t.Errorf("got %+v; want the forked test binary, its arguments, directory, user and start time", g)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not found: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A sidecar that shares the gateway's process namespace finds the gateway
// by the socket listening on its port, among other lura processes.
func TestGatewayOnPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	var pids []int
	for _, v := range []string{"yes", strconv.Itoa(port)} { // a lura process that does not listen, then the gateway
		cmd := command(t, []string{"KRAKEND_USAGE_TEST_MAIN=", "KRAKEND_USAGE_TEST_SLEEP=" + v}, "run", "-c", "gw.json")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { cmd.Process.Kill(); cmd.Wait() }()
		pids = append(pids, cmd.Process.Pid)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		g, err := gatewayOnPort(port)
		if err == nil {
			if g.pid != pids[1] || g.bin.Lura != 2 {
				t.Errorf("found pid %d (%+v), want the listener %d", g.pid, g.bin, pids[1])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not found: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := gatewayOnPort(1); err == nil {
		t.Error("found a gateway on port 1")
	}
	for base, want := range map[string]int{"http://127.0.0.1:8080": 8080, "http://localhost": 80, "https://[::1]": 443, "http://gateway:8080": 0} {
		if got := loopbackPort(base); got != want {
			t.Errorf("loopbackPort(%s) = %d, want %d", base, got, want)
		}
	}
}

// Only `krakend run` is reported: KrakenD's other commands serve nothing.
func TestServing(t *testing.T) {
	for args, want := range map[string]bool{
		"krakend run -c krakend.json":    true,
		"/usr/bin/krakend run -d -c x":   true,
		"krakend check -c krakend.json":  false,
		"krakend version":                false,
		"krakend":                        false,
		"krakend -c krakend.json audit":  false,
		"krakend -c krakend.json run":    true,
		"krakend --config=x.json run -d": true,
	} {
		if got := (&gateway{args: strings.Fields(args)}).serving(); got != want {
			t.Errorf("%q: serving %t, want %t", args, got, want)
		}
	}
}
