// Command krakend-usage-plugin is the krakend-usage handler plugin for a
// stock KrakenD (or any lura gateway that loads http-server plugins):
//
//	make plugin                          # build/krakend-usage.so for the newest release
//	make plugin KRAKEND_VERSION=2.12.1   # another one of targets/releases
//
// which runs, for a release R of targets/releases built with Go G,
//
//	GOTOOLCHAIN=goG CGO_ENABLED=1 go build -modfile=targets/R.mod -buildmode=plugin -o build/krakend-usage.so ./cmd/krakend-usage-plugin
//
// A Go plugin loads only into a gateway built with the same Go release and
// the same version of every shared module, hence the release's Go and pins;
// make plugins builds the files for the published binaries and images.
// It adds nothing to the request path: the handler it returns is the
// gateway's own. See docs/gateway.md.
package main

import krakendusage "github.com/krakend-usage/krakend-usage"

// HandlerRegisterer is the symbol lura's plugin loader looks up.
var HandlerRegisterer krakendusage.Registerer

func main() {}
