//go:build !linux

package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/krakend-usage/krakend-usage/usage"
)

// supervise needs Linux's process control (subreaper, /proc): elsewhere
// the wrapper refuses to start, and sidecar and dry-run still work.
func supervise(_ string, command []string, _ func(context.Context, int, time.Time), logger usage.Logger) int {
	logger.Error(fmt.Sprintf("Cannot run %q: krakend-usage run works on Linux only", command[0]))
	return exitExec
}

func execInPlace(string, []string) error {
	return errors.New("krakend-usage run works on Linux only")
}

func dropPrivileges(int, int) error { return nil }
