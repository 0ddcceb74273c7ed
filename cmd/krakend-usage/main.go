// Command krakend-usage reports a KrakenD gateway's anonymous usage from a
// process beside it, so it works with any KrakenD release, 2.x or 3.x,
// whatever its Go version, modules, libc or plugin support:
//
//	krakend-usage run [flags] -- COMMAND [ARGS...]   the gateway as its child (a wrapper, PID 1 in a container)
//	krakend-usage sidecar -c FILE [--gateway URL]    beside the gateway in another container of the pod
//	krakend-usage dry-run -c FILE                    prints the IDs and the requests it would send
//
// It reads the gateway's config file the way KrakenD does, so the cluster
// ID, the server ID and the payload are those of the handler plugin and
// the RunServer decorator for the same config. USAGE_DISABLE=1 (or
// DO_NOT_TRACK=1) turns it off: the wrapper then execs COMMAND in its
// place. See docs/gateway.md.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// Exit statuses of krakend-usage's own failures. The wrapper otherwise
// exits with its child's status.
const (
	exitOK    = 0
	exitUsage = 2   // a bad flag or a bad config (dry-run)
	exitExec  = 127 // COMMAND not found or not executable
)

func main() {
	os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr))
}

// Main runs the subcommand named by args[0] and returns the exit status.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText)
		return exitUsage
	}
	switch args[0] {
	case "run":
		return runWrapper(args[1:], stdout, stderr)
	case "sidecar":
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
		defer stop()
		return runSidecar(ctx, args[1:], stdout, stderr)
	case "dry-run":
		return runDryRun(context.Background(), args[1:], stdout, stderr)
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, "krakend-usage", ownVersion())
		return exitOK
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usageText)
		return exitOK
	}
	fmt.Fprintf(stderr, "krakend-usage: unknown command %q\n\n%s", args[0], usageText)
	return exitUsage
}

const usageText = `Usage:
  krakend-usage run [flags] -- COMMAND [ARGS...]
        Runs COMMAND (krakend run -c krakend.json, or the image's docker-entrypoint.sh)
        as its child and reports while it runs; exits with its status.
  krakend-usage sidecar -c FILE [--gateway URL] [flags]
        Reports while the gateway at URL answers its health endpoint.
  krakend-usage dry-run -c FILE [flags]
        Prints the cluster ID, the server ID and the requests it would send.
  krakend-usage version

Settings come from the gateway config (extra_config "telemetry/usage", or the
handler plugin's "krakend-usage" block); flags and USAGE_* variables override
them. "krakend-usage COMMAND -h" lists a command's flags. USAGE_DISABLE=1 or
DO_NOT_TRACK=1 turns reporting off. Documentation: docs/gateway.md.
`

// version is stamped by the release build (make dist: -X main.version=...).
var version string

// ownVersion is the stamped version, else the module version krakend-usage
// was built from, as the go command records it ("(devel)" for a build from
// a checkout).
func ownVersion() string {
	if version != "" {
		return version
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		v := info.Main.Version
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " " + s.Value[:12]
			}
		}
		return v
	}
	return "unknown"
}
