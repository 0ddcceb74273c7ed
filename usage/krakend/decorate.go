package krakend

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"

	"github.com/krakend-usage/krakend-usage/usage"
)

// Decorate is the RunServer decorator of every lura major, written once:
// an adapter passes its lura's RunServerFunc, its defaults and how to
// reach a ServiceConfig's extra_config, and gets back a RunServerFunc of
// the same type. When the service extra_config has a Namespace block it
// starts the usage reporter beside the server, and stops it when the
// server returns or ctx ends. Without the block it is a plain call to
// next. It never delays next and adds nothing to the request path; a bad
// config is logged and the server runs anyway.
func Decorate[F ~func(context.Context, C, http.Handler) error, C any](logger usage.Logger, host Host, next F, extraConfig func(C) map[string]interface{}) F {
	if host.Mode == "" {
		host.Mode = ModeDecorator
	}
	if host.Libc == "" {
		host.Libc = Libc() // the decorator runs in the gateway process
	}
	return func(ctx context.Context, cfg C, h http.Handler) error {
		ucfg, err := ConfigGetter(extraConfig(cfg))
		if errors.Is(err, ErrNoConfig) {
			return next(ctx, cfg, h)
		}
		l := Prefixed(logger, LogPrefix)
		rctx, cancel := context.WithCancel(ctx)
		defer cancel()
		// The digest and counts are computed now, before the router runs,
		// so that nothing reads cfg while the router may be using it.
		inst := serviceInstance(l, cfg, extraConfig(cfg))
		Start(rctx, l, os.Getenv, host, ucfg, err, func() Instance { return inst })
		return next(ctx, cfg, h)
	}
}

func serviceInstance(l usage.Logger, cfg interface{}, extra map[string]interface{}) Instance {
	s, err := DescribeService(cfg)
	if err != nil {
		l.Warning(fmt.Sprintf("Cannot read the service config (%s): the cluster ID is derived from the %s block and no endpoint counts are sent", LogDetail(err), Namespace))
		return Instance{Digest: BlockDigest(extra[Namespace])}
	}
	return NewInstance(s)
}
