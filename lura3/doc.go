// Package lura3 runs the krakend-usage reporter in a gateway built on
// lura v3, such as a custom build of KrakenD CE 3.0 (krakend-ce's dev-3.0
// branch). It is the lura v3 twin of the root package's [New]: the logic
// is package [krakend] of the usage module, written once; this package
// only binds it to lura v3's types.
//
// KrakenD CE 3.0 has no Go plugins; a custom build with this decorator is
// the in-process way to report. krakend-ce's hook is its ExecutorBuilder:
// a RunServerFactory that wraps the server with [New] and hands it to
// krakend.DefaultRunServerFactory,
//
//	func (f *usageRunServerFactory) NewRunServer(l logging.Logger, next router.RunServerFunc) krakend.RunServer {
//		return f.DefaultRunServerFactory.NewRunServer(l, usage3.New(l, next))
//	}
//
// set as ExecutorBuilder.RunServerFactory in main, and the service
// extra_config namespace [Namespace] ("telemetry/usage"). docs/gateway.md
// ("In a KrakenD CE build") has the whole file and what was compiled.
package lura3
