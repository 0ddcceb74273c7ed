// Package compat holds the tests and benchmarks that need the original
// krakend-usage v2 module and github.com/catalinc/hashcash. It is a module of
// its own so that neither reaches the root module's dependency graph, which
// the gateway plugin shares with the gateway binary.
package compat
