package lura3

import (
	"github.com/krakend-usage/krakend-usage/usage/krakend"
	"github.com/luraproject/lura/v3/config"
	"github.com/luraproject/lura/v3/core"
	"github.com/luraproject/lura/v3/logging"
	router "github.com/luraproject/lura/v3/router/gin"
)

// Namespace is the service extra_config key the decorator reads.
const Namespace = krakend.Namespace

// New decorates a lura v3 RunServerFunc: when the service extra_config has
// a Namespace block it starts the usage reporter beside the server, and
// stops it when the server returns or ctx ends. Without the block it is a
// plain call to next. It never delays next and adds nothing to the
// request path; a bad config is logged and the server runs anyway.
func New(logger logging.Logger, next router.RunServerFunc) router.RunServerFunc {
	var l logging.Logger = logging.NoOp
	if logger != nil {
		l = logger
	}
	host := krakend.Host{Version: core.KrakendVersion, UserAgent: core.KrakendUserAgent, Mode: krakend.ModeDecorator}
	return krakend.Decorate(l, host, next, extraConfig)
}

func extraConfig(cfg config.ServiceConfig) map[string]interface{} { return cfg.ExtraConfig }

// ConfigDigest is the host-independent digest of cfg the cluster ID is
// derived from ([krakend.Service.Digest]).
func ConfigDigest(cfg config.ServiceConfig) (string, error) {
	s, err := krakend.DescribeService(cfg)
	if err != nil {
		return "", err
	}
	return s.Digest(), nil
}
