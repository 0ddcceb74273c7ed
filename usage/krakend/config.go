package krakend

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/krakend-usage/krakend-usage/usage"
)

const (
	// Namespace is the service extra_config key read by the RunServer
	// decorator [New] in custom lura/KrakenD builds.
	Namespace = "telemetry/usage"
	// PluginName is the name of the handler plugin. In a stock gateway its
	// config block lives under extra_config."plugin/http-server"."krakend-usage".
	PluginName = "krakend-usage"

	defaultSessionEndpoint = "/session"
	defaultReportEndpoint  = "/report"
	defaultReportLapse     = 12 * time.Hour
	defaultTimeout         = 15 * time.Second
	// defaultHashBits is what krakend-usage v2 clients mint, so that any
	// collector accepts our reports.
	defaultHashBits = usage.OriginalHashBits
	// shortLapse is the lapse below which a warning is logged: such a
	// gateway reports far more often than anybody needs.
	shortLapse = time.Minute
)

var (
	// ErrNoConfig means the config block is absent: the reporter is not
	// configured and stays silent.
	ErrNoConfig = errors.New("krakend-usage: no config")
	// ErrInvalidConfig is wrapped by every *ConfigError.
	ErrInvalidConfig = errors.New("krakend-usage: invalid config")
)

// ConfigError names the config key that was rejected and its value.
type ConfigError struct {
	Key    string // the snake_case key, e.g. "report_lapse"
	Value  interface{}
	Reason string
}

func (e *ConfigError) Error() string {
	return "krakend-usage: " + e.detail()
}

// detail is the error without the package prefix, for log lines, which
// carry the component tag instead.
func (e *ConfigError) detail() string {
	if e.Value == nil {
		return fmt.Sprintf("config key %q: %s", e.Key, e.Reason)
	}
	return fmt.Sprintf("config key %q: bad value %#v: %s", e.Key, e.Value, e.Reason)
}

// Unwrap returns ErrInvalidConfig.
func (e *ConfigError) Unwrap() error { return ErrInvalidConfig }

// Config is the reporter's configuration, read from the gateway config by
// [ConfigGetter] or [PluginConfigGetter] with every default resolved.
type Config struct {
	// URL is the collector's base URL, http or https. Required.
	URL string
	// SessionEndpoint and ReportEndpoint are paths on URL.
	SessionEndpoint string
	ReportEndpoint  string
	// ReportLapse is the time between reports (12h).
	ReportLapse time.Duration
	// Timeout bounds every request to the collector (15s).
	Timeout time.Duration
	// HashBits is the proof-of-work difficulty, 1 to usage.MaxHashBits
	// (usage.OriginalHashBits, 20).
	HashBits uint
	// UserAgent of the requests. Empty means the host's: lura's
	// core.KrakendUserAgent ("KrakenD Version 2.13.8"), as KrakenD's own
	// reporter sends ([Host.UserAgent]).
	UserAgent string
	// Version reported. Empty means the host's: lura's
	// core.KrakendVersion ([Host.Version]).
	Version string
	// ClusterID and ServerID override the derived IDs, under the rule a
	// collector applies (usage.ValidateID: 1 to usage.MaxIDLen printable
	// ASCII characters, no spaces). Use UUIDs: whatever is here is sent as
	// it is.
	ClusterID string
	ServerID  string
	// Disabled turns the reporter off.
	Disabled bool
	// DryRun logs what would be sent and sends nothing.
	DryRun bool
}

// ConfigGetter reads the Namespace block of a service extra_config. It
// returns ErrNoConfig when the block is absent and a *ConfigError for a
// bad value.
func ConfigGetter(e map[string]interface{}) (Config, error) {
	v, ok := e[Namespace]
	if !ok {
		return Config{}, ErrNoConfig
	}
	return parseConfig(v)
}

// PluginConfigGetter reads the plugin's block from the extra_config of
// "plugin/http-server", which lura passes to a handler plugin. It returns
// ErrNoConfig when there is no "krakend-usage" key.
func PluginConfigGetter(extra map[string]interface{}) (Config, error) {
	v, ok := extra[PluginName]
	if !ok {
		return Config{}, ErrNoConfig
	}
	return parseConfig(v)
}

// FindBlock returns the reporter's block in a service extra_config and
// where it was found: the Namespace block, else the handler plugin's block
// in the http-server plugin config (under any spelling of its namespace),
// so that a config written for the plugin works unchanged in a process
// beside the gateway. It returns nil and "" when there is neither.
func FindBlock(extra map[string]interface{}) (block interface{}, where string) {
	if v, ok := extra[Namespace]; ok {
		return v, Namespace
	}
	for k, v := range extra {
		if name, _ := Canonical(k); name != httpServerPlugin {
			continue
		}
		if m, ok := v.(map[string]interface{}); ok {
			if b, ok := m[PluginName]; ok {
				return b, k + "." + PluginName
			}
		}
	}
	return nil, ""
}

// Keys lists every key of the reporter's config block, sorted.
func Keys() []string {
	out := make([]string, 0, len(keys))
	for k := range keys {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// keys lists every accepted key. Unknown keys are rejected: a typo such as
// "dryrun" must not silently send real reports.
var keys = map[string]func(*Config, interface{}) error{
	"url":              setURL,
	"session_endpoint": setPath("session_endpoint", func(c *Config) *string { return &c.SessionEndpoint }),
	"report_endpoint":  setPath("report_endpoint", func(c *Config) *string { return &c.ReportEndpoint }),
	"report_lapse":     setDuration("report_lapse", func(c *Config) *time.Duration { return &c.ReportLapse }),
	"timeout":          setDuration("timeout", func(c *Config) *time.Duration { return &c.Timeout }),
	"hash_bits":        setBits,
	"user_agent":       setString("user_agent", func(c *Config) *string { return &c.UserAgent }),
	"version":          setVersion,
	"cluster_id":       setID("cluster_id", func(c *Config) *string { return &c.ClusterID }),
	"server_id":        setID("server_id", func(c *Config) *string { return &c.ServerID }),
	"disabled":         setBool("disabled", func(c *Config) *bool { return &c.Disabled }),
	"dry_run":          setBool("dry_run", func(c *Config) *bool { return &c.DryRun }),
}

func parseConfig(v interface{}) (Config, error) {
	m, ok := v.(map[string]interface{})
	if !ok {
		return Config{}, &ConfigError{Key: Namespace, Value: v, Reason: "want a JSON object"}
	}
	cfg := Config{
		SessionEndpoint: defaultSessionEndpoint,
		ReportEndpoint:  defaultReportEndpoint,
		ReportLapse:     defaultReportLapse,
		Timeout:         defaultTimeout,
		HashBits:        defaultHashBits,
	}
	// Sorted, so that the error for a block with several bad keys is stable.
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		set, ok := keys[k]
		if !ok {
			return Config{}, &ConfigError{Key: k, Reason: "unknown key"}
		}
		if err := set(&cfg, m[k]); err != nil {
			return Config{}, err
		}
	}
	if cfg.URL == "" {
		return Config{}, &ConfigError{Key: "url", Reason: "required: the base URL of the collector"}
	}
	return cfg, nil
}

func setURL(c *Config, v interface{}) error {
	s, ok := v.(string)
	if !ok {
		return &ConfigError{Key: "url", Value: v, Reason: "want a string"}
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &ConfigError{Key: "url", Value: s, Reason: "want an absolute http or https URL"}
	}
	c.URL = strings.TrimRight(s, "/")
	return nil
}

func setString(key string, f func(*Config) *string) func(*Config, interface{}) error {
	return func(c *Config, v interface{}) error {
		s, ok := v.(string)
		if !ok {
			return &ConfigError{Key: key, Value: v, Reason: "want a string"}
		}
		*f(c) = s
		return nil
	}
}

// setVersion applies the version rule a collector checks every report
// against (usage.ValidateVersion), so that a version no collector accepts is
// a config error at start-up.
func setVersion(c *Config, v interface{}) error {
	s, ok := v.(string)
	if !ok {
		return &ConfigError{Key: "version", Value: v, Reason: "want a string"}
	}
	var fe *usage.FieldError
	if err := usage.ValidateVersion(s); errors.As(err, &fe) {
		return &ConfigError{Key: "version", Value: s, Reason: fe.Reason}
	}
	c.Version = s
	return nil
}

func setPath(key string, f func(*Config) *string) func(*Config, interface{}) error {
	return func(c *Config, v interface{}) error {
		s, ok := v.(string)
		if !ok || !strings.HasPrefix(s, "/") {
			return &ConfigError{Key: key, Value: v, Reason: `want a path starting with "/"`}
		}
		*f(c) = s
		return nil
	}
}

// setID applies usage.ValidateID, the rule a collector checks the IDs
// of every session and report against, so that an override a collector
// would refuse is a config error at start-up instead.
func setID(key string, f func(*Config) *string) func(*Config, interface{}) error {
	return func(c *Config, v interface{}) error {
		s, ok := v.(string)
		if !ok {
			return &ConfigError{Key: key, Value: v, Reason: "want a string, ideally a UUID"}
		}
		if err := usage.ValidateID(key, s); err != nil {
			reason := err.Error()
			var fe *usage.FieldError
			if errors.As(err, &fe) {
				reason = fe.Reason
			}
			return &ConfigError{Key: key, Value: s, Reason: reason + ", ideally a UUID"}
		}
		if u, ok := canonicalUUID(s); ok {
			s = u // one spelling of a UUID, so that case does not split a cluster
		}
		*f(c) = s
		return nil
	}
}

func setBool(key string, f func(*Config) *bool) func(*Config, interface{}) error {
	return func(c *Config, v interface{}) error {
		b, ok := v.(bool)
		if !ok {
			return &ConfigError{Key: key, Value: v, Reason: "want true or false"}
		}
		*f(c) = b
		return nil
	}
}

func setDuration(key string, f func(*Config) *time.Duration) func(*Config, interface{}) error {
	return func(c *Config, v interface{}) error {
		s, ok := v.(string)
		if !ok {
			return &ConfigError{Key: key, Value: v, Reason: `want a duration string such as "12h"`}
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return &ConfigError{Key: key, Value: s, Reason: `want a duration string such as "12h"`}
		}
		if d <= 0 {
			return &ConfigError{Key: key, Value: s, Reason: "must be positive"}
		}
		*f(c) = d
		return nil
	}
}

func setBits(c *Config, v interface{}) error {
	var n float64
	switch x := v.(type) {
	case float64: // what encoding/json produces
		n = x
	case int:
		n = float64(x)
	case int64:
		n = float64(x)
	case uint:
		n = float64(x)
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return &ConfigError{Key: "hash_bits", Value: v, Reason: fmt.Sprintf("want an integer from 1 to %d", usage.MaxHashBits)}
		}
		n = f
	default:
		return &ConfigError{Key: "hash_bits", Value: v, Reason: fmt.Sprintf("want an integer from 1 to %d", usage.MaxHashBits)}
	}
	if n != math.Trunc(n) || n < 1 || n > float64(usage.MaxHashBits) {
		return &ConfigError{Key: "hash_bits", Value: v, Reason: fmt.Sprintf("want an integer from 1 to %d", usage.MaxHashBits)}
	}
	c.HashBits = uint(n)
	return nil
}
