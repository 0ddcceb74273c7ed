package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/krakend-usage/krakend-usage/collector"
	"github.com/krakend-usage/krakend-usage/collector/store"
	"github.com/krakend-usage/krakend-usage/usage"
)

// envPrefix prefixes the environment variable of every flag: -max-body
// falls back to USAGE_COLLECTOR_MAX_BODY.
const envPrefix = "USAGE_COLLECTOR_"

// Secrets are read from the environment only, never from flags, so that
// they do not show in the process list.
const (
	secretEnv     = envPrefix + "SECRET"      // token-signing key
	adminTokenEnv = envPrefix + "ADMIN_TOKEN" // bearer token of the admin routes
)

// Defaults of the command that package collector does not have.
const (
	defaultListen = ":8090"
	defaultDB     = "sqlite:./usage.db"
)

// options are the command line, each flag with an env fallback.
type options struct {
	listen, adminListen, db     string
	clientIPHeader, proxies     string
	sessionPath, reportPath     string
	logLevel                    string
	bits                        uint
	maxBody, bodyMemory         int64
	expiration, tokenTTL, drain time.Duration
	queueTimeout, retention     time.Duration
	fleetMetrics, public        bool
	adminAnywhere               bool
	featuresFile                string
	features                    []string
	publicMin, publicDays       int
	sessionRate                 float64
	sessionBurst, maxClients    int
	ipv4Prefix, ipv6Prefix      int
	maxConns, maxClientConns    int
	version                     bool
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("usage-collector", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.listen, "listen", defaultListen, "address of the intake: session and report endpoints, /healthz (and the admin routes unless -admin-listen)")
	fs.StringVar(&o.adminListen, "admin-listen", "", "address of the admin routes (dashboard, /api/*, /metrics), e.g. 127.0.0.1:8091; empty: served on -listen")
	fs.BoolVar(&o.adminAnywhere, "admin-anywhere", false, "serve the admin routes on -listen to every client with no "+adminTokenEnv+" (by default they answer loopback clients only)")
	fs.StringVar(&o.db, "db", defaultDB, "database: sqlite:PATH, or a PostgreSQL DSN (postgres://... or key=value)")
	fs.UintVar(&o.bits, "bits", usage.OriginalHashBits, fmt.Sprintf("proof-of-work bits a report must carry, 1 to %d (above %d refuses original krakend-usage clients)", usage.MaxHashBits, usage.OriginalHashBits))
	fs.Int64Var(&o.maxBody, "max-body", collector.DefaultMaxBody, "largest request body, in bytes")
	fs.Int64Var(&o.bodyMemory, "body-memory", collector.DefaultBodyMemory, "bytes of request bodies read at once, at most; beyond it large bodies get 503")
	fs.DurationVar(&o.expiration, "expiration", collector.DefaultExpiration, "how far a report's time may be from the server clock")
	fs.DurationVar(&o.tokenTTL, "token-ttl", collector.DefaultTokenTTL, "session token lifetime (0: never expires)")
	fs.DurationVar(&o.queueTimeout, "queue-timeout", collector.DefaultQueueTimeout, "how long a report may wait for the database writer before a 503")
	fs.StringVar(&o.sessionPath, "session-path", "/session", "path of the session endpoint")
	fs.StringVar(&o.reportPath, "report-path", "/report", "path of the report endpoint")
	fs.Float64Var(&o.sessionRate, "session-rate", collector.DefaultSessionRate, "sessions per second per client IP, on average (negative: no limit)")
	fs.IntVar(&o.sessionBurst, "session-burst", collector.DefaultSessionBurst, "sessions a client IP may open at once")
	fs.IntVar(&o.maxClients, "max-clients", collector.DefaultMaxClients, "client IPs the rate limiter remembers (in memory only)")
	fs.IntVar(&o.ipv4Prefix, "ipv4-prefix", collector.DefaultIPv4Prefix, "prefix length of one IPv4 client, for the session limit, the body budget and the connection limit (8 to 32)")
	fs.IntVar(&o.ipv6Prefix, "ipv6-prefix", collector.DefaultIPv6Prefix, "prefix length of one IPv6 client: its addresses share its limits (16 to 128)")
	fs.StringVar(&o.clientIPHeader, "client-ip-header", "", "header carrying the client IP behind a proxy, e.g. X-Forwarded-For; needs -trusted-proxies")
	fs.StringVar(&o.proxies, "trusted-proxies", "", "comma-separated CIDRs or addresses of the proxies whose -client-ip-header is believed")
	fs.IntVar(&o.maxConns, "max-conns", collector.DefaultMaxConns, "open connections to the intake, at most; near it idle keep-alive connections are closed")
	fs.IntVar(&o.maxClientConns, "max-client-conns", 0, "open intake connections of one client network (see -ipv6-prefix), at most; 0: a quarter of -max-conns, at least 8")
	fs.DurationVar(&o.retention, "retention", collector.DefaultRetention, "how long raw reports are kept (at least 1m); the stats come from rollups and keep their history")
	fs.BoolVar(&o.fleetMetrics, "fleet-metrics", false, "export gauges of the fleet (active servers by version, platform and feature) on /metrics")
	fs.StringVar(&o.featuresFile, "features", "", "file of extra feature names to count by name (one per line, # comments), besides the KrakenD components")
	fs.BoolVar(&o.public, "public", false, "serve the public view (/public, /public/stats.json: the last complete day's aggregates, rounded, no IDs, small entries folded) on -listen")
	fs.IntVar(&o.publicMin, "public-min-clusters", collector.DefaultPublicMinClusters, "k of the public view: counts are rounded down to a multiple of it, entries seen in fewer clusters are folded into other (at least 2)")
	fs.IntVar(&o.publicDays, "public-established-days", collector.DefaultPublicEstablishedDays, "UTC days a cluster's reports must span before the public view counts it (at least 1)")
	fs.DurationVar(&o.drain, "shutdown-timeout", 30*time.Second, "how long to wait for in-flight requests on SIGINT/SIGTERM")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug (also logs every accepted report), info, warn or error")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `Usage: usage-collector [flags]
       usage-collector import -from OLD_DB -db NEW_DB
                        copy a first-version collector database into a new one
                        (usage-collector import -h for its flags)
       usage-collector healthcheck [-listen ADDR]
                        exit 0 when the collector on this machine answers /healthz
                        with 200 (a container's health check: no shell needed)

Every flag falls back to the environment variable %sNAME (e.g. %sMAX_BODY).
The token-signing key comes from %s or is generated and kept in the database.
When %s is set, the dashboard, /api/* and /metrics require it, either
as "Authorization: Bearer TOKEN" or as the password of HTTP basic authentication
(any user name: what a browser asks for).

`, envPrefix, envPrefix, secretEnv, adminTokenEnv)
		fs.PrintDefaults()
	}
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		name := envPrefix + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok && envErr == nil {
			if err := f.Value.Set(v); err != nil {
				envErr = fmt.Errorf("%w: %s=%q: want %s (the environment of -%s: %s)", errUsage, name, v, wants(f), f.Name, f.Usage)
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
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if err := checkAddr("-listen", o.listen); err != nil {
		return nil, err
	}
	if o.adminListen != "" {
		if err := checkAddr("-admin-listen", o.adminListen); err != nil {
			return nil, err
		}
		if sameAddr(o.listen, o.adminListen) {
			return nil, fmt.Errorf("%w: -admin-listen %q is -listen's address (%q): give the admin routes an address of their own, e.g. 127.0.0.1:8091, or leave -admin-listen empty to serve them on -listen", errUsage, o.adminListen, o.listen)
		}
	}
	if o.bits < 1 || o.bits > usage.MaxHashBits {
		return nil, fmt.Errorf("%w: -bits %d: want 1 to %d (usage.MaxHashBits: no reporter mints more, and 0 would drop the proof of work)", errUsage, o.bits, usage.MaxHashBits)
	}
	if o.maxConns < collector.MinMaxConns {
		return nil, fmt.Errorf("%w: -max-conns %d: want at least %d", errUsage, o.maxConns, collector.MinMaxConns)
	}
	if o.maxClientConns < 0 {
		return nil, fmt.Errorf("%w: -max-client-conns %d: want 0 (a quarter of -max-conns) or more", errUsage, o.maxClientConns)
	}
	if _, err := o.level(); err != nil {
		return nil, err
	}
	if o.publicMin < 2 {
		return nil, fmt.Errorf("%w: -public-min-clusters %d: want at least 2", errUsage, o.publicMin)
	}
	if o.publicDays < 1 {
		return nil, fmt.Errorf("%w: -public-established-days %d: want at least 1", errUsage, o.publicDays)
	}
	if o.featuresFile != "" {
		f, err := os.Open(o.featuresFile)
		if err != nil {
			return nil, fmt.Errorf("%w: -features: %v", errUsage, err)
		}
		o.features, err = store.ReadNames(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%w: -features %s: %v", errUsage, o.featuresFile, err)
		}
	}
	if _, err := o.trustedProxies(); err != nil {
		return nil, err
	}
	return o, nil
}

func (o *options) level() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(o.logLevel)); err != nil {
		return 0, fmt.Errorf("%w: -log-level %q: want debug, info, warn or error", errUsage, o.logLevel)
	}
	return l, nil
}

// trustedProxies parses -trusted-proxies: CIDRs, or addresses meaning
// just themselves.
func (o *options) trustedProxies() ([]netip.Prefix, error) {
	var ps []netip.Prefix
	for _, f := range strings.Split(o.proxies, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return nil, fmt.Errorf("%w: -trusted-proxies %q: want CIDRs or addresses", errUsage, f)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		ps = append(ps, p.Masked())
	}
	if o.clientIPHeader != "" && len(ps) == 0 {
		return nil, fmt.Errorf("%w: -client-ip-header %q needs -trusted-proxies: anyone could otherwise choose their address", errUsage, o.clientIPHeader)
	}
	return ps, nil
}

// config is the collector.Config the options describe.
func (o *options) config(key []byte, log *slog.Logger) collector.Config {
	ttl := o.tokenTTL
	if ttl == 0 {
		ttl = -1 // never expires
	}
	proxies, _ := o.trustedProxies() // checked by parseFlags
	return collector.Config{
		Bits: o.bits, MaxBody: o.maxBody, BodyMemory: o.bodyMemory, Expiration: o.expiration,
		TokenTTL: ttl, QueueTimeout: o.queueTimeout,
		SessionPath: o.sessionPath, ReportPath: o.reportPath,
		SessionRate: o.sessionRate, SessionBurst: o.sessionBurst, MaxClients: o.maxClients,
		IPv4Prefix: o.ipv4Prefix, IPv6Prefix: o.ipv6Prefix,
		ClientIPHeader: o.clientIPHeader, TrustedProxies: proxies,
		AdminToken: os.Getenv(adminTokenEnv), SeparateAdmin: o.adminListen != "", AdminAnywhere: o.adminAnywhere,
		Retention: o.retention, FleetMetrics: o.fleetMetrics,
		Features: o.features, Public: o.public, PublicMinClusters: o.publicMin, PublicEstablishedDays: o.publicDays,
		MaxConns: o.maxConns, MaxClientConns: o.maxClientConns,
		Secret: key, Logger: log,
	}
}

// warnings are what the options allow but an operator should hear of,
// said once the listeners are bound (intake and admin, nil without
// -admin-listen): a start that fails says only why.
func (o *options) warnings(log *slog.Logger, intake, admin net.Addr) {
	if o.bits > usage.OriginalHashBits {
		log.Warn(fmt.Sprintf("collector: -bits %d is above %d: original krakend-usage clients always mint %d bits, so every report of theirs will be refused", o.bits, usage.OriginalHashBits, usage.OriginalHashBits))
	}
	if os.Getenv(adminTokenEnv) != "" {
		return
	}
	switch {
	case admin != nil && !loopback(admin):
		log.Warn("collector: the dashboard, /api/* and /metrics are public on " + admin.String() + " (-admin-listen): set " + adminTokenEnv + " to require a token, or listen on a loopback address")
	case admin != nil || loopback(intake):
	case o.adminAnywhere:
		log.Warn("collector: the dashboard, /api/* and /metrics are public on the intake address (-admin-anywhere): set " + adminTokenEnv + " or -admin-listen to keep them private")
	default:
		log.Info("collector: the dashboard, /api/* and /metrics answer clients on this machine only: set " + adminTokenEnv + " to reach them from elsewhere (or -admin-listen)")
	}
}

// loopback reports whether a bound address is reachable from this
// machine only.
func loopback(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

// checkAddr refuses a listen address that is not HOST:PORT, suggesting
// the form that was probably meant.
func checkAddr(flagName, addr string) error {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		hint := `e.g. ":8090" (every interface) or "127.0.0.1:8090"`
		if _, perr := strconv.ParseUint(addr, 10, 16); perr == nil {
			hint = fmt.Sprintf("did you mean %q (port %s on every interface)?", ":"+addr, addr)
		}
		return fmt.Errorf("%w: %s %q: want HOST:PORT; %s", errUsage, flagName, addr, hint)
	}
	return nil
}

// sameAddr reports whether two listen addresses would take the same port:
// the same port on the same host, or on every interface for either.
func sameAddr(a, b string) bool {
	ha, pa, _ := net.SplitHostPort(a)
	hb, pb, _ := net.SplitHostPort(b)
	if pa != pb || pa == "0" {
		return false
	}
	wildcard := func(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" }
	return ha == hb || wildcard(ha) || wildcard(hb)
}

// wants says what a flag's value must look like, from its type.
func wants(f *flag.Flag) string {
	g, ok := f.Value.(flag.Getter)
	if !ok {
		return "a valid value"
	}
	switch g.Get().(type) {
	case bool:
		return "true or false"
	case uint, uint64:
		return "a whole number"
	case int, int64:
		return "an integer"
	case float64:
		return "a number"
	case time.Duration:
		return "a duration such as 90s, 5m or 12h"
	}
	return "a valid value"
}

// flagOf names the flag behind each collector.Config field.
var flagOf = map[string]string{
	"Bits": "-bits", "MaxBody": "-max-body", "BodyMemory": "-body-memory", "Expiration": "-expiration",
	"TokenTTL": "-token-ttl", "QueueTimeout": "-queue-timeout", "SessionPath": "-session-path",
	"ReportPath": "-report-path", "SessionBurst": "-session-burst", "MaxClients": "-max-clients",
	"IPv4Prefix": "-ipv4-prefix", "IPv6Prefix": "-ipv6-prefix",
	"ClientIPHeader": "-client-ip-header", "TrustedProxies": "-trusted-proxies", "Secret": secretEnv,
	"SessionRate": "-session-rate", "Retention": "-retention", "AdminToken": adminTokenEnv,
	"MaxConns": "-max-conns", "MaxClientConns": "-max-client-conns", "AdminAnywhere": "-admin-anywhere",
}

// configError is a usage error naming the flag of a *collector.ConfigError.
func configError(err error) error {
	var ce *collector.ConfigError
	if errors.As(err, &ce) {
		if f, ok := flagOf[ce.Field]; ok {
			return fmt.Errorf("%w: %s %q: %s", errUsage, f, ce.Value, ce.Reason)
		}
	}
	return fmt.Errorf("%w: %v", errUsage, err)
}
