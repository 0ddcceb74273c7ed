package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/krakend-usage/krakend-usage/collector"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3";
// otherwise the module version from the build info is printed.
var version = ""

func versionString() string {
	v := version
	if bi, ok := debug.ReadBuildInfo(); ok && v == "" {
		v = bi.Main.Version
	}
	if v == "" {
		v = "(devel)"
	}
	return v
}

// run runs the collector until ctx is done (or, with the first argument
// "import", copies an old database into a new one: see runImport; with
// "healthcheck", asks a running collector for /healthz: see
// runHealthcheck), then stops accepting
// connections, lets in-flight requests finish (up to -shutdown-timeout),
// commits pending reports and returns nil.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	if len(args) > 0 && args[0] == "import" {
		return runImport(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "healthcheck" {
		return runHealthcheck(ctx, args[1:], stdout, stderr)
	}
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if o.version {
		fmt.Fprintln(stdout, "usage-collector", versionString())
		return nil
	}
	level, _ := o.level()
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	// From here on a failure (a database that cannot be opened, a port
	// taken) is one line of the structured log, as the rest of the
	// collector's output: a driver's multi-line message included.
	defer func() {
		if err != nil && !errors.Is(err, errUsage) {
			log.Error("collector: stopped on an error", "err", err)
			err = &loggedError{err}
		}
	}()
	kind, path, err := dbKind(o.db)
	if err != nil {
		return err
	}
	// A bad configuration is refused before anything is created on disk.
	if _, err := collector.New(nil, o.config(make([]byte, 32), log)); err != nil {
		return configError(err)
	}

	openCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	st, err := openStore(openCtx, o.db)
	if err != nil {
		return err
	}
	defer func() {
		if err := st.Close(); err != nil {
			log.Error("collector: closing database", "err", err)
		}
	}()
	if incomplete, err := importIncomplete(openCtx, o.db); err != nil {
		return err
	} else if incomplete {
		return fmt.Errorf("collector: %w", errIncomplete)
	}
	key, err := secret(openCtx, st)
	if err != nil {
		return err
	}
	srv, err := collector.New(st, o.config(key, log))
	if err != nil {
		return configError(err)
	}

	// The listeners are bound here, so that a port taken fails the start
	// and the log names the addresses bound.
	type listener struct {
		name, addr string
		serve      func(net.Listener) error
		ln         net.Listener
	}
	listeners := []*listener{{name: "intake", addr: o.listen, serve: srv.Serve}}
	if o.adminListen != "" {
		listeners = append(listeners, &listener{name: "admin", addr: o.adminListen, serve: srv.ServeAdmin})
	}
	for _, l := range listeners {
		if l.ln, err = net.Listen("tcp", l.addr); err != nil {
			return err
		}
		defer l.ln.Close()
	}
	dbAttr := []any{"db", kind}
	if kind == "sqlite" {
		dbAttr = append(dbAttr, "path", path)
	} else {
		dbAttr = append(dbAttr, postgresAttrs(o.db)...)
	}
	for _, l := range listeners {
		log.Info("collector: listening", append([]any{"server", l.name, "addr", l.ln.Addr().String(), "bits", o.bits, "version", versionString()}, dbAttr...)...)
	}
	var adminAddr net.Addr
	if len(listeners) > 1 {
		adminAddr = listeners[1].ln.Addr()
	}
	o.warnings(log, listeners[0].ln.Addr(), adminAddr)

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { srv.RunRetention(gctx); return nil })
	for _, l := range listeners {
		g.Go(func() error {
			if err := l.serve(l.ln); err != http.ErrServerClosed {
				return fmt.Errorf("collector: %s: %w", l.name, err)
			}
			return nil
		})
	}
	g.Go(func() error {
		<-gctx.Done()
		log.Info("collector: shutting down, draining in-flight requests")
		sctx, scancel := context.WithTimeout(context.Background(), o.drain)
		defer scancel()
		if err := srv.Shutdown(sctx); err != nil {
			return fmt.Errorf("collector: shutdown: %w", err)
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return err
	}
	log.Info("collector: stopped")
	return nil
}
