// Package krakendusage runs the anonymous usage reporter of package
// [github.com/krakend-usage/krakend-usage/usage] inside a KrakenD or lura
// gateway: it reads its config from the gateway config, derives anonymous
// cluster and server IDs, counts endpoints for the first report, and
// starts the reporter beside the router without touching the request path.
//
// # Ways in
//
// Custom builds wrap their RunServer with [New] and configure the service
// extra_config namespace [Namespace] ("telemetry/usage"):
//
//	runServer := krakendusage.New(logger, server.RunServer)
//
// A stock KrakenD 2.x loads the handler plugin built from
// cmd/krakend-usage-plugin ([Registerer]) and configures it under
// "plugin/http-server" with the name [PluginName] ("krakend-usage"). The
// plugin then re-reads the gateway's config file with [ReadGatewayConfig]:
// the file named by the process's -c/--config, parsed with
// [NewConfigParser], the parser KrakenD CE builds (krakend-koanf: JSON,
// YAML, TOML and the KRAKEND_* overrides; flexible configuration with
// FC_ENABLE), so that it sees the config, port and endpoints the gateway
// runs with. The module pins every dependency it shares with each
// supported KrakenD release (targets/releases, and targets/<release>.mod
// used with -modfile), since a Go plugin loads only into a matching build.
//
// Any KrakenD (3.0 included, which loads no Go plugins) runs the static
// command cmd/krakend-usage beside it, as a wrapper of the gateway process
// or as a sidecar; it reads the same config the same way (package
// internal/gatewayconfig, which [ReadGatewayConfig] and [NewConfigParser]
// export for any other program beside a gateway).
//
// # Identity and privacy
//
// The cluster ID is a name-based UUID of a digest of the parsed config
// that no host changes ([ConfigDigest]: the same config gives the same ID
// in every KrakenD release, glibc or musl, lura v2 or v3), the server ID
// one of the machine ID (else the hostname) and the port; see [ClusterID]
// and [ServerID]. The extra payload is a [Payload]: counts and fixed words
// only, every component under its current name.
//
// # Where the logic lives
//
// This package is only the lura v2 glue. The extension itself (config,
// IDs, payload, the reporter's start and stop) is package
// [github.com/krakend-usage/krakend-usage/usage/krakend], which knows no
// lura version; module github.com/krakend-usage/krakend-usage/lura3 binds
// it to lura v3.
//
// # Off switches
//
// USAGE_DISABLE=1, DO_NOT_TRACK=1 or "disabled": true stop everything
// before any work, with one INFO line; "dry_run": true logs each request
// body instead of sending it.
//
// See docs/gateway.md for the config reference and the exact wire content.
package krakendusage
