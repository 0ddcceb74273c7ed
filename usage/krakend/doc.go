// Package krakend is the gateway extension itself, written once for every
// way into a KrakenD or lura gateway: the lura v2 decorator and handler
// plugin (the repository root), the lura v3 adapter (module lura3) and the
// krakend-usage command beside any KrakenD (cmd/krakend-usage) are thin
// glue over it. It knows no lura version and imports only the standard
// library and package [github.com/krakend-usage/krakend-usage/usage] of its
// own module.
//
// # What it holds
//
//   - Configuration: [Namespace] ("telemetry/usage") and [PluginName]
//     ("krakend-usage"), [Config], [ConfigGetter] and [PluginConfigGetter]
//     (a *[ConfigError] names a bad key, [ErrNoConfig] means no block),
//     [FindBlock] for a process that may find either block.
//   - What a configuration says: [DescribeService] (a lura config struct of
//     any version) or [ParseService] (the JSON of a config file) give a
//     [Service], whose [Service.Digest] is the host-independent digest the
//     cluster ID comes from and whose [Service.Payload] is the extra payload
//     of the first report ([Payload]: counts and fixed words only).
//   - Identity: [ClusterID] and [ServerID] map a digest, an instance
//     identity ([InstanceIdentity]: machine ID, else hostname) and a port to
//     name-based UUIDs, so that no raw value leaves the machine.
//   - Starting and stopping: an adapter describes its gateway with a [Host]
//     and calls [Decorate] (a RunServer decorator of any lura version) or
//     [Start] (the off switches, [OffSwitch]; the config errors logged once;
//     the reporter started in the background, stopped with its context).
//     [FirstRequests] builds the requests a dry run prints; [Prefixed] and
//     [LogPrefix] tag the log lines as KrakenD components do.
//   - The gateway binary: [ReadBinary] reads the version, lura major and
//     libc of a KrakenD binary for the process beside it; [Libc] is the
//     running process's.
//   - The payload's schema, shared with the collector: the table of KrakenD
//     components the payload may name ([Components], [Canonical],
//     [LegacyAliases]) and the words it may carry ([KnownMode],
//     [KnownLibc], [KnownMethod]).
//
// A collector reads a [Payload] and counts a component by name only when
// [Canonical] knows it; keeping the table here, once, means the reporter
// and the collector cannot disagree about which names exist.
//
// # Legacy names
//
// KrakenD CE's main fills lura's config.ExtraConfigAlias with the legacy
// namespace of many components (github.com/devopsfaith/krakend-httpcache
// for qos/http-cache, for example), so inside the stock binary those
// components are found under their legacy key, whatever name the operator
// wrote. [Canonical] maps every legacy name of every supported KrakenD
// release back to the current one, so the same configuration gives the
// same counts in every host.
//
// # Current names
//
// The current names are KrakenD 3.0's: every namespace of its config
// schema (which 2.13's schema shares), plus the 2.x components that 3.0
// dropped (telemetry/metrics, telemetry/influx, telemetry/opencensus).
// KrakenD 3.0 registers no legacy aliases beyond, at most, those of its
// plugins: its components read their short names natively.
package krakend
