package krakend

import (
	"encoding/json"
	"strings"
)

// How the gateway extension runs ([Payload.Mode]).
const (
	// ModePlugin: the handler plugin (.so) loaded by a stock KrakenD.
	ModePlugin = "plugin"
	// ModeDecorator: the RunServer decorator compiled into a custom build.
	ModeDecorator = "decorator"
	// ModeWrapper: the krakend-usage command running the gateway as its
	// child process (krakend-usage run -- krakend run ...).
	ModeWrapper = "wrapper"
	// ModeSidecar: the krakend-usage command beside the gateway in another
	// container, sharing its config file and network (krakend-usage sidecar).
	ModeSidecar = "sidecar"
)

// The C library of the gateway process ([Payload.Libc]).
const (
	// LibcGlibc: linked against glibc (KrakenD's Debian and RPM packages).
	LibcGlibc = "glibc"
	// LibcMusl: linked against musl (the official Alpine Docker image).
	LibcMusl = "musl"
	// LibcNone: a statically linked binary with no C library (a custom
	// build with CGO_ENABLED=0).
	LibcNone = "none"
)

// Payload is the extra payload of a KrakenD gateway's first report: counts
// and fixed words, nothing else. It never holds a host, a URL pattern, a
// header, a plugin name, a namespace outside [Components], a config value
// or a secret. Its JSON encoding is what the report's extra field carries
// (base64 on the wire, as Go encodes []byte).
type Payload struct {
	// Endpoints is the number of endpoints.
	Endpoints int `json:"endpoints"`
	// Methods counts endpoints per HTTP method: those [KnownMethod]
	// accepts by name, any other as [Other].
	Methods map[string]int `json:"methods"`
	// Backends is the number of backends over all endpoints.
	Backends int `json:"backends"`
	// AsyncAgents is the number of async agents.
	AsyncAgents int `json:"async_agents"`
	// Namespaces counts extra_config blocks per component, at every level
	// (service, endpoints, backends, async agents and their backends), by
	// current name ([Canonical]); any other namespace counts as [Other].
	Namespaces map[string]int `json:"namespaces"`
	// Mode is how the extension runs: [ModePlugin], [ModeDecorator],
	// [ModeWrapper] or [ModeSidecar].
	// Empty (omitted) in payloads from earlier versions.
	Mode string `json:"mode,omitempty"`
	// Libc is the gateway process's C library: [LibcGlibc], [LibcMusl] or
	// [LibcNone]. Empty (omitted) in payloads from earlier versions.
	Libc string `json:"libc,omitempty"`
}

// JSON returns p as compact JSON, map keys sorted.
func (p Payload) JSON() []byte {
	b, err := json.Marshal(p)
	if err != nil { // cannot happen: ints, strings and maps of ints
		return nil
	}
	return b
}

// KnownMode reports whether s is one of the Mode words.
func KnownMode(s string) bool {
	switch s {
	case ModePlugin, ModeDecorator, ModeWrapper, ModeSidecar:
		return true
	}
	return false
}

// KnownLibc reports whether s is one of the Libc words.
func KnownLibc(s string) bool { return s == LibcGlibc || s == LibcMusl || s == LibcNone }

// httpServerPlugin is the namespace of lura's http-server plugins, where
// the handler plugin's own block lives.
const httpServerPlugin = "plugin/http-server"

// Payload counts the endpoints, methods, backends, async agents and
// extra_config namespaces of s, every namespace by its current name. This
// extension's own settings are not counted (see [Service.Digest]): an
// http-server plugin block counts only when it configures another plugin.
// Mode and Libc are left for the caller.
func (s *Service) Payload() Payload {
	p := Payload{
		Endpoints:   len(s.Endpoints),
		AsyncAgents: len(s.AsyncAgents),
		Methods:     map[string]int{},
		Namespaces:  map[string]int{},
	}
	p.count(withoutUsage(s.ExtraConfig))
	for _, e := range s.Endpoints {
		if e == nil {
			continue
		}
		m := strings.ToUpper(e.Method)
		switch {
		case m == "":
			m = "GET" // lura's default
		case !KnownMethod(m):
			m = Other // a method is config text: never send one we do not know
		}
		p.Methods[m]++
		p.Backends += len(e.Backend)
		p.count(e.ExtraConfig)
		for _, b := range e.Backend {
			if b != nil {
				p.count(b.ExtraConfig)
			}
		}
	}
	for _, a := range s.AsyncAgents {
		if a == nil {
			continue
		}
		p.count(a.ExtraConfig)
		for _, b := range a.Backend {
			if b != nil {
				p.count(b.ExtraConfig)
			}
		}
	}
	return p
}

func (p *Payload) count(e map[string]interface{}) {
	for ns := range e {
		if ns == Namespace {
			continue
		}
		name, ok := Canonical(ns)
		if !ok {
			name = Other
		}
		p.Namespaces[name]++
	}
}
