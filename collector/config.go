package collector

import (
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Config configures a [Server]. The zero value of every field but Secret
// is the production default, resolved in one place by withDefaults.
type Config struct {
	// Bits is the proof-of-work difficulty reports must carry (default 20).
	Bits uint
	// MaxBody bounds a request body in bytes (default 2 MiB; the original
	// client's own tests send a 1 MiB extra payload, base64 in JSON).
	MaxBody int64
	// Expiration is how far a report's time may be from the server clock,
	// either way (default 60s).
	Expiration time.Duration
	// TokenTTL is how long a session token is valid; 0 means forever,
	// because the original client keeps one token for the life of its
	// process.
	TokenTTL time.Duration
	// SessionPath and ReportPath are the endpoint paths (default /session
	// and /report).
	SessionPath, ReportPath string
	// SessionRate is how many sessions per second a client IP may open on
	// average (default 10); negative disables the limit. SessionBurst is
	// how many it may open at once (default 200: a fleet behind one NAT
	// address restarting together).
	SessionRate  float64
	SessionBurst int
	// MaxClients bounds the IP addresses the rate limiter remembers
	// (default 100,000). They are kept in memory only.
	MaxClients int
	// ClientIPHeader, when set (e.g. X-Forwarded-For), names the header
	// whose last address is the client's, for collectors behind a proxy.
	ClientIPHeader string
	// Retention is how long raw reports are kept (default
	// DefaultRetention, at least MinRetention); see Server.RunRetention.
	Retention time.Duration
	// FleetMetrics adds gauges of the fleet to /metrics (usage_fleet_*),
	// computed from the stats at most every 30 seconds.
	FleetMetrics bool
	// Secret is the token-signing key, at least 16 bytes. Required.
	Secret []byte
	// Logger receives operational messages; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
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
	if c.Bits == 0 {
		c.Bits = 20
	}
	if c.MaxBody == 0 {
		c.MaxBody = 2 << 20
	}
	if c.Expiration == 0 {
		c.Expiration = 60 * time.Second
	}
	if c.SessionPath == "" {
		c.SessionPath = "/session"
	}
	if c.ReportPath == "" {
		c.ReportPath = "/report"
	}
	if c.SessionRate == 0 {
		c.SessionRate = 10
	}
	if c.SessionBurst == 0 {
		c.SessionBurst = 200
	}
	if c.MaxClients == 0 {
		c.MaxClients = 100_000
	}
	if c.Retention == 0 {
		c.Retention = DefaultRetention
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	switch {
	case c.Bits > 40:
		return c, &ConfigError{"Bits", fmt.Sprint(c.Bits), "at most 40"}
	case c.MaxBody < 1024:
		return c, &ConfigError{"MaxBody", fmt.Sprint(c.MaxBody), "at least 1024 bytes"}
	case c.Expiration < 0:
		return c, &ConfigError{"Expiration", c.Expiration.String(), "must not be negative"}
	case c.TokenTTL < 0:
		return c, &ConfigError{"TokenTTL", c.TokenTTL.String(), "must not be negative"}
	case !strings.HasPrefix(c.SessionPath, "/"):
		return c, &ConfigError{"SessionPath", c.SessionPath, "must start with /"}
	case !strings.HasPrefix(c.ReportPath, "/") || c.ReportPath == c.SessionPath:
		return c, &ConfigError{"ReportPath", c.ReportPath, "must start with / and differ from SessionPath"}
	case c.SessionBurst < 1:
		return c, &ConfigError{"SessionBurst", fmt.Sprint(c.SessionBurst), "at least 1"}
	case c.MaxClients < 1:
		return c, &ConfigError{"MaxClients", fmt.Sprint(c.MaxClients), "at least 1"}
	case c.Retention < MinRetention:
		return c, &ConfigError{"Retention", c.Retention.String(), "at least " + MinRetention.String()}
	case len(c.Secret) < 16:
		return c, &ConfigError{"Secret", "(hidden)", "at least 16 bytes"}
	}
	return c, nil
}
