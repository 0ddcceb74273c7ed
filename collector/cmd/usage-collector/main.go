// Command usage-collector receives krakend-usage reports, verifies them,
// stores them and shows them on a dashboard. See collector/README.md.
//
// main only wires the process to [run]: flags and environment (flags.go),
// the database (db.go) and the listeners (serve.go). Package collector is
// the library that does the work.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// errUsage is wrapped by run's errors about the command line or the
// environment; the command exits 2 for them.
var errUsage = errors.New("usage error")

// loggedError is an error run has already written to the structured log;
// main only exits 1 for it.
type loggedError struct{ err error }

func (e *loggedError) Error() string { return e.err.Error() }
func (e *loggedError) Unwrap() error { return e.err }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.As(err, new(*loggedError)):
		os.Exit(1)
	case errors.Is(err, errUsage):
		fmt.Fprintln(os.Stderr, "usage-collector:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "usage-collector:", err)
		os.Exit(1)
	}
}
