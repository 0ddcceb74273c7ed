package krakendusage

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"

	"github.com/krakend-usage/krakend-usage/usage"
	"github.com/luraproject/lura/v2/config"
	"github.com/luraproject/lura/v2/logging"
	router "github.com/luraproject/lura/v2/router/gin"
)

// New decorates a lura RunServerFunc: when the service extra_config has a
// Namespace block it starts the usage reporter beside the server, and
// stops it when the server returns or ctx ends. Without the block it is a
// plain call to next. It never delays next and adds nothing to the
// request path; a bad config is logged and the server runs anyway.
func New(logger logging.Logger, next router.RunServerFunc) router.RunServerFunc {
	return func(ctx context.Context, cfg config.ServiceConfig, h http.Handler) error {
		ucfg, err := ConfigGetter(cfg.ExtraConfig)
		if errors.Is(err, ErrNoConfig) {
			return next(ctx, cfg, h)
		}
		var l usage.Logger = logging.NoOp
		if logger != nil {
			l = logger
		}
		l = newPrefixed(l, logPrefix)
		rctx, cancel := context.WithCancel(ctx)
		defer cancel()
		// The hash and counts are computed now, before the router runs,
		// so that nothing reads cfg while the router may be using it.
		inst := serviceInstance(l, cfg)
		launch(rctx, l, os.Getenv, ucfg, err, func() instance { return inst })
		return next(ctx, cfg, h)
	}
}

func serviceInstance(l usage.Logger, cfg config.ServiceConfig) instance {
	hash, err := configHash(cfg)
	if err != nil {
		l.Warning(fmt.Sprintf("cannot hash the service config (%v): cluster ID derived from the %s block", err, Namespace))
		hash = blockHash(cfg.ExtraConfig[Namespace])
	}
	return instance{hash: hash, port: cfg.Port, payload: NewPayload(cfg).JSON()}
}

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
	r.logger = newPrefixed(l, pluginLogPrefix)
	r.mu.Unlock()
	l.Debug(pluginLogPrefix, "logger loaded")
}

func (r *Registerer) log() usage.Logger {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.logger == nil {
		return newPrefixed(logging.NoOp, pluginLogPrefix)
	}
	return r.logger
}

func (r *Registerer) handler(ctx context.Context, extra map[string]interface{}, next http.Handler) (http.Handler, error) {
	r.once.Do(func() { r.start(ctx, extra) })
	return next, nil
}

func (r *Registerer) start(ctx context.Context, extra map[string]interface{}) {
	l := r.log()
	getenv, args := r.Getenv, r.Args
	if getenv == nil {
		getenv = os.Getenv
	}
	if args == nil {
		args = os.Args
	}
	cfg, err := PluginConfigGetter(extra)
	if errors.Is(err, ErrNoConfig) {
		err = fmt.Errorf("no %q block in the plugin/http-server config", PluginName)
	}
	block := extra[PluginName]
	launch(ctx, l, getenv, cfg, err, func() instance { return pluginInstance(l, args, block) })
}

// pluginInstance reads the gateway config named in args. When it cannot,
// it says why and falls back to the plugin's own block for the cluster ID,
// the -p flag for the port, and sends no payload.
func pluginInstance(l usage.Logger, args []string, block interface{}) instance {
	gc, err := gatewayConfig(args)
	if err == nil {
		var hash string
		if hash, err = configHash(gc); err == nil {
			return instance{hash: hash, port: gc.Port, payload: NewPayload(gc).JSON()}
		}
	}
	l.Warning(fmt.Sprintf("cannot read the gateway config: %v; the cluster ID is derived from the plugin's config block and no endpoint counts are sent", err))
	return instance{hash: blockHash(block), port: portFromArgs(args)}
}
