// Command usage-collector receives krakend-usage reports, verifies them,
// stores them and shows them on a dashboard. See collector/README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/krakend-usage/krakend-usage/collector"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := collector.Run(ctx, os.Args[1:])
	stop()
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.Is(err, collector.ErrUsage):
		fmt.Fprintln(os.Stderr, "usage-collector:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "usage-collector:", err)
		os.Exit(1)
	}
}
