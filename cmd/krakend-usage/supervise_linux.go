package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/krakend-usage/krakend-usage/usage"
)

// forwarded are the signals the wrapper passes to its child, as tini does.
// SIGCHLD is its own: it means a child or an orphan to reap.
var forwarded = []os.Signal{
	syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT,
	syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH, syscall.SIGCONT,
}

// prSetChildSubreaper is prctl's PR_SET_CHILD_SUBREAPER.
const prSetChildSubreaper = 36

// supervise runs command as a child with this process's stdin, stdout,
// stderr and environment, calls report (in a goroutine, with a context
// that ends when the child exits) and returns the child's exit status:
// its exit code, or 128+n when signal n ended it. While the child runs it
// forwards every signal of forwarded to it and reaps every zombie that
// ends up under this process: as PID 1 in a container, orphans are
// re-parented here; elsewhere this process declares itself their
// subreaper.
func supervise(path string, command []string, report func(ctx context.Context, child int, started time.Time), logger usage.Logger) int {
	if os.Getpid() != 1 {
		if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); errno != 0 {
			logger.Debug(fmt.Sprintf("Not a subreaper (%v): orphans of the gateway go to PID 1", errno))
		}
	}
	// Notified before the child starts, so that no SIGCHLD is missed.
	sigs := make(chan os.Signal, 32)
	signal.Notify(sigs, append([]os.Signal{syscall.SIGCHLD}, forwarded...)...)
	defer signal.Stop(sigs)

	proc, err := os.StartProcess(path, command, &os.ProcAttr{
		Env:   os.Environ(),
		Files: []*os.File{os.Stdin, os.Stdout, os.Stderr},
	})
	if err != nil {
		logger.Error(fmt.Sprintf("Cannot run %q: %v", command[0], err))
		return exitExec
	}
	child := proc.Pid
	started := time.Now()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go report(ctx, child, started)

	// A SIGCHLD may merge several exits, and one may come before Notify's
	// channel is read: every wake-up reaps until nothing is left, and a
	// slow tick catches anything a full channel dropped.
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case sig := <-sigs:
			if sig != syscall.SIGCHLD {
				_ = syscall.Kill(child, sig.(syscall.Signal))
				continue
			}
		case <-tick.C:
		}
		if status, done := reap(child); done {
			return status
		}
	}
}

// reap collects every exited child without blocking. It reports the exit
// status of child when child is among them.
func reap(child int) (status int, done bool) {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if err == syscall.EINTR {
			continue
		}
		if pid <= 0 || err != nil {
			return status, done
		}
		if pid != child {
			continue
		}
		done = true
		switch {
		case ws.Exited():
			status = ws.ExitStatus()
		case ws.Signaled():
			status = 128 + int(ws.Signal())
		default:
			done = false // stopped or continued: still running
		}
	}
}

// execInPlace replaces this process with command: no wrapper is left.
func execInPlace(path string, command []string) error {
	return syscall.Exec(path, command, os.Environ())
}

// dropPrivileges gives up root for the gateway's own user and group, once
// the gateway runs as someone else (the official image's entrypoint runs
// KrakenD as uid 1000). The wrapper keeps what it needs: signals to a
// process of the same user, reaping, and the config file the gateway
// reads. It does nothing when this process is not root; a gateway that
// runs as root is never passed here.
func dropPrivileges(uid, gid int) error {
	if os.Geteuid() != 0 || uid <= 0 || gid < 0 {
		return nil
	}
	if err := syscall.Setgroups([]int{gid}); err != nil {
		return err
	}
	if err := syscall.Setgid(gid); err != nil {
		return err
	}
	return syscall.Setuid(uid)
}
