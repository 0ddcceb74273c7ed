// Package lura3 runs the krakend-usage reporter in a gateway built on
// lura v3, such as a custom build of KrakenD CE 3.0 (krakend-ce's dev-3.0
// branch). It is the lura v3 twin of the root package's [New]: the logic
// is package [krakend] of the usage module, written once; this package
// only binds it to lura v3's types.
//
// KrakenD CE 3.0 may drop Go plugins (krakend-ce PR #1106); a custom build
// with this decorator is then the way to report. In krakend-ce's
// cmd/krakend-ce (or wherever the build picks its RunServer), wrap the
// server:
//
//	import usage3 "github.com/krakend-usage/krakend-usage/lura3"
//
//	runServer := usage3.New(logger, krakend.DefaultRunServerFactory)
//
// and configure the service extra_config namespace [Namespace]
// ("telemetry/usage"). See docs/gateway.md.
package lura3
