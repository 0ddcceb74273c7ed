// Command krakend-usage-plugin is the krakend-usage handler plugin for a
// stock KrakenD (or any lura gateway that loads http-server plugins):
//
//	go build -buildmode=plugin -o krakend-usage.so ./cmd/krakend-usage-plugin
//
// It adds nothing to the request path: the handler it returns is the
// gateway's own. See docs/gateway.md.
package main

import krakendusage "github.com/krakend-usage/krakend-usage"

// HandlerRegisterer is the symbol lura's plugin loader looks up.
var HandlerRegisterer krakendusage.Registerer

func main() {}
