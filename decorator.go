package krakendusage

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"

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
		l.Warning(fmt.Sprintf("Cannot hash the service config (%v): the cluster ID is derived from the %s block", err, Namespace))
		hash = blockHash(cfg.ExtraConfig[Namespace])
	}
	return instance{hash: hash, port: cfg.Port, payload: NewPayload(cfg).JSON()}
}
