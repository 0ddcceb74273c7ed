package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/krakend-usage/krakend-usage/usage"
	"github.com/krakend-usage/krakend-usage/usage/krakend"
)

// findGatewayFor bounds how long the wrapper looks for the gateway process
// among its child's descendants (an entrypoint takes milliseconds to exec
// it); after that it reads COMMAND instead.
const findGatewayFor = 10 * time.Second

// runWrapper is "krakend-usage run [flags] -- COMMAND [ARGS...]".
func runWrapper(args []string, stdout, stderr io.Writer) int {
	s := newSettings("run", stderr)
	s.fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: krakend-usage run [flags] -- COMMAND [ARGS...]")
		s.fs.PrintDefaults()
	}
	if err := s.fs.Parse(args); err != nil {
		return exitUsage
	}
	command := s.fs.Args()
	if len(command) == 0 {
		fmt.Fprintln(stderr, "krakend-usage run: no COMMAND to run, e.g. krakend-usage run -- krakend run -c krakend.json")
		return exitUsage
	}
	logger, err := s.logger(stdout)
	if err != nil {
		fmt.Fprintln(stderr, "krakend-usage run:", err)
		return exitUsage
	}
	path, err := exec.LookPath(command[0])
	if err != nil {
		logger.Error(fmt.Sprintf("Cannot run %q: %v", command[0], err))
		return exitExec
	}
	if why := krakend.OffSwitch(s.getenv); why != "" {
		logger.Info("Usage reporter disabled by " + why + "; running " + command[0] + " in its place")
		err := execInPlace(path, command)
		logger.Error(fmt.Sprintf("Cannot run %q: %v", command[0], err))
		return exitExec
	}
	return supervise(path, command, func(ctx context.Context, child int, started time.Time) {
		reportBeside(ctx, logger, s, child, command, started)
	}, logger)
}

// reportBeside finds the gateway process under child, reads its binary and
// its config, and starts the reporter until ctx ends. Nothing it meets
// stops the gateway: every failure is one log line, and a panic is
// recovered.
func reportBeside(ctx context.Context, logger usage.Logger, s *settings, child int, command []string, started time.Time) {
	defer func() {
		if p := recover(); p != nil {
			logger.Error(fmt.Sprintf("Recovered from panic in the usage reporter: %v; it is stopped, the gateway goes on", p))
		}
	}()
	become := func(uid, gid int) error {
		err := dropPrivileges(uid, gid)
		if err != nil {
			logger.Warning(fmt.Sprintf("Cannot take the gateway's user ID %d: %v", uid, err))
		}
		return err
	}
	g, err := waitGateway(ctx, child, become)
	if ctx.Err() != nil {
		return
	}
	if err != nil {
		logger.Debug(fmt.Sprintf("Gateway process not found (%v): reading the command line instead", err))
		g = commandGateway(command, started)
	}
	if g.uid > 0 && g.uid != os.Geteuid() {
		_ = become(g.uid, g.gid)
	}
	if !g.serving() {
		logger.Debug(fmt.Sprintf("Not reporting: %q does not run the gateway", strings.Join(g.args, " ")))
		return
	}
	if g.dir != "" {
		if err := os.Chdir(g.dir); err != nil {
			logger.Warning(fmt.Sprintf("Cannot read the gateway's working directory: %v", err))
		}
	}
	startReporter(ctx, logger, s, g, krakend.ModeWrapper)
}

// startReporter reads g's config file and starts the reporter with the
// identity of the in-process ways in for the same config.
func startReporter(ctx context.Context, logger usage.Logger, s *settings, g *gateway, mode string) bool {
	gc, err := readGateway(g.args, s.getenv)
	if err != nil {
		logger.Error(fmt.Sprintf("Usage reporter not started: cannot read the gateway config (%s); the gateway is not affected", krakend.LogDetail(err)))
		return false
	}
	s.followGateway(gc.ExtraConfig)
	cfg, err := s.usageConfig(gc.ExtraConfig)
	if errors.Is(err, krakend.ErrNoConfig) {
		logger.Info(fmt.Sprintf("Usage reporter not configured: no %q block in the gateway config and no USAGE_URL; nothing is reported", krakend.Namespace))
		return false
	}
	host := krakend.Host{Version: g.bin.Version, UserAgent: "KrakenD Version " + g.bin.Version, Mode: mode, Libc: g.bin.Libc}
	inst := func() krakend.Instance {
		svc, derr := krakend.DescribeService(gc)
		if derr != nil {
			logger.Warning(fmt.Sprintf("Cannot describe the gateway config (%s): no endpoint counts are sent", krakend.LogDetail(derr)))
			block, _ := krakend.FindBlock(gc.ExtraConfig)
			return krakend.Instance{Digest: krakend.BlockDigest(block), Port: gc.Port, Started: g.started}
		}
		in := krakend.NewInstance(svc)
		in.Started = g.started
		return in
	}
	return krakend.Start(ctx, logger, s.getenv, host, cfg, err, inst)
}

// waitGateway polls for the gateway process among child's descendants
// until it shows, ctx ends or findGatewayFor passes.
func waitGateway(ctx context.Context, child int, become func(uid, gid int) error) (*gateway, error) {
	deadline := time.Now().Add(findGatewayFor)
	for {
		g, err := findGateway(child, become)
		if err == nil || errors.Is(err, errNoProc) || time.Now().After(deadline) {
			return g, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
