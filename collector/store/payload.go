package store

import (
	"cmp"
	"encoding/json"
	"math"
	"slices"

	"github.com/krakend-usage/krakend-usage/usage/krakend"
)

// Bounds on what a payload contributes to the rollups. A hostile reporter
// can send any JSON; these keep each report's share of the counters small.
const (
	// MaxNameLen is the longest feature or method name counted by name;
	// a longer or odd one is counted as "other".
	MaxNameLen = 64
	// MaxNames is how many distinct features (and methods) one payload
	// contributes; the rest are folded into "other".
	MaxNames = 96
)

// Other is the value every breakdown folds its tail into.
const Other = "other"

// Payload is what the rollups use from a report's extra payload: the
// counts the krakend-usage gateway extension sends (endpoints, methods,
// backends, namespaces). It is parsed once, before the report is queued
// for the writer, by [ParsePayload].
type Payload struct {
	// Present: the report carried an extra payload (possibly opaque or
	// omitted for its size). A report without one keeps its server's
	// previous payload; a report with one replaces it.
	Present bool `json:"-"`
	// Endpoints and Backends are -1 when the payload did not hold them.
	Endpoints int64 `json:"e"`
	Backends  int64 `json:"b"`
	// Methods and Features are the HTTP methods and extra_config
	// namespaces with a count above zero, sorted, bounded by MaxNames.
	Methods  []string `json:"m,omitempty"`
	Features []string `json:"f,omitempty"`
	// Mode and Libc are the install channel: a word of usage/krakend
	// (krakend.ModePlugin, krakend.LibcMusl, ...), Other for a word it
	// does not know, "" when the payload did not say (earlier versions).
	Mode string `json:"mo,omitempty"`
	Libc string `json:"lc,omitempty"`
}

// Unknown is the channel word of a payload that did not say.
const Unknown = "unknown"

// Channel is the install channel of p as "mode/libc" (plugin/musl,
// decorator/glibc, unknown/unknown, ...), "" without a payload.
func (p *Payload) Channel() string {
	if p == nil || !p.Present {
		return ""
	}
	return cmp.Or(p.Mode, Unknown) + "/" + cmp.Or(p.Libc, Unknown)
}

// ParsePayload reads a gateway payload with [DefaultNames].
func ParsePayload(extra []byte, omitted bool) *Payload {
	return DefaultNames.Parse(extra, omitted)
}

// Parse reads a gateway payload, counting by name only what n allows.
// Anything that is not the gateway extension's JSON object (the original
// client's opaque bytes, a payload omitted for its size) is Present with
// no counts and no features.
func (n *Names) Parse(extra []byte, omitted bool) *Payload {
	p := &Payload{Present: omitted || len(extra) > 0, Endpoints: -1, Backends: -1}
	if omitted || len(extra) == 0 {
		return p
	}
	var v struct {
		Endpoints  json.Number                `json:"endpoints"`
		Backends   json.Number                `json:"backends"`
		Methods    map[string]json.RawMessage `json:"methods"`
		Namespaces map[string]json.RawMessage `json:"namespaces"`
		Mode       *string                    `json:"mode"`
		Libc       *string                    `json:"libc"`
	}
	// A payload that is not an object fails here, and so does one whose
	// fields have the wrong types: it counts as having no features.
	if json.Unmarshal(extra, &v) != nil {
		return p
	}
	p.Endpoints = count(v.Endpoints)
	p.Backends = count(v.Backends)
	p.Methods = names(v.Methods, n.Method)
	p.Features = names(v.Namespaces, n.Feature)
	p.Mode = word(v.Mode, krakend.KnownMode)
	p.Libc = word(v.Libc, krakend.KnownLibc)
	return p
}

// word is a fixed word as sent when known, Other when not, "" when absent.
func word(s *string, known func(string) bool) string {
	switch {
	case s == nil || *s == "":
		return ""
	case known(*s):
		return *s
	}
	return Other
}

// count is a non-negative integer JSON number, or -1.
func count(n json.Number) int64 {
	if n == "" {
		return -1
	}
	if i, err := n.Int64(); err == nil && i >= 0 {
		return i
	}
	if f, err := n.Float64(); err == nil && f >= 0 && f < 1e12 && f == math.Trunc(f) {
		return int64(f)
	}
	return -1
}

// names returns the keys of m whose count is a positive number, sorted,
// each as norm names it (the allowlist: a name or Other). Two spellings
// of one component (current and legacy) count once.
func names(m map[string]json.RawMessage, norm func(string) string) []string {
	seen := map[string]bool{}
	for k, raw := range m {
		var n json.Number
		if json.Unmarshal(raw, &n) != nil || count(n) <= 0 {
			continue
		}
		k = norm(k)
		if !validName(k) || (len(seen) >= MaxNames-1 && !seen[k]) {
			k = Other
		}
		seen[k] = true
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// validName: 1 to MaxNameLen characters of [A-Za-z0-9_./-], the alphabet
// of KrakenD namespaces and HTTP methods. Nothing else reaches a counter.
func validName(s string) bool {
	if s == "" || len(s) > MaxNameLen {
		return false
	}
	for _, c := range []byte(s) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '_' || c == '.' || c == '/' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}

// Endpoints extracts the endpoint count from an extra payload written by
// the krakend-usage gateway extension: a JSON object with a numeric
// "endpoints" field. Anything else yields ok false.
func Endpoints(extra []byte) (n int64, ok bool) {
	p := ParsePayload(extra, false)
	return p.Endpoints, p.Endpoints >= 0
}
