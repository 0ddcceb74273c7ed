package krakendusage

import (
	"github.com/krakend-usage/krakend-usage/usage/krakend"
	"github.com/luraproject/lura/v2/config"
	"github.com/luraproject/lura/v2/logging"
	router "github.com/luraproject/lura/v2/router/gin"
)

// New decorates a lura v2 RunServerFunc: when the service extra_config has
// a Namespace block it starts the usage reporter beside the server, and
// stops it when the server returns or ctx ends. Without the block it is a
// plain call to next. It never delays next and adds nothing to the
// request path; a bad config is logged and the server runs anyway.
// ([krakend.Decorate] holds the logic, shared with the lura v3 adapter.)
func New(logger logging.Logger, next router.RunServerFunc) router.RunServerFunc {
	var l logging.Logger = logging.NoOp
	if logger != nil {
		l = logger
	}
	return krakend.Decorate(l, host(krakend.ModeDecorator), next, extraConfig)
}

func extraConfig(cfg config.ServiceConfig) map[string]interface{} { return cfg.ExtraConfig }
