package collector

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/store"
	"github.com/krakend-usage/krakend-usage/collector/store/postgres"
	"github.com/krakend-usage/krakend-usage/collector/store/sqlite"
)

// EnvPrefix prefixes the environment variable of every flag: -max-body
// falls back to USAGE_COLLECTOR_MAX_BODY.
const EnvPrefix = "USAGE_COLLECTOR_"

// SecretEnv holds the token-signing key. It is not a flag, so that it
// never shows in the process list.
const SecretEnv = EnvPrefix + "SECRET"

// ErrUsage is wrapped by Run's errors about its command line or
// environment; the command exits 2 for them.
var ErrUsage = errors.New("usage error")

// options are the command line, each flag with an env fallback.
type options struct {
	listen, db, clientIPHeader  string
	sessionPath, reportPath     string
	bits                        uint
	maxBody                     int64
	expiration, tokenTTL, drain time.Duration
	retention                   time.Duration
	fleetMetrics                bool
	sessionRate                 float64
	sessionBurst, maxClients    int
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("usage-collector", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.listen, "listen", ":8090", "address to listen on")
	fs.StringVar(&o.db, "db", "sqlite:./usage.db", "database: sqlite:PATH, or a postgres:// DSN")
	fs.UintVar(&o.bits, "bits", 20, "proof-of-work bits a report must carry")
	fs.Int64Var(&o.maxBody, "max-body", 2<<20, "largest request body, in bytes")
	fs.DurationVar(&o.expiration, "expiration", 60*time.Second, "how far a report's time may be from the server clock")
	fs.DurationVar(&o.tokenTTL, "token-ttl", 0, "session token lifetime (0: never expires)")
	fs.StringVar(&o.sessionPath, "session-path", "/session", "path of the session endpoint")
	fs.StringVar(&o.reportPath, "report-path", "/report", "path of the report endpoint")
	fs.Float64Var(&o.sessionRate, "session-rate", 10, "sessions per second per client IP, on average (negative: no limit)")
	fs.IntVar(&o.sessionBurst, "session-burst", 200, "sessions a client IP may open at once")
	fs.IntVar(&o.maxClients, "max-clients", 100_000, "client IPs the rate limiter remembers (in memory only)")
	fs.StringVar(&o.clientIPHeader, "client-ip-header", "", "header carrying the client IP when behind a proxy, e.g. X-Forwarded-For (last address wins)")
	fs.DurationVar(&o.retention, "retention", DefaultRetention, "how long raw reports are kept (at least 1m); stats come from rollups and never lose history")
	fs.BoolVar(&o.fleetMetrics, "fleet-metrics", false, "export gauges of the fleet (active servers by version, platform and feature) on /metrics")
	fs.DurationVar(&o.drain, "shutdown-timeout", 30*time.Second, "how long to wait for in-flight requests on SIGINT/SIGTERM")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: usage-collector [flags]\n\nEvery flag falls back to the environment variable %sNAME (e.g. %sMAX_BODY);\nthe token-signing key comes from %s or is generated and kept in the database.\n\n", EnvPrefix, EnvPrefix, SecretEnv)
		fs.PrintDefaults()
	}
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		name := EnvPrefix + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok && envErr == nil {
			if err := f.Value.Set(v); err != nil {
				envErr = fmt.Errorf("%w: %s=%q: %v", ErrUsage, name, v, err)
			}
		}
	})
	if envErr != nil {
		return nil, envErr
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %v", ErrUsage, err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("%w: unexpected argument %q", ErrUsage, fs.Arg(0))
	}
	return o, nil
}

// OpenStore opens the database named by dsn: "sqlite:PATH" (or a bare
// path) for SQLite, "postgres://..." or "postgresql://..." for PostgreSQL.
func OpenStore(ctx context.Context, dsn string) (store.Store, error) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return postgres.Open(ctx, dsn)
	case strings.HasPrefix(dsn, "sqlite:"):
		return sqlite.Open(ctx, strings.TrimPrefix(dsn, "sqlite:"))
	case strings.Contains(dsn, "://") || dsn == "":
		return nil, fmt.Errorf("%w: -db %q: want sqlite:PATH or a postgres:// DSN", ErrUsage, dsn)
	default:
		return sqlite.Open(ctx, dsn)
	}
}

// secret returns the signing key: from the environment, or the one kept in
// the database (stored there by the first collector that started).
func secret(ctx context.Context, st store.Store) ([]byte, error) {
	if v := os.Getenv(SecretEnv); v != "" {
		if len(v) < 16 {
			return nil, fmt.Errorf("%w: %s must be at least 16 bytes", ErrUsage, SecretEnv)
		}
		return []byte(v), nil
	}
	key := make([]byte, 32)
	rand.Read(key)
	return st.Secret(ctx, key)
}

// Run runs the collector until ctx is done, then stops accepting
// connections, lets in-flight requests finish (up to -shutdown-timeout),
// commits pending reports and returns nil. args are the command-line
// arguments without the program name.
func Run(ctx context.Context, args []string) error {
	o, err := parseFlags(args, os.Stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))

	openCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	st, err := OpenStore(openCtx, o.db)
	if err != nil {
		return err
	}
	defer func() {
		if err := st.Close(); err != nil {
			log.Error("collector: closing database", "err", err)
		}
	}()
	key, err := secret(openCtx, st)
	if err != nil {
		return err
	}
	srv, err := New(st, Config{
		Bits: o.bits, MaxBody: o.maxBody, Expiration: o.expiration, TokenTTL: o.tokenTTL,
		SessionPath: o.sessionPath, ReportPath: o.reportPath,
		SessionRate: o.sessionRate, SessionBurst: o.sessionBurst, MaxClients: o.maxClients,
		ClientIPHeader: o.clientIPHeader, Secret: key, Logger: log, Retention: o.retention, FleetMetrics: o.fleetMetrics,
	})
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUsage, err)
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return err
	}
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("collector: listening", "addr", ln.Addr().String(), "db", dbKind(o.db), "bits", o.bits)
	go srv.RunRetention(ctx)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("collector: shutting down, draining in-flight requests")
	sctx, scancel := context.WithTimeout(context.Background(), o.drain)
	defer scancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("collector: shutdown: %w", err)
	}
	log.Info("collector: stopped")
	return nil
}

// dbKind names the backend without logging credentials from the DSN.
func dbKind(dsn string) string {
	if strings.HasPrefix(dsn, "postgres") {
		return "postgres"
	}
	return strconv.Quote(dsn)
}
