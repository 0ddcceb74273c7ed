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
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/krakend-usage/krakend-usage/collector"
)

// Timeouts of the HTTP servers. A report is answered within
// -queue-timeout plus store.CommitTimeout, well inside writeTimeout; an
// idle keep-alive connection is closed soon, so idle clients cannot hold
// the connection limit.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 30 * time.Second
	maxHeaderBytes    = 64 << 10
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
// "import", copies an old database into a new one: see runImport), then stops accepting
// connections, lets in-flight requests finish (up to -shutdown-timeout),
// commits pending reports and returns nil.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	if len(args) > 0 && args[0] == "import" {
		return runImport(ctx, args[1:], stdout, stderr)
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
	o.warnings(log)

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

	servers := []*server{{name: "intake", addr: o.listen, h: srv, srv: srv, maxConns: o.maxConns, perClient: o.clientConns()}}
	if o.adminListen != "" {
		servers = append(servers, &server{name: "admin", addr: o.adminListen, h: srv.Admin(), srv: srv, maxConns: adminMaxConns, perClient: adminMaxConns})
	}
	for _, s := range servers {
		if err := s.listen(log); err != nil {
			return err
		}
	}
	dbAttr := []any{"db", kind}
	if kind == "sqlite" {
		dbAttr = append(dbAttr, "path", path)
	}
	for _, s := range servers {
		log.Info("collector: listening", append([]any{"server", s.name, "addr", s.ln.Addr().String(), "bits", o.bits, "version", versionString()}, dbAttr...)...)
	}

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { srv.RunRetention(gctx); return nil })
	for _, s := range servers {
		g.Go(func() error {
			if err := s.hs.Serve(s.ln); err != http.ErrServerClosed {
				return fmt.Errorf("collector: %s: %w", s.name, err)
			}
			return nil
		})
	}
	g.Go(func() error {
		<-gctx.Done()
		log.Info("collector: shutting down, draining in-flight requests")
		sctx, scancel := context.WithTimeout(context.Background(), o.drain)
		defer scancel()
		for _, s := range servers {
			if err := s.hs.Shutdown(sctx); err != nil {
				return fmt.Errorf("collector: shutdown: %w", err)
			}
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return err
	}
	log.Info("collector: stopped")
	return nil
}

// server is one listener with its HTTP server.
type server struct {
	name, addr string
	h          http.Handler
	srv        *collector.Server
	maxConns   int
	perClient  int // connections of one client network
	ln         net.Listener
	fair       *fairListener
	hs         *http.Server
	open       atomic.Int64
	shedding   atomic.Bool
}

// listen binds the address. At most maxConns connections are open at
// once, perClient of one client network (see fairListener); from nine
// tenths of maxConns on, keep-alive is switched off, which closes the idle
// connections at once, until the count is back under half.
func (s *server) listen(log *slog.Logger) error {
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return err
	}
	s.fair = newFairListener(ln, s.maxConns, s.perClient)
	s.fair.network = s.srv.ClientNetwork
	s.fair.saturated = s.srv.Saturated
	var refused atomic.Int64
	var lastWarn atomic.Int64
	s.fair.refused = func() {
		n := refused.Add(1)
		if now := time.Now().Unix(); now-lastWarn.Load() >= 60 {
			lastWarn.Store(now)
			log.Warn("collector: connections refused: a client network is at its connection limit (-max-client-conns)", "server", s.name, "refused_total", n)
		}
	}
	s.ln = s.fair
	s.hs = &http.Server{
		Handler:           s.h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		ConnState:         s.connState,
	}
	return nil
}

func (s *server) connState(c net.Conn, state http.ConnState) {
	s.fair.connState(c, state)
	var n int64
	switch state {
	case http.StateNew:
		n = s.open.Add(1)
	case http.StateClosed, http.StateHijacked:
		n = s.open.Add(-1)
	default:
		return
	}
	high, low := int64(s.maxConns)*9/10, int64(s.maxConns)/2
	if n >= high && s.shedding.CompareAndSwap(false, true) {
		s.hs.SetKeepAlivesEnabled(false)
	} else if n < low && s.shedding.CompareAndSwap(true, false) {
		s.hs.SetKeepAlivesEnabled(true)
	}
}
