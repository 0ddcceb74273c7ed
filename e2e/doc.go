// Package e2e holds the suites that run the reporter in real gateways and
// across hosts: the stock KrakenD of every supported release with the
// plugin built for it, the example gateways, the krakend-usage wrapper and
// sidecar, the container images, and the real collector; and the checks
// of the release pins, the scripts and the documentation's build snippets.
// It has no code of its own: see README.md for each suite, what it needs
// and how it is skipped.
//
// It is a module of its own so that what only these tests need
// (go.yaml.in/yaml/v3, golang.org/x/mod) stays out of the plugin's module.
// The tests run from the repository root (TestMain changes to it), so the
// paths they name are the repository's.
package e2e
