package collector

import (
	"fmt"
	"log/slog"
	"net/netip"
	"path"
	"strings"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/store"
	"github.com/krakend-usage/krakend-usage/usage"
)

// Defaults and limits of the collector, in one place. Limits shared with
// the reporter (proof-of-work bits, field rules, the stored extra) live in
// package usage.
const (
	DefaultMaxBody      = 2 << 20 // the original client's tests send a 1 MiB extra, base64 in JSON
	DefaultBodyMemory   = 32 << 20
	DefaultExpiration   = 60 * time.Second
	DefaultTokenTTL     = 30 * 24 * time.Hour
	DefaultQueueTimeout = 5 * time.Second
	DefaultStallAfter   = 5 * time.Second
	DefaultSessionRate  = 10
	DefaultSessionBurst = 200 // a fleet behind one NAT address restarting together
	DefaultMaxClients   = 100_000
	DefaultIPv4Prefix   = 32 // an IPv4 client is its address
	DefaultIPv6Prefix   = 64 // an IPv6 client is its /64, the smallest network a site gets
	// DefaultPublicMinClusters is k of the public view: an entry seen in
	// fewer clusters is not shown by name, and every count is rounded
	// down to a multiple of it.
	DefaultPublicMinClusters = store.DefaultPublicMinClusters
	// DefaultPublicEstablishedDays is how many UTC days a cluster's
	// reports must span before the public view counts it.
	DefaultPublicEstablishedDays = store.DefaultEstablishedDays
	// DefaultMaxConns bounds the connections [Server.Serve] keeps open.
	DefaultMaxConns = 1024
	// DefaultAdminMaxConns bounds the connections [Server.ServeAdmin]
	// keeps open.
	DefaultAdminMaxConns = 64
	// MinMaxConns is the smallest connection limit Serve takes.
	MinMaxConns = 16

	// smallBody is the largest body read from the small-body budget: every
	// report but a first one with a big extra payload.
	smallBody = 64 << 10
	// maxSessionBody bounds a session request: two IDs of at most
	// usage.MaxIDLen characters fit many times over.
	maxSessionBody = 4 << 10
	// MaxStamp bounds the pow field. A real stamp is a session token, a
	// 44-character hash, a salt and a counter: a few hundred bytes.
	// hashcash.Parse takes up to 4 KiB, which PostgreSQL's unique index on
	// the stamp refuses past about 2.7 KB.
	MaxStamp = 1024
	// MinSecret is the shortest token-signing key.
	MinSecret = 16
)

// Retention bounds of Config.Retention.
const (
	// DefaultRetention keeps a year of raw reports and a month to spare.
	DefaultRetention = 400 * 24 * time.Hour
	// MinRetention is the shortest retention. Replay protection lives in
	// its own table and does not depend on retention.
	MinRetention = time.Minute
)

// Config configures a [Server]. The zero value of every field but Secret
// is the production default, resolved in one place by withDefaults.
type Config struct {
	// Bits is the proof-of-work difficulty reports must carry: 1 to
	// usage.MaxHashBits (default usage.OriginalHashBits, what original
	// krakend-usage clients mint; more refuses them).
	Bits uint
	// MaxBody bounds a request body in bytes (default 2 MiB).
	MaxBody int64
	// BodyMemory bounds the bytes of report bodies being read and decoded
	// at once (default 32 MiB). A quarter of it is kept for bodies up to
	// 64 KiB, so that large bodies never hold up ordinary reports; a large
	// body beyond the rest is answered 503 with Retry-After.
	BodyMemory int64
	// Expiration is how far a report's time may be from the server clock,
	// either way (default 60s).
	Expiration time.Duration
	// TokenTTL is how long a session token is valid (default 30 days;
	// negative: forever). Our reporter opens a new session on 401; the
	// original client keeps one token for the life of its process, so a
	// gateway of that kind running longer than TokenTTL is counted again
	// only after its restart.
	TokenTTL time.Duration
	// QueueTimeout bounds how long a verified report waits for the
	// database writer before it is answered 503 (default 5s).
	QueueTimeout time.Duration
	// StallAfter is how long a store write may take before /healthz
	// reports writes as stalled (default 5s).
	StallAfter time.Duration
	// SessionPath and ReportPath are the endpoint paths (default /session
	// and /report).
	SessionPath, ReportPath string
	// SessionRate is how many sessions per second a client IP may open on
	// average (default 10); negative disables the limit. SessionBurst is
	// how many it may open at once (default 200).
	SessionRate  float64
	SessionBurst int
	// MaxClients bounds the client networks the rate limiter remembers
	// (default 100,000). Only a client whose bucket has refilled is
	// forgotten, the least recently seen first; while none has, new
	// clients share one bucket. They are kept in memory only.
	MaxClients int
	// IPv4Prefix and IPv6Prefix are the prefix lengths that make one
	// client (defaults 32 and 64): the session limiter and the body
	// budget count per client network, not per address. The IPv6 client
	// networks of a block 256 times as wide (a /56) hold two networks'
	// share between them at most, of a block 65,536 times as wide (a
	// /48) four.
	IPv4Prefix, IPv6Prefix int
	// ClientIPHeader, when set (e.g. X-Forwarded-For), names the header
	// carrying the client address, for collectors behind a proxy. It is
	// believed only from TrustedProxies, which it requires.
	ClientIPHeader string
	// TrustedProxies are the proxies whose ClientIPHeader is believed;
	// the client is the last address in the header that is not one of
	// them.
	TrustedProxies []netip.Prefix
	// AdminToken, when set, is required by the dashboard, /static/, /api/*
	// and /metrics: as "Authorization: Bearer TOKEN", or as the password
	// of HTTP basic authentication (what a browser sends).
	AdminToken string
	// AdminAnywhere serves the admin routes on the intake to every
	// client when AdminToken is empty. Without it (the default) they
	// answer 403 to every client but the collector's own machine
	// (loopback), so a collector on a public address shows its fleet to
	// nobody else; AdminToken or SeparateAdmin is the way to reach them
	// from elsewhere.
	AdminAnywhere bool
	// SeparateAdmin serves the dashboard, /api/* and /metrics only from
	// [Server.Admin], not from the Server itself (the intake).
	SeparateAdmin bool
	// Retention is how long raw reports are kept (default
	// DefaultRetention, at least MinRetention); see Server.RunRetention.
	Retention time.Duration
	// FleetMetrics adds gauges of the fleet to /metrics (usage_fleet_*),
	// computed from the stats at most every 30 seconds.
	FleetMetrics bool
	// Features extends the allowlist of feature names (see store.Names):
	// besides the KrakenD components usage/krakend knows, these count by
	// name; every other name counts as "other".
	Features []string
	// Public serves the public view on the intake: GET /public (a page)
	// and /public/stats.json, the fleet's aggregates of the last complete
	// UTC day with no ID, every count rounded down to a multiple of
	// PublicMinClusters, and no entry seen in fewer clusters (see
	// store.PublicFigures).
	Public bool
	// PublicMinClusters is k of the public view (default
	// DefaultPublicMinClusters, at least 2): every count is rounded down
	// to a multiple of it, and an entry seen in fewer clusters is folded
	// into "other".
	PublicMinClusters int
	// PublicEstablishedDays is how many UTC days a cluster's reports must
	// span before the public view counts it (default
	// DefaultPublicEstablishedDays, at least 1).
	PublicEstablishedDays int
	// MaxConns bounds the connections [Server.Serve] keeps open at once
	// (default DefaultMaxConns, at least MinMaxConns); near it idle
	// keep-alive connections are closed. Negative: no limit, which opts
	// out of the connection defences (the timeouts stay).
	MaxConns int
	// MaxClientConns bounds the connections of one client network (see
	// IPv6Prefix; TrustedProxies are not counted) Serve keeps open
	// (default a quarter of MaxConns, at least 8; at most MaxConns). The
	// share shrinks as more networks hold connections: MaxConns divided
	// by their number plus one, at least 8; the networks of one IPv6 /56
	// hold two shares between them, of one /48 four. A new connection
	// past it takes the slot of the network's own oldest keep-alive
	// connection idle 1 s or more, or is held 5 s unread and closed.
	MaxClientConns int
	// Secret is the token-signing key, at least 16 bytes. Required.
	Secret []byte
	// Logger receives operational messages; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock of everything the collector decides by time
	// (tokens, report freshness, stats, retention, the public view's
	// cache, /healthz, log and metric windows); nil means time.Now. The
	// network's deadlines and idle ages (body reads, export writes, the
	// connection limit) and the pacing of RunRetention are wall time.
	Now func() time.Time
}

// ConfigError names a Config field and its bad value.
type ConfigError struct {
	Field, Value, Reason string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("collector: invalid %s %q: %s", e.Field, e.Value, e.Reason)
}

func (c Config) withDefaults() (Config, error) {
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	if c.Bits == 0 {
		c.Bits = usage.OriginalHashBits
	}
	if c.MaxBody == 0 {
		c.MaxBody = DefaultMaxBody
	}
	if c.BodyMemory == 0 {
		c.BodyMemory = DefaultBodyMemory
	}
	def(&c.Expiration, DefaultExpiration)
	def(&c.TokenTTL, DefaultTokenTTL)
	def(&c.QueueTimeout, DefaultQueueTimeout)
	def(&c.StallAfter, DefaultStallAfter)
	if c.SessionPath == "" {
		c.SessionPath = "/session"
	}
	if c.ReportPath == "" {
		c.ReportPath = "/report"
	}
	if c.SessionRate == 0 {
		c.SessionRate = DefaultSessionRate
	}
	if c.SessionBurst == 0 {
		c.SessionBurst = DefaultSessionBurst
	}
	if c.MaxClients == 0 {
		c.MaxClients = DefaultMaxClients
	}
	if c.IPv4Prefix == 0 {
		c.IPv4Prefix = DefaultIPv4Prefix
	}
	if c.IPv6Prefix == 0 {
		c.IPv6Prefix = DefaultIPv6Prefix
	}
	if c.Retention == 0 {
		c.Retention = DefaultRetention
	}
	if c.PublicMinClusters == 0 {
		c.PublicMinClusters = DefaultPublicMinClusters
	}
	if c.PublicEstablishedDays == 0 {
		c.PublicEstablishedDays = DefaultPublicEstablishedDays
	}
	if c.MaxConns == 0 {
		c.MaxConns = DefaultMaxConns
	}
	if c.MaxClientConns == 0 {
		c.MaxClientConns = max(8, c.MaxConns/4)
	}
	c.MaxClientConns = min(c.MaxClientConns, c.MaxConns)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, c.check()
}

func (c *Config) check() error {
	switch {
	case c.Bits > usage.MaxHashBits:
		return &ConfigError{"Bits", fmt.Sprint(c.Bits), fmt.Sprintf("at most %d (usage.MaxHashBits: reporters mint no more)", usage.MaxHashBits)}
	case c.MaxBody < 1024:
		return &ConfigError{"MaxBody", fmt.Sprint(c.MaxBody), "at least 1024 bytes"}
	case c.BodyMemory < 2*c.MaxBody:
		return &ConfigError{"BodyMemory", fmt.Sprint(c.BodyMemory), fmt.Sprintf("at least twice MaxBody (%d)", 2*c.MaxBody)}
	case c.Expiration < 0:
		return &ConfigError{"Expiration", c.Expiration.String(), "must not be negative"}
	case c.QueueTimeout < 0:
		return &ConfigError{"QueueTimeout", c.QueueTimeout.String(), "must not be negative"}
	case c.StallAfter < 0:
		return &ConfigError{"StallAfter", c.StallAfter.String(), "must not be negative"}
	case c.Retention < MinRetention:
		return &ConfigError{"Retention", c.Retention.String(), "at least " + MinRetention.String()}
	case c.SessionBurst < 1:
		return &ConfigError{"SessionBurst", fmt.Sprint(c.SessionBurst), "at least 1"}
	case c.MaxClients < 1:
		return &ConfigError{"MaxClients", fmt.Sprint(c.MaxClients), "at least 1"}
	case c.IPv4Prefix < 8 || c.IPv4Prefix > 32:
		return &ConfigError{"IPv4Prefix", fmt.Sprint(c.IPv4Prefix), "want 8 to 32"}
	case c.IPv6Prefix < 16 || c.IPv6Prefix > 128:
		return &ConfigError{"IPv6Prefix", fmt.Sprint(c.IPv6Prefix), "want 16 to 128"}
	case c.ClientIPHeader != "" && len(c.TrustedProxies) == 0:
		return &ConfigError{"TrustedProxies", "", "required with ClientIPHeader: the header is believed only from these proxies"}
	case c.MaxConns >= 0 && c.MaxConns < MinMaxConns:
		return &ConfigError{"MaxConns", fmt.Sprint(c.MaxConns), fmt.Sprintf("at least %d (negative: no limit)", MinMaxConns)}
	case c.MaxConns > 0 && c.MaxClientConns < 1:
		return &ConfigError{"MaxClientConns", fmt.Sprint(c.MaxClientConns), "want 0 (a quarter of MaxConns, at least 8) or more"}
	case c.PublicMinClusters < 2:
		return &ConfigError{"PublicMinClusters", fmt.Sprint(c.PublicMinClusters), "at least 2"}
	case c.PublicEstablishedDays < 1:
		return &ConfigError{"PublicEstablishedDays", fmt.Sprint(c.PublicEstablishedDays), "at least 1"}
	case len(c.Secret) < MinSecret:
		return &ConfigError{"Secret", "(hidden)", fmt.Sprintf("at least %d bytes", MinSecret)}
	}
	if _, err := store.NewNames(c.Features); err != nil {
		return &ConfigError{"Features", strings.Join(c.Features, ","), err.Error()}
	}
	if err := checkPath("SessionPath", c.SessionPath); err != nil {
		return err
	}
	if err := checkPath("ReportPath", c.ReportPath); err != nil {
		return err
	}
	if c.ReportPath == c.SessionPath {
		return &ConfigError{"ReportPath", c.ReportPath, "must differ from SessionPath"}
	}
	return nil
}

// reservedPaths are served by the collector itself; an endpoint path may
// be neither one of them nor under one ending in /.
var reservedPaths = []string{"/", "/healthz", "/metrics", "/api/", "/static/", "/public/"}

// checkPath refuses what the mux would misread or panic on: a path that is
// not clean, holds characters outside the URL path alphabet, or shadows a
// route of the collector's own.
func checkPath(field, p string) error {
	if !strings.HasPrefix(p, "/") || path.Clean(p) != p || strings.ContainsAny(p, "{}") ||
		strings.IndexFunc(p, func(r rune) bool {
			return r <= ' ' || r > '~' || strings.ContainsRune(`"#%<>?\^`+"`|", r)
		}) >= 0 {
		return &ConfigError{field, p, "want a clean absolute path of letters, digits and -._~/"}
	}
	for _, r := range reservedPaths {
		if p == r || p == strings.TrimSuffix(r, "/") || (strings.HasSuffix(r, "/") && r != "/" && strings.HasPrefix(p, r)) {
			return &ConfigError{field, p, "taken by the collector's own " + r}
		}
	}
	return nil
}
