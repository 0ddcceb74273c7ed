package krakendusage

import (
	"github.com/krakend-usage/krakend-usage/usage/krakend"
	"github.com/luraproject/lura/v2/config"
)

// NewPayload counts the endpoints, methods, backends, async agents and
// extra_config namespaces of cfg, every component under its current name
// whatever alias table the host registered. It returns a zero Payload when
// cfg cannot be encoded.
func NewPayload(cfg config.ServiceConfig) Payload {
	s, err := krakend.DescribeService(cfg)
	if err != nil {
		return Payload{}
	}
	return s.Payload()
}
