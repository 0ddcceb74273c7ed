package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/krakend-usage/krakend-usage/internal/gatewayconfig"
	"github.com/krakend-usage/krakend-usage/usage"
	"github.com/krakend-usage/krakend-usage/usage/krakend"
	"github.com/luraproject/lura/v2/config"
	"github.com/luraproject/lura/v2/logging"
)

// override is a config key that a flag or a USAGE_* environment variable
// can set, above the value in the gateway config.
type override struct {
	key, flag, env, help string
}

// overrides lists every key of the reporter's config block but "disabled"
// (USAGE_DISABLE is the off switch), in the order -h prints them.
var overrides = []override{
	{"url", "url", "USAGE_URL", "the collector's base URL"},
	{"report_lapse", "report-lapse", "USAGE_REPORT_LAPSE", `time between reports ("12h")`},
	{"timeout", "timeout", "USAGE_TIMEOUT", `bound of every request to the collector ("15s")`},
	{"hash_bits", "hash-bits", "USAGE_HASH_BITS", "proof-of-work difficulty (20)"},
	{"session_endpoint", "session-endpoint", "USAGE_SESSION_ENDPOINT", `session path on the collector ("/session")`},
	{"report_endpoint", "report-endpoint", "USAGE_REPORT_ENDPOINT", `report path on the collector ("/report")`},
	{"user_agent", "user-agent", "USAGE_USER_AGENT", `User-Agent of the requests ("KrakenD Version <version>")`},
	{"version", "gateway-version", "USAGE_VERSION", "the gateway version reported (default: read from the gateway)"},
	{"cluster_id", "cluster-id", "USAGE_CLUSTER_ID", "cluster ID override (default: derived from the config)"},
	{"server_id", "server-id", "USAGE_SERVER_ID", "server ID override (default: derived from the host and port)"},
	{"dry_run", "dry-run", "USAGE_DRY_RUN", "log what would be sent, send nothing (true or false)"},
}

// settings are the flags shared by the subcommands.
type settings struct {
	fs       *flag.FlagSet
	config   string
	logLevel string
	set      map[string]*string // config key -> flag value
	getenv   func(string) string
	log      *levelLogger
}

// newSettings declares the shared flags on a new FlagSet for cmd.
func newSettings(cmd string, stderr io.Writer) *settings {
	s := &settings{fs: flag.NewFlagSet("krakend-usage "+cmd, flag.ContinueOnError), set: map[string]*string{}, getenv: os.Getenv}
	s.fs.SetOutput(stderr)
	s.fs.StringVar(&s.config, "c", "", "the gateway's config `file`")
	s.fs.StringVar(&s.config, "config", "", "the gateway's config `file` (same as -c)")
	s.fs.StringVar(&s.logLevel, "log-level", os.Getenv("USAGE_LOG_LEVEL"), "DEBUG, INFO, WARNING, ERROR or CRITICAL (USAGE_LOG_LEVEL; default: the gateway's, from its telemetry/logging block, else KrakenD's DEBUG)")
	for _, o := range overrides {
		s.set[o.key] = s.fs.String(o.flag, "", fmt.Sprintf("%s (%s; config key %q)", o.help, o.env, o.key))
	}
	return s
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// logger is a KrakenD-style logger on w: lura's basic format, with the
// "KRAKEND" tag of KrakenD's default logger, and the component prefix of
// the decorator ([SERVICE: Usage]) on every line. Its level is -log-level;
// without one, INFO until [settings.followGateway] sets the gateway's.
func (s *settings) logger(w io.Writer) (usage.Logger, error) {
	l, err := logging.NewLogger("DEBUG", w, "KRAKEND")
	if err != nil {
		return nil, err
	}
	s.log = &levelLogger{l: l}
	level := s.logLevel
	if level == "" {
		level = "INFO"
	}
	if !s.log.set(level) {
		return nil, fmt.Errorf("-log-level %q: want DEBUG, INFO, WARNING, ERROR or CRITICAL", s.logLevel)
	}
	return krakend.Prefixed(s.log, krakend.LogPrefix), nil
}

// followGateway sets the log level to the gateway's, as its config says
// (telemetry/logging's "level"; KrakenD logs at DEBUG without that block),
// unless -log-level or USAGE_LOG_LEVEL chose one: the reporter's lines
// then show in the gateway's log stream exactly when its own would.
func (s *settings) followGateway(extra map[string]interface{}) {
	if s.log == nil || s.logLevel != "" {
		return
	}
	level := "DEBUG"
	for k, v := range extra {
		if name, _ := krakend.Canonical(k); name == "telemetry/logging" {
			if m, ok := v.(map[string]interface{}); ok {
				if l, ok := m["level"].(string); ok {
					level = l
				}
			}
		}
	}
	s.log.set(level)
}

// logLevels orders lura's log levels.
var logLevels = map[string]int32{"DEBUG": 0, "INFO": 1, "WARNING": 2, "ERROR": 3, "CRITICAL": 4}

// levelLogger is a lura logger whose level can change while it is used.
type levelLogger struct {
	l   logging.Logger
	min atomic.Int32
}

// set makes level (any case) the lowest level written; false for a word
// that is no level.
func (x *levelLogger) set(level string) bool {
	n, ok := logLevels[strings.ToUpper(level)]
	if ok {
		x.min.Store(n)
	}
	return ok
}

func (x *levelLogger) Debug(v ...interface{}) {
	if x.min.Load() <= 0 {
		x.l.Debug(v...)
	}
}

func (x *levelLogger) Info(v ...interface{}) {
	if x.min.Load() <= 1 {
		x.l.Info(v...)
	}
}

func (x *levelLogger) Warning(v ...interface{}) {
	if x.min.Load() <= 2 {
		x.l.Warning(v...)
	}
}

func (x *levelLogger) Error(v ...interface{}) {
	if x.min.Load() <= 3 {
		x.l.Error(v...)
	}
}

// usageConfig resolves the reporter's config: the block found in the
// gateway's service extra_config (see [krakend.FindBlock]), then every
// flag or USAGE_* variable set above it. It returns krakend.ErrNoConfig
// when there is no block and nothing set, and a *krakend.ConfigError naming
// the key, and the flag or variable it came from, for a bad value.
func (s *settings) usageConfig(extra map[string]interface{}) (krakend.Config, error) {
	block, where := krakend.FindBlock(extra)
	merged := map[string]interface{}{}
	if block != nil {
		m, ok := block.(map[string]interface{})
		if !ok {
			return krakend.Config{}, &krakend.ConfigError{Key: where, Value: block, Reason: "want a JSON object"}
		}
		for k, v := range m {
			merged[k] = v
		}
	}
	from := map[string]string{}
	for _, o := range overrides {
		v, src := *s.set[o.key], "--"+o.flag
		if v == "" {
			v, src = s.getenv(o.env), o.env
		}
		if v == "" {
			continue
		}
		merged[o.key], from[o.key] = typed(o.key, v), src
	}
	if block == nil && len(from) == 0 {
		return krakend.Config{}, krakend.ErrNoConfig
	}
	cfg, err := krakend.ConfigGetter(map[string]interface{}{krakend.Namespace: merged})
	var ce *krakend.ConfigError
	if errors.As(err, &ce) && from[ce.Key] != "" {
		ce.Key += " (from " + from[ce.Key] + ")"
	}
	return cfg, err
}

// typed turns a flag or variable's text into what the config key takes in
// JSON: a number for hash_bits, a boolean for dry_run, else the string.
// Text that does not parse is passed on as text, for the config's own
// error naming the key.
func typed(key, v string) interface{} {
	switch key {
	case "hash_bits":
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	case "dry_run":
		if b, err := strconv.ParseBool(v); err == nil {
			return b
		}
	}
	return v
}

// readGateway parses the gateway config file named by the -c/--config
// flag in args the way KrakenD does (krakend-koanf, KRAKEND_* overrides,
// flexible configuration), relative to the working directory.
func readGateway(args []string, getenv func(string) string) (config.ServiceConfig, error) {
	return gatewayconfig.Read(args, getenv)
}
