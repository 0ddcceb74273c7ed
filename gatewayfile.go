package krakendusage

import (
	"github.com/krakend-usage/krakend-usage/internal/gatewayconfig"
	"github.com/luraproject/lura/v2/config"
)

// ErrNoConfigFlag is returned by [ReadGatewayConfig] when the process
// arguments have no -c/--config flag: there is no config file to read.
var ErrNoConfigFlag = gatewayconfig.ErrNoConfigFlag

// configFileFromArgs finds the gateway's config file the way `krakend run`
// takes it (see [gatewayconfig.FileFromArgs]).
func configFileFromArgs(args []string) (string, error) { return gatewayconfig.FileFromArgs(args) }

// portFromArgs returns the -p/--port override of `krakend run`, 0 if none.
func portFromArgs(args []string) int { return gatewayconfig.PortFromArgs(args) }

// NewConfigParser returns the config parser that KrakenD CE's main builds:
// krakend-koanf (JSON, YAML or TOML by the file's extension, then the
// KRAKEND_* environment overrides such as KRAKEND_PORT), wrapped in
// flexible configuration when FC_ENABLE is set (FC_SETTINGS, FC_PARTIALS,
// FC_TEMPLATES, FC_OUT). getenv reads those variables; nil means
// os.Getenv. A gateway that parses its config with it and the plugin
// that re-reads that config agree on every value, hence on the IDs.
//
// It reads `"version": 3` and `"version": 4` alike, and keeps the version
// as written in the parsed config (so it is part of the digest); any
// other version is refused with an error naming the field.
func NewConfigParser(getenv func(string) string) config.Parser {
	return gatewayconfig.NewParser(getenv, true)
}

// ReadGatewayConfig parses the gateway's config file named in args (the
// gateway process's arguments: -c FILE, -c=FILE, --config FILE or
// --config=FILE, relative to the working directory) the way KrakenD CE
// did when it started (see [NewConfigParser]), then applies what
// `krakend run` applies after parsing: the alias normalisation and the
// -p/--port flag. getenv reads the flexible-configuration variables (FC_*;
// nil means os.Getenv); FC_OUT is ignored, so the file the gateway
// rendered is never rewritten. The KRAKEND_* overrides are read from the
// process environment by krakend-koanf. Without a -c/--config flag in
// args it returns [ErrNoConfigFlag].
func ReadGatewayConfig(args []string, getenv func(string) string) (config.ServiceConfig, error) {
	return gatewayconfig.Read(args, getenv)
}
