package krakendusage

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"

	"github.com/krakend-usage/krakend-usage/usage"
	"github.com/krakend-usage/krakend-usage/usage/krakend"
	"github.com/luraproject/lura/v2/config"
)

// HandlerFunc is the handler factory signature of lura's http-server
// plugins.
type HandlerFunc = func(context.Context, map[string]interface{}, http.Handler) (http.Handler, error)

// Registerer is the handler plugin (the HandlerRegisterer of the .so). Its
// zero value is ready to use. The handler it registers returns the next
// handler unchanged and starts the reporter once per process, however
// many times lura calls it; the reporter stops when the context of the
// first call ends.
type Registerer struct {
	// Args are the process arguments to find the gateway config in; nil
	// means os.Args.
	Args []string
	// Getenv reads the off switches; nil means os.Getenv.
	Getenv func(string) string

	mu     sync.Mutex
	logger usage.Logger
	once   sync.Once

	// The gateway config, parsed once: for the placement check when the
	// plugin is loaded, then for the reporter's instance.
	gwOnce sync.Once
	gw     config.ServiceConfig
	gwErr  error
}

// env returns Args and Getenv with their defaults.
func (r *Registerer) env() ([]string, func(string) string) {
	args, getenv := r.Args, r.Getenv
	if args == nil {
		args = os.Args
	}
	if getenv == nil {
		getenv = os.Getenv
	}
	return args, getenv
}

// gateway parses the gateway config named in the process arguments, once.
func (r *Registerer) gateway() (config.ServiceConfig, error) {
	r.gwOnce.Do(func() { r.gw, r.gwErr = ReadGatewayConfig(r.env()) })
	return r.gw, r.gwErr
}

// RegisterHandlers registers the plugin under PluginName.
func (r *Registerer) RegisterHandlers(f func(string, HandlerFunc)) {
	f(PluginName, r.handler)
}

// RegisterLogger receives the gateway's logger (a lura logging.Logger).
func (r *Registerer) RegisterLogger(v interface{}) {
	l, ok := v.(usage.Logger)
	if !ok {
		return
	}
	r.mu.Lock()
	r.logger = krakend.Prefixed(l, krakend.PluginLogPrefix)
	r.mu.Unlock()
	l.Debug(krakend.PluginLogPrefix, "Logger loaded")
	r.checkPlacement()
}

// checkPlacement warns, once, when the gateway config has a
// telemetry/usage block but does not enable the plugin: that block is read
// by custom builds with the RunServer decorator and by the krakend-usage
// command beside the gateway, not by the plugin, so with the plugin alone
// it would be silently ignored.
func (r *Registerer) checkPlacement() {
	gc, err := r.gateway()
	if err != nil {
		return // said later, when the plugin starts, if it is enabled
	}
	if _, ok := gc.ExtraConfig[Namespace]; !ok || pluginEnabled(gc.ExtraConfig) {
		return
	}
	r.log().Warning(fmt.Sprintf("The %q block is read by custom builds with the RunServer decorator and by the krakend-usage command, not by this plugin; "+
		"in a stock KrakenD the plugin reads its config from extra_config.\"plugin/http-server\".%q, with %q in that block's \"name\" list: nothing is reported",
		Namespace, PluginName, PluginName))
}

// pluginEnabled reports whether the http-server plugin config (under any
// spelling of its namespace) names this plugin and has its block.
func pluginEnabled(e map[string]interface{}) bool {
	for k, v := range e {
		if name, _ := krakend.Canonical(k); name != "plugin/http-server" {
			continue
		}
		m, _ := v.(map[string]interface{})
		if _, ok := m[PluginName]; !ok {
			continue
		}
		switch names := m["name"].(type) {
		case []interface{}:
			for _, n := range names {
				if n == PluginName {
					return true
				}
			}
		case string:
			if names == PluginName {
				return true
			}
		}
	}
	return false
}

func (r *Registerer) log() usage.Logger {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.logger == nil {
		return krakend.Prefixed(nil, krakend.PluginLogPrefix)
	}
	return r.logger
}

func (r *Registerer) handler(ctx context.Context, extra map[string]interface{}, next http.Handler) (http.Handler, error) {
	r.once.Do(func() { r.start(ctx, extra) })
	return next, nil
}

func (r *Registerer) start(ctx context.Context, extra map[string]interface{}) {
	l := r.log()
	_, getenv := r.env()
	cfg, err := PluginConfigGetter(extra)
	if errors.Is(err, ErrNoConfig) {
		err = fmt.Errorf("no %q block in the plugin/http-server config", PluginName)
	}
	block := extra[PluginName]
	krakend.Start(ctx, l, getenv, host(krakend.ModePlugin), cfg, err, func() krakend.Instance { return r.instance(l, block) })
}

// instance describes the gateway config named in the process arguments.
// When it cannot be read, it says why and falls back to the plugin's own
// block for the cluster ID, the -p flag for the port, and sends no payload.
func (r *Registerer) instance(l usage.Logger, block interface{}) krakend.Instance {
	gc, err := r.gateway()
	if err == nil {
		var s *krakend.Service
		if s, err = krakend.DescribeService(gc); err == nil {
			return krakend.NewInstance(s)
		}
	}
	l.Warning(fmt.Sprintf("Cannot read the gateway config (%s): the cluster ID is derived from the plugin's config block and no endpoint counts are sent", krakend.LogDetail(err)))
	args, _ := r.env()
	return krakend.Instance{Digest: krakend.BlockDigest(block), Port: portFromArgs(args)}
}
