package krakend

import "encoding/json"

// How the gateway extension runs ([Payload.Mode]).
const (
	// ModePlugin: the handler plugin (.so) loaded by a stock KrakenD.
	ModePlugin = "plugin"
	// ModeDecorator: the RunServer decorator compiled into a custom build.
	ModeDecorator = "decorator"
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
	// Methods counts endpoints per HTTP method: the names of [Methods], any
	// other method as [Other].
	Methods map[string]int `json:"methods"`
	// Backends is the number of backends over all endpoints.
	Backends int `json:"backends"`
	// AsyncAgents is the number of async agents.
	AsyncAgents int `json:"async_agents"`
	// Namespaces counts extra_config blocks per component, at every level
	// (service, endpoints, backends, async agents and their backends), by
	// current name ([Canonical]); any other namespace counts as [Other].
	Namespaces map[string]int `json:"namespaces"`
	// Mode is how the extension runs: [ModePlugin] or [ModeDecorator].
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
func KnownMode(s string) bool { return s == ModePlugin || s == ModeDecorator }

// KnownLibc reports whether s is one of the Libc words.
func KnownLibc(s string) bool { return s == LibcGlibc || s == LibcMusl || s == LibcNone }
