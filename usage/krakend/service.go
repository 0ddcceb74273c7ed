package krakend

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// Service is the part of a gateway's parsed configuration that the
// extension reads: what makes up the cluster's digest ([Service.Digest])
// and its counts ([Service.Payload]).
//
// It is decoded from the JSON encoding of lura's config.ServiceConfig, of
// any lura major ([ParseService]). lura's config structs carry no json
// tags, so that encoding names every field by its Go name, and those names
// have not changed from lura v2.12 to v3. Only fields present in every
// supported lura version are read, so a field a newer lura adds (lura 2.14's
// MaxShutdownDuration, say) cannot change a digest on upgrade. Left out on
// purpose from the digest: Name, a label; Port, which belongs to the server ID (two instances of one
// config on one host are two servers of one cluster), and Plugin, where
// the host loads plugins from (and which lura v3 may drop).
type Service struct {
	Name           string
	Endpoints      []*Endpoint
	AsyncAgents    []*AsyncAgent
	Timeout        int64
	CacheTTL       int64
	Host           []string
	Address        string
	Version        int
	OutputEncoding string
	ExtraConfig    map[string]interface{}

	ReadTimeout              int64
	WriteTimeout             int64
	IdleTimeout              int64
	ReadHeaderTimeout        int64
	MaxHeaderBytes           int
	DisableKeepAlives        bool
	DisableCompression       bool
	MaxIdleConns             int
	MaxIdleConnsPerHost      int
	IdleConnTimeout          int64
	ResponseHeaderTimeout    int64
	ExpectContinueTimeout    int64
	DialerTimeout            int64
	DialerFallbackDelay      int64
	DialerKeepAlive          int64
	DisableStrictREST        bool
	TLS                      json.RawMessage
	ClientTLS                json.RawMessage
	UseH2C                   bool
	Debug                    bool
	Echo                     bool
	SequentialStart          bool
	AllowInsecureConnections bool
	DNSCacheTTL              int64

	// Port is the listening port: read for the server ID, never digested.
	Port int `json:"-"`
}

// Endpoint is the part of lura's config.EndpointConfig the extension reads.
type Endpoint struct {
	Endpoint        string
	Method          string
	Backend         []*Backend
	ConcurrentCalls int
	Timeout         int64
	CacheTTL        int64
	QueryString     []string
	ExtraConfig     map[string]interface{}
	HeadersToPass   []string
	OutputEncoding  string
}

// Backend is the part of lura's config.Backend the extension reads.
type Backend struct {
	Group                    string
	Method                   string
	Host                     []string
	HostSanitizationDisabled bool
	URLPattern               string
	AllowList                []string
	DenyList                 []string
	Mapping                  map[string]string
	Encoding                 string
	IsCollection             bool
	Target                   string
	SD                       string
	SDScheme                 string
	ExtraConfig              map[string]interface{}
	HeadersToPass            []string
	QueryStringsToPass       []string
}

// AsyncAgent is the part of lura's config.AsyncAgent the extension reads.
type AsyncAgent struct {
	Name        string
	Connection  json.RawMessage
	Consumer    json.RawMessage
	Encoding    string
	Backend     []*Backend
	ExtraConfig map[string]interface{}
}

// ParseService decodes the JSON encoding of a lura config.ServiceConfig
// (json.Marshal of it, any lura major). Numbers in extra_config keep their
// text, so a digest never depends on float rounding.
func ParseService(b []byte) (*Service, error) {
	var raw struct {
		Service
		Port int
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("krakend-usage: reading the service config: %w", err)
	}
	s := raw.Service
	s.Port = raw.Port
	return &s, nil
}

// DescribeService is [ParseService] of json.Marshal(cfg), for an adapter
// that holds a lura config.ServiceConfig.
func DescribeService(cfg interface{}) (*Service, error) {
	b, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("krakend-usage: encoding the service config: %w", err)
	}
	return ParseService(b)
}

// digestVersion prefixes every digest. It changes only if the canonical
// form does, which changes every cluster ID once.
const digestVersion = "service-v1:"

// Digest is a digest of the configuration that does not depend on the
// host: the SHA-256 of the canonical JSON of s, with every extra_config
// namespace under its current name ([Canonical]), zero values left out,
// and without this extension's own settings (its Namespace block and its
// block in the http-server plugin config), so that turning dry_run on
// shows the IDs that would really be sent. The same configuration gives
// the same digest in the example gateway, in every KrakenD release, glibc
// or musl, lura v2 or v3; any change to it gives another one. It never
// leaves the machine: the cluster ID is a UUID derived from it.
func (s *Service) Digest() string {
	sum := sha256.Sum256(s.canonicalJSON())
	return digestVersion + hex.EncodeToString(sum[:])
}

// canonicalJSON is what Digest hashes.
func (s *Service) canonicalJSON() []byte {
	c := *s
	c.Name = "" // a label: renaming a gateway does not make it another cluster
	c.ExtraConfig = canonicalExtra(withoutUsage(s.ExtraConfig))
	c.Endpoints = make([]*Endpoint, 0, len(s.Endpoints))
	for _, e := range s.Endpoints {
		if e == nil {
			continue
		}
		ce := *e
		ce.ExtraConfig = canonicalExtra(e.ExtraConfig)
		ce.Backend = canonicalBackends(e.Backend)
		c.Endpoints = append(c.Endpoints, &ce)
	}
	c.AsyncAgents = make([]*AsyncAgent, 0, len(s.AsyncAgents))
	for _, a := range s.AsyncAgents {
		if a == nil {
			continue
		}
		ca := *a
		ca.ExtraConfig = canonicalExtra(a.ExtraConfig)
		ca.Backend = canonicalBackends(a.Backend)
		c.AsyncAgents = append(c.AsyncAgents, &ca)
	}
	b, err := json.Marshal(c)
	if err != nil { // cannot happen: decoded from JSON
		b = []byte(err.Error())
	}
	var v interface{}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if dec.Decode(&v) == nil {
		v = dropZero(v)
		b, _ = json.Marshal(v) // map keys sorted: canonical
	}
	return b
}

func canonicalBackends(bs []*Backend) []*Backend {
	out := make([]*Backend, 0, len(bs))
	for _, b := range bs {
		if b == nil {
			continue
		}
		cb := *b
		cb.ExtraConfig = canonicalExtra(b.ExtraConfig)
		out = append(out, &cb)
	}
	return out
}

// canonicalExtra renames every known namespace to its current name. A
// config naming one component under both spellings keeps both blocks, in
// a stable order.
func canonicalExtra(e map[string]interface{}) map[string]interface{} {
	if len(e) == 0 {
		return nil
	}
	out := make(map[string]interface{}, len(e))
	for k, v := range e {
		name, ok := Canonical(k)
		if !ok {
			name = k
		}
		if _, dup := out[name]; dup {
			// Both spellings present: keep each under a key of its own.
			out[name+"\x00"+k] = v
			continue
		}
		out[name] = v
	}
	return out
}

// withoutUsage returns a copy of a service extra_config without this
// extension's settings: the Namespace block, and in the http-server plugin
// config (under any spelling of its namespace) the PluginName block and
// name. An http-server block left with no plugin is dropped: enabling the
// extension as a plugin or as a decorator is the same configuration.
func withoutUsage(e map[string]interface{}) map[string]interface{} {
	out := make(map[string]interface{}, len(e))
	for k, v := range e {
		if k == Namespace {
			continue
		}
		if name, _ := Canonical(k); name == httpServerPlugin {
			if m, ok := v.(map[string]interface{}); ok {
				if m = withoutPlugin(m); m == nil {
					continue
				}
				v = m
			}
		}
		out[k] = v
	}
	return out
}

// withoutPlugin returns a copy of an http-server plugin block without this
// plugin, or nil when no other plugin is left in it.
func withoutPlugin(m map[string]interface{}) map[string]interface{} {
	cp := make(map[string]interface{}, len(m))
	for k, v := range m {
		if k != PluginName {
			cp[k] = v
		}
	}
	switch names := m["name"].(type) {
	case []interface{}:
		kept := make([]interface{}, 0, len(names))
		for _, n := range names {
			if n != PluginName {
				kept = append(kept, n)
			}
		}
		cp["name"] = kept
		if len(kept) == 0 {
			delete(cp, "name")
		}
	case string:
		if names == PluginName {
			delete(cp, "name")
		}
	}
	if len(cp) == 0 {
		return nil
	}
	return cp
}

// dropZero removes null, false, 0, "" and empty objects and arrays from
// objects, recursively, so that a field one lura version leaves at its
// zero value and another does not have at all digest the same. Array
// elements are kept in place (their position is meaningful).
func dropZero(v interface{}) interface{} {
	switch x := v.(type) {
	case map[string]interface{}:
		for k, y := range x {
			y = dropZero(y)
			if isZero(y) {
				delete(x, k)
				continue
			}
			x[k] = y
		}
		return x
	case []interface{}:
		for i, y := range x {
			x[i] = dropZero(y)
		}
		return x
	}
	return v
}

func isZero(v interface{}) bool {
	switch x := v.(type) {
	case nil:
		return true
	case bool:
		return !x
	case string:
		return x == ""
	case json.Number:
		f, err := x.Float64()
		return err == nil && f == 0
	case map[string]interface{}:
		return len(x) == 0
	case []interface{}:
		return len(x) == 0
	}
	return false
}
