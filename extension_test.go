package krakendusage

import (
	"github.com/krakend-usage/krakend-usage/usage/krakend"
	"github.com/luraproject/lura/v2/config"
)

// sentPayload is the payload the extension sends for cfg when it runs in
// mode in this process.
func sentPayload(cfg config.ServiceConfig, mode string) []byte {
	p := NewPayload(cfg)
	p.Mode, p.Libc = mode, krakend.Libc()
	return p.JSON()
}
