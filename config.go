package krakendusage

import (
	"github.com/krakend-usage/krakend-usage/usage/krakend"
	"github.com/luraproject/lura/v2/config"
	"github.com/luraproject/lura/v2/core"
)

// The reporter's configuration in a lura v2 gateway: the namespace, the
// config and its getters. The extension itself knows no lura version: it
// lives in package [krakend] of the usage module; this package binds it to
// lura v2.

const (
	// Namespace is the service extra_config key read by the RunServer
	// decorator [New] in custom lura/KrakenD builds.
	Namespace = krakend.Namespace
	// PluginName is the name of the handler plugin. In a stock gateway its
	// config block lives under extra_config."plugin/http-server"."krakend-usage".
	PluginName = krakend.PluginName
)

var (
	// ErrNoConfig means the config block is absent: the reporter is not
	// configured and stays silent.
	ErrNoConfig = krakend.ErrNoConfig
	// ErrInvalidConfig is wrapped by every *ConfigError.
	ErrInvalidConfig = krakend.ErrInvalidConfig
)

type (
	// Config is the reporter's configuration; see [krakend.Config].
	Config = krakend.Config
	// ConfigError names the config key that was rejected and its value.
	ConfigError = krakend.ConfigError
	// Payload is the extra payload of the first report: counts and fixed
	// words only; see [krakend.Payload].
	Payload = krakend.Payload
)

// host is what lura v2 tells the extension: its version and User-Agent.
func host(mode string) krakend.Host {
	return krakend.Host{Version: core.KrakendVersion, UserAgent: core.KrakendUserAgent, Mode: mode, Libc: krakend.Libc()}
}

// withDefaults fills lura's version and User-Agent into a parsed config.
func withDefaults(c Config, err error) (Config, error) {
	if err != nil {
		return c, err
	}
	return host("").Defaults(c), nil
}

// ConfigGetter reads the Namespace block of a service extra_config, with
// lura's version and User-Agent as defaults. It returns ErrNoConfig when
// the block is absent and a *ConfigError for a bad value.
func ConfigGetter(e config.ExtraConfig) (Config, error) {
	return withDefaults(krakend.ConfigGetter(e))
}

// PluginConfigGetter reads the plugin's block from the extra_config of
// "plugin/http-server", which lura passes to a handler plugin. It returns
// ErrNoConfig when there is no "krakend-usage" key.
func PluginConfigGetter(extra map[string]interface{}) (Config, error) {
	return withDefaults(krakend.PluginConfigGetter(extra))
}
