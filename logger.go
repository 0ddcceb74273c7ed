package krakendusage

import (
	"github.com/krakend-usage/krakend-usage/usage"
	"github.com/luraproject/lura/v2/logging"
)

const (
	// logPrefix marks the lines of the RunServer decorator.
	logPrefix = "[SERVICE: Usage]"
	// pluginLogPrefix marks the lines of the handler plugin.
	pluginLogPrefix = "[PLUGIN: krakend-usage]"
)

// prefixed puts a KrakenD-style component prefix in front of every line
// the reporter writes, so they stand out in the gateway's log stream.
type prefixed struct {
	l      usage.Logger
	prefix string
}

var _ usage.Logger = prefixed{}

func newPrefixed(l usage.Logger, prefix string) prefixed {
	if l == nil {
		l = logging.NoOp
	}
	return prefixed{l: l, prefix: prefix}
}

func (p prefixed) with(v []interface{}) []interface{} {
	return append([]interface{}{p.prefix}, v...)
}

func (p prefixed) Debug(v ...interface{})   { p.l.Debug(p.with(v)...) }
func (p prefixed) Info(v ...interface{})    { p.l.Info(p.with(v)...) }
func (p prefixed) Warning(v ...interface{}) { p.l.Warning(p.with(v)...) }
func (p prefixed) Error(v ...interface{})   { p.l.Error(p.with(v)...) }
