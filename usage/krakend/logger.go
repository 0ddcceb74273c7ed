package krakend

import "github.com/krakend-usage/krakend-usage/usage"

const (
	// LogPrefix marks the lines of the RunServer decorator.
	LogPrefix = "[SERVICE: Usage]"
	// PluginLogPrefix marks the lines of the handler plugin.
	PluginLogPrefix = "[PLUGIN: krakend-usage]"
)

// Prefixed puts a KrakenD-style component prefix (LogPrefix or
// PluginLogPrefix) in front of every line l writes, so they stand out in
// the gateway's log stream. A nil l discards every line.
func Prefixed(l usage.Logger, prefix string) usage.Logger {
	if l == nil {
		l = noOp{}
	}
	return prefixed{l: l, prefix: prefix}
}

type prefixed struct {
	l      usage.Logger
	prefix string
}

func (p prefixed) with(v []interface{}) []interface{} {
	return append([]interface{}{p.prefix}, v...)
}

func (p prefixed) Debug(v ...interface{})   { p.l.Debug(p.with(v)...) }
func (p prefixed) Info(v ...interface{})    { p.l.Info(p.with(v)...) }
func (p prefixed) Warning(v ...interface{}) { p.l.Warning(p.with(v)...) }
func (p prefixed) Error(v ...interface{})   { p.l.Error(p.with(v)...) }

// noOp discards every line.
type noOp struct{}

func (noOp) Debug(...interface{})   {}
func (noOp) Info(...interface{})    {}
func (noOp) Warning(...interface{}) {}
func (noOp) Error(...interface{})   {}
