package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/krakend-usage/krakend-usage/usage/krakend"
)

// gateway is the KrakenD process, as /proc shows it, or as COMMAND names
// it when /proc cannot tell.
type gateway struct {
	pid     int // 0 when not found in /proc
	bin     krakend.Binary
	args    []string // its command line: where the config file is named
	dir     string   // its working directory ("" for this process's)
	uid     int      // its real user ID; -1 when unknown
	gid     int
	started time.Time
}

// procRoot is where the process table is read from.
const procRoot = "/proc"

// errNoProc: /proc is missing or unreadable.
var errNoProc = errors.New("no readable " + procRoot)

// findGateway looks for the gateway among root and its descendants: the
// first process whose executable links lura. An entrypoint script execs
// su-exec, which execs krakend, all under root's PID; a script that forks
// runs krakend as a descendant.
//
// Root without CAP_SYS_PTRACE (a container's default) cannot read the
// executable of another user's process: for a descendant that runs as
// another user, findGateway calls become first, which is to give up root
// for that user, then reads it.
func findGateway(root int, become func(uid, gid int) error) (*gateway, error) {
	pids, err := descendants(root)
	if err != nil {
		return nil, err
	}
	for _, pid := range pids {
		g, err := procGateway(pid)
		if err != nil && errors.Is(err, os.ErrPermission) && become != nil {
			uid, gid := procIDs(filepath.Join(procRoot, strconv.Itoa(pid), "status"))
			if uid > 0 && uid != os.Geteuid() && become(uid, gid) == nil {
				g, err = procGateway(pid)
			}
		}
		if err == nil {
			return g, nil
		}
	}
	return nil, fmt.Errorf("no lura binary among process %d and its descendants", root)
}

// gatewayOnPort looks for the gateway that listens on port, among every
// process in view: a sidecar sees the gateway's process when its pod shares
// the process namespace (and, sharing the network, its listening socket).
// The process is the one holding the socket that /proc/net/tcp and tcp6
// show listening on port, and it must link lura.
func gatewayOnPort(port int) (*gateway, error) {
	inodes := listeningInodes(port)
	if len(inodes) == 0 {
		return nil, fmt.Errorf("no socket listening on port %d in view", port)
	}
	ents, err := os.ReadDir(procRoot)
	if err != nil {
		return nil, errNoProc
	}
	self := os.Getpid()
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self || !holdsSocket(pid, inodes) {
			continue
		}
		return procGateway(pid)
	}
	return nil, fmt.Errorf("no process in view holds the socket listening on port %d", port)
}

// listeningInodes returns the TCP sockets listening on port, as their
// /proc/PID/fd links read ("socket:[INODE]"), from /proc/net/tcp and
// /proc/net/tcp6: "local_address" ends in the port in hex, state 0A is
// LISTEN, the inode is the tenth field.
func listeningInodes(port int) map[string]bool {
	out := map[string]bool{}
	suffix := fmt.Sprintf(":%04X", port)
	for _, f := range []string{"tcp", "tcp6"} {
		b, err := os.ReadFile(filepath.Join(procRoot, "net", f))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fields := strings.Fields(line)
			if len(fields) > 9 && strings.HasSuffix(fields[1], suffix) && fields[3] == "0A" {
				out["socket:["+fields[9]+"]"] = true
			}
		}
	}
	return out
}

// holdsSocket reports whether process pid has one of the sockets open.
func holdsSocket(pid int, sockets map[string]bool) bool {
	dir := filepath.Join(procRoot, strconv.Itoa(pid), "fd")
	fds, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, fd := range fds {
		if link, err := os.Readlink(filepath.Join(dir, fd.Name())); err == nil && sockets[link] {
			return true
		}
	}
	return false
}

// descendants returns root and every descendant of it, parents first.
func descendants(root int) ([]int, error) {
	ents, err := os.ReadDir(procRoot)
	if err != nil {
		return nil, errNoProc
	}
	children := map[int][]int{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := readStat(pid); err == nil {
			children[st.ppid] = append(children[st.ppid], pid)
		}
	}
	out := []int{root}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out, nil
}

// procGateway describes process pid when its executable links lura.
func procGateway(pid int) (*gateway, error) {
	dir := filepath.Join(procRoot, strconv.Itoa(pid))
	bin, err := krakend.ReadBinary(filepath.Join(dir, "exe"))
	if err != nil {
		return nil, err
	}
	g := &gateway{pid: pid, bin: bin, uid: -1, gid: -1}
	if b, err := os.ReadFile(filepath.Join(dir, "cmdline")); err == nil {
		g.args = strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	}
	g.dir, _ = os.Readlink(filepath.Join(dir, "cwd"))
	g.uid, g.gid = procIDs(filepath.Join(dir, "status"))
	if st, err := readStat(pid); err == nil {
		g.started = st.started
	}
	return g, nil
}

// procIDs reads the real user and group IDs from /proc/PID/status.
func procIDs(file string) (uid, gid int) {
	uid, gid = -1, -1
	b, err := os.ReadFile(file)
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "Uid:":
			uid, _ = strconv.Atoi(f[1])
		case "Gid:":
			gid, _ = strconv.Atoi(f[1])
		}
	}
	return
}

type procStat struct {
	ppid    int
	started time.Time
}

// clockTicks is the unit of /proc/PID/stat's start time: USER_HZ, 100 on
// every Linux architecture Go supports.
const clockTicks = 100

// readStat reads the parent PID and the start time of process pid.
func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "stat"))
	if err != nil {
		return procStat{}, err
	}
	// "pid (comm) state ppid ...": comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, errors.New("bad stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return procStat{}, errors.New("bad stat")
	}
	var st procStat
	st.ppid, _ = strconv.Atoi(f[1])
	if ticks, err := strconv.ParseInt(f[19], 10, 64); err == nil {
		if boot, err := bootTime(); err == nil {
			st.started = boot.Add(time.Duration(ticks) * time.Second / clockTicks)
		}
	}
	return st, nil
}

// bootTime reads the system's boot time from /proc/stat.
func bootTime() (time.Time, error) {
	b, err := os.ReadFile(filepath.Join(procRoot, "stat"))
	if err != nil {
		return time.Time{}, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return time.Time{}, err
			}
			return time.Unix(n, 0), nil
		}
	}
	return time.Time{}, errors.New("no btime in /proc/stat")
}

// commandGateway describes the gateway from COMMAND alone, when /proc
// cannot show it: the first word of COMMAND that resolves to a lura
// binary (krakend, or the krakend that docker-entrypoint.sh is given), and
// COMMAND's arguments for the config file.
func commandGateway(command []string, started time.Time) *gateway {
	g := &gateway{args: command, uid: -1, gid: -1, started: started}
	for i, w := range command {
		if strings.HasPrefix(w, "-") {
			continue
		}
		path, err := exec.LookPath(w)
		if err != nil {
			continue
		}
		if bin, err := krakend.ReadBinary(path); err == nil {
			g.bin, g.args = bin, command[i:]
			return g
		}
	}
	g.bin = krakend.Binary{Version: "undefined"}
	return g
}

// serving reports whether the gateway's command line runs the gateway
// (`krakend run ...`), not one of KrakenD's other commands (check,
// version, audit, ...), which serve nothing and are not reported.
func (g *gateway) serving() bool {
	args := g.args[min(1, len(g.args)):]
	for i := 0; i < len(args); i++ {
		switch a := args[i]; a {
		case "-c", "--config", "-config", "-p", "--port", "-port":
			i++ // the flag's value
		default:
			if !strings.HasPrefix(a, "-") {
				return a == "run"
			}
		}
	}
	return false
}
