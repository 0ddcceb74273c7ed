// Package interop tests the collector against the reporters that talk to
// it: the original github.com/krakend/krakend-usage/v2 client and this
// repository's usage package. It is a module of its own so the original
// client never enters the collector's (or the plugin's) module graph.
package interop
