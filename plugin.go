package krakendusage

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"

	"github.com/krakend-usage/krakend-usage/usage"
	"github.com/luraproject/lura/v2/logging"
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
	l.Debug(pluginLogPrefix, "Logger loaded")
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
	launch(ctx, l, getenv, cfg, err, func() instance { return pluginInstance(l, args, getenv, block) })
}

// pluginInstance reads the gateway config named in args. When it cannot,
// it says why and falls back to the plugin's own block for the cluster ID,
// the -p flag for the port, and sends no payload.
func pluginInstance(l usage.Logger, args []string, getenv func(string) string, block interface{}) instance {
	gc, err := gatewayConfig(args, getenv)
	if err == nil {
		var hash string
		if hash, err = configHash(gc); err == nil {
			return instance{hash: hash, port: gc.Port, payload: NewPayload(gc).JSON()}
		}
	}
	l.Warning(fmt.Sprintf("Cannot read the gateway config (%s): the cluster ID is derived from the plugin's config block and no endpoint counts are sent", logDetail(err)))
	return instance{hash: blockHash(block), port: portFromArgs(args)}
}
