// Command embedded is a program that embeds the collector library the way
// package collector's documentation shows, with nothing but its defaults
// and a SQLite file: the fairness and resource tests of package collector
// run it in a process of their own, so that what they measure is what an
// embedding program gets.
//
//	embedded -listen 127.0.0.1:0 -db sqlite:PATH -bits 8
//
// It takes the command usage-collector's flags of those names (so the same
// tests can run a build of the command instead) and stops gracefully on
// SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/krakend-usage/krakend-usage/collector"
	"github.com/krakend-usage/krakend-usage/collector/store/sqlite"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "embedded:", err)
		os.Exit(1)
	}
}

func run() error {
	listen := flag.String("listen", "127.0.0.1:0", "address")
	db := flag.String("db", "", "sqlite:PATH")
	bits := flag.Uint("bits", 0, "proof-of-work bits")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	st, err := sqlite.Open(ctx, strings.TrimPrefix(*db, "sqlite:"))
	if err != nil {
		return err
	}
	defer st.Close()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	srv, err := collector.New(st, collector.Config{Bits: *bits, Secret: []byte("embedded-test-signing-key"), Logger: log})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	log.Info("embedded: listening", "addr", ln.Addr().String())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	// Serve returns at once on Shutdown; Shutdown returns once the
	// requests in flight are answered, and only then is the store closed.
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
