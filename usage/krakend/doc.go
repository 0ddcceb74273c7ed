// Package krakend is what a KrakenD gateway's usage report says about its
// configuration: the schema of the extra payload ([Payload]) and the table
// of KrakenD components it may name ([Components], [Canonical]).
//
// It is shared by the two ends. The gateway extension builds a [Payload]
// from the configuration it runs; a collector reads one and counts a
// component by name only when [Canonical] knows it. Keeping the table here,
// once, means the reporter and the collector cannot disagree about which
// names exist.
//
// The package knows no lura version and imports only the standard library.
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
