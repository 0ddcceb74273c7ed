package krakendusage

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/luraproject/lura/v2/config"
)

// Payload is the ExtraPayload sent with the first report: counts and
// nothing else. It never holds a host, a URL pattern, a header name, a
// plugin name, a namespace outside [KnownNamespaces] or any config value.
type Payload struct {
	// Endpoints is the number of endpoints.
	Endpoints int `json:"endpoints"`
	// Methods counts endpoints per HTTP method (upper case).
	Methods map[string]int `json:"methods"`
	// Backends is the number of backends over all endpoints.
	Backends int `json:"backends"`
	// AsyncAgents is the number of async agents.
	AsyncAgents int `json:"async_agents"`
	// Namespaces counts extra_config blocks per namespace, at every level
	// (service, endpoints, backends, async agents and their backends).
	// Only names of KnownNamespaces appear; any other is counted as "other".
	Namespaces map[string]int `json:"namespaces"`
}

// otherNamespace collects every namespace outside KnownNamespaces.
const otherNamespace = "other"

// KnownNamespaces are the extra_config namespaces of KrakenD and lura
// components that the payload counts by name. Legacy and lura names map to
// the current KrakenD name.
var KnownNamespaces = map[string]string{
	"auth/api-keys": "auth/api-keys", "auth/basic": "auth/basic",
	"auth/client-credentials": "auth/client-credentials", "auth/gcp": "auth/gcp",
	"auth/jose": "auth/jose", "auth/ntlm": "auth/ntlm", "auth/revoker": "auth/revoker",
	"auth/signer": "auth/signer", "auth/validator": "auth/validator",
	"async/amqp":                       "async/amqp",
	"backend/amqp/consumer":            "backend/amqp/consumer",
	"backend/amqp/producer":            "backend/amqp/producer",
	"backend/conditional":              "backend/conditional",
	"backend/graphql":                  "backend/graphql",
	"backend/grpc":                     "backend/grpc",
	"backend/http":                     "backend/http",
	"backend/http/client":              "backend/http/client",
	"backend/lambda":                   "backend/lambda",
	"backend/pubsub/publisher":         "backend/pubsub/publisher",
	"backend/pubsub/subscriber":        "backend/pubsub/subscriber",
	"backend/soap":                     "backend/soap",
	"backend/static-filesystem":        "backend/static-filesystem",
	"documentation/openapi":            "documentation/openapi",
	"grpc":                             "grpc",
	"modifier/body-generator":          "modifier/body-generator",
	"modifier/jmespath":                "modifier/jmespath",
	"modifier/lua-backend":             "modifier/lua-backend",
	"modifier/lua-endpoint":            "modifier/lua-endpoint",
	"modifier/lua-proxy":               "modifier/lua-proxy",
	"modifier/martian":                 "modifier/martian",
	"modifier/request-body-generator":  "modifier/request-body-generator",
	"modifier/response-body-generator": "modifier/response-body-generator",
	"modifier/response-headers":        "modifier/response-headers",
	"plugin/http-client":               "plugin/http-client",
	"plugin/http-server":               "plugin/http-server",
	"plugin/req-resp-modifier":         "plugin/req-resp-modifier",
	"proxy":                            "proxy",
	"qos/circuit-breaker":              "qos/circuit-breaker",
	"qos/http-cache":                   "qos/http-cache",
	"qos/ratelimit/proxy":              "qos/ratelimit/proxy",
	"qos/ratelimit/router":             "qos/ratelimit/router",
	"qos/ratelimit/service":            "qos/ratelimit/service",
	"qos/ratelimit/tiered":             "qos/ratelimit/tiered",
	"router":                           "router",
	"security/bot-detector":            "security/bot-detector",
	"security/cors":                    "security/cors",
	"security/http":                    "security/http",
	"security/policies":                "security/policies",
	"server/static-filesystem":         "server/static-filesystem",
	"server/virtualhost":               "server/virtualhost",
	"telemetry/gelf":                   "telemetry/gelf",
	"telemetry/influx":                 "telemetry/influx",
	"telemetry/logging":                "telemetry/logging",
	"telemetry/logstash":               "telemetry/logstash",
	"telemetry/metrics":                "telemetry/metrics",
	"telemetry/moesif":                 "telemetry/moesif",
	"telemetry/newrelic":               "telemetry/newrelic",
	"telemetry/opencensus":             "telemetry/opencensus",
	"telemetry/opentelemetry":          "telemetry/opentelemetry",
	"validation/cel":                   "validation/cel",
	"validation/json-schema":           "validation/json-schema",
	"websocket":                        "websocket",
	// lura's own names, as a config normalised with aliases carries them.
	"github_com/luraproject/lura/router/gin":                        "router",
	"github.com/devopsfaith/krakend/proxy":                          "proxy",
	"github.com/devopsfaith/krakend/http":                           "backend/http",
	"github_com/devopsfaith/krakend/transport/http/server/handler":  "plugin/http-server",
	"github.com/devopsfaith/krakend/transport/http/client/executor": "plugin/http-client",
	"github.com/devopsfaith/krakend/proxy/plugin":                   "plugin/req-resp-modifier",
	"github.com/devopsfaith/krakend/transport/http/client/graphql":  "backend/graphql",
}

// NewPayload counts the endpoints, methods, backends, async agents and
// extra_config namespaces of cfg. This reporter's own block is not counted.
func NewPayload(cfg config.ServiceConfig) Payload {
	p := Payload{
		Endpoints:   len(cfg.Endpoints),
		AsyncAgents: len(cfg.AsyncAgents),
		Methods:     map[string]int{},
		Namespaces:  map[string]int{},
	}
	p.count(cfg.ExtraConfig)
	for _, e := range cfg.Endpoints {
		if e == nil {
			continue
		}
		m := strings.ToUpper(e.Method)
		switch m {
		case "":
			m = http.MethodGet
		case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete,
			http.MethodHead, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		default:
			m = otherNamespace // a method is config text: never send one we do not know
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
	for _, a := range cfg.AsyncAgents {
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

func (p *Payload) count(e config.ExtraConfig) {
	for ns := range e {
		if ns == Namespace {
			continue
		}
		name, ok := KnownNamespaces[ns]
		if !ok {
			name = otherNamespace
		}
		p.Namespaces[name]++
	}
}

// JSON returns the payload as compact JSON (map keys sorted).
func (p Payload) JSON() []byte {
	b, err := json.Marshal(p)
	if err != nil { // cannot happen: only ints and maps of ints
		return nil
	}
	return b
}
