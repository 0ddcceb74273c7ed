package krakend

import (
	"slices"
	"sort"
)

// Other is the name every unknown component, method or word is counted as.
const Other = "other"

// components are the current namespaces of KrakenD CE and lura components
// (KrakenD Enterprise namespaces that CE configs carry too are included so
// that a shared config is counted by name). A name here is public: it may
// appear in a report, on a collector's dashboard and in its metrics.
var components = []string{
	"async/amqp",
	"auth/api-keys", "auth/basic", "auth/client-credentials", "auth/gcp", "auth/jose",
	"auth/ntlm", "auth/revoker", "auth/signer", "auth/validator",
	"backend/amqp/consumer", "backend/amqp/producer", "backend/conditional",
	"backend/graphql", "backend/grpc", "backend/http", "backend/http/client",
	"backend/lambda", "backend/pubsub/publisher", "backend/pubsub/subscriber",
	"backend/soap", "backend/static-filesystem",
	"documentation/openapi",
	"grpc",
	"modifier/body-generator", "modifier/jmespath", "modifier/lua-backend",
	"modifier/lua-endpoint", "modifier/lua-proxy", "modifier/martian",
	"modifier/request-body-generator", "modifier/response-body-generator",
	"modifier/response-headers",
	"plugin/http-client", "plugin/http-server", "plugin/req-resp-modifier",
	"proxy",
	"qos/circuit-breaker", "qos/http-cache", "qos/ratelimit/proxy",
	"qos/ratelimit/router", "qos/ratelimit/service", "qos/ratelimit/tiered",
	"router",
	"security/bot-detector", "security/cors", "security/http", "security/policies",
	"server/static-filesystem", "server/virtualhost",
	"telemetry/gelf", "telemetry/influx", "telemetry/logging", "telemetry/logstash",
	"telemetry/metrics", "telemetry/moesif", "telemetry/newrelic",
	"telemetry/opencensus", "telemetry/opentelemetry",
	"validation/cel", "validation/json-schema",
	"websocket",
}

// LegacyAliases maps each legacy namespace to its component's current name.
// It is the `aliases` map of cmd/krakend-ce/main.go, identical in KrakenD
// CE 2.12.1, 2.13.2 and 2.13.8 (KrakenD registers it as
// config.ExtraConfigAlias[current] = legacy, so inside the stock binary a
// block written under the current name is found under the legacy one).
// A new release's map is checked against this one by the repository's
// tests; add its new entries here.
var LegacyAliases = map[string]string{
	"github_com/devopsfaith/krakend/transport/http/server/handler":  "plugin/http-server",
	"github.com/devopsfaith/krakend/transport/http/client/executor": "plugin/http-client",
	"github.com/devopsfaith/krakend/proxy/plugin":                   "plugin/req-resp-modifier",
	"github.com/devopsfaith/krakend/proxy":                          "proxy",
	"github_com/luraproject/lura/router/gin":                        "router",

	"github.com/devopsfaith/krakend-httpcache":                "qos/http-cache",
	"github.com/devopsfaith/krakend-circuitbreaker/gobreaker": "qos/circuit-breaker",

	"github.com/devopsfaith/krakend-oauth2-clientcredentials": "auth/client-credentials",
	"github.com/devopsfaith/krakend-jose/validator":           "auth/validator",
	"github.com/devopsfaith/krakend-jose/signer":              "auth/signer",
	"github_com/devopsfaith/bloomfilter":                      "auth/revoker",

	"github_com/devopsfaith/krakend-botdetector": "security/bot-detector",
	"github_com/devopsfaith/krakend-httpsecure":  "security/http",
	"github_com/devopsfaith/krakend-cors":        "security/cors",

	"github.com/devopsfaith/krakend-cel":        "validation/cel",
	"github.com/devopsfaith/krakend-jsonschema": "validation/json-schema",

	"github.com/devopsfaith/krakend-amqp/agent": "async/amqp",

	"github.com/devopsfaith/krakend-amqp/consume":                  "backend/amqp/consumer",
	"github.com/devopsfaith/krakend-amqp/produce":                  "backend/amqp/producer",
	"github.com/devopsfaith/krakend-lambda":                        "backend/lambda",
	"github.com/devopsfaith/krakend-pubsub/publisher":              "backend/pubsub/publisher",
	"github.com/devopsfaith/krakend-pubsub/subscriber":             "backend/pubsub/subscriber",
	"github.com/devopsfaith/krakend/transport/http/client/graphql": "backend/graphql",
	"github.com/devopsfaith/krakend/http":                          "backend/http",

	"github_com/devopsfaith/krakend-gelf":       "telemetry/gelf",
	"github_com/devopsfaith/krakend-gologging":  "telemetry/logging",
	"github_com/devopsfaith/krakend-logstash":   "telemetry/logstash",
	"github_com/devopsfaith/krakend-metrics":    "telemetry/metrics",
	"github_com/letgoapp/krakend-influx":        "telemetry/influx",
	"github_com/devopsfaith/krakend-opencensus": "telemetry/opencensus",

	"github.com/devopsfaith/krakend-lua/router":        "modifier/lua-endpoint",
	"github.com/devopsfaith/krakend-lua/proxy":         "modifier/lua-proxy",
	"github.com/devopsfaith/krakend-lua/proxy/backend": "modifier/lua-backend",
	"github.com/devopsfaith/krakend-martian":           "modifier/martian",
}

// canonical maps every accepted spelling (current or legacy) to the
// current name.
var canonical = func() map[string]string {
	m := make(map[string]string, len(components)+len(LegacyAliases))
	for _, c := range components {
		m[c] = c
	}
	for legacy, c := range LegacyAliases {
		m[legacy] = c
	}
	return m
}()

// Canonical returns the current name of the component whose extra_config
// namespace is ns (current or legacy), and whether the table knows it.
func Canonical(ns string) (string, bool) {
	c, ok := canonical[ns]
	return c, ok
}

// Known reports whether name is the current name of a known component.
func Known(name string) bool {
	c, ok := canonical[name]
	return ok && c == name
}

// Components returns the current name of every known component, sorted.
// The slice is a copy.
func Components() []string {
	out := slices.Clone(components)
	sort.Strings(out)
	return out
}

// Methods are the HTTP methods a payload counts by name; any other
// endpoint method is counted as [Other].
var methods = []string{"CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE"}

// Methods returns the HTTP methods counted by name, sorted. The slice is a
// copy.
func Methods() []string { return slices.Clone(methods) }

// KnownMethod reports whether m (upper case) is counted by name.
func KnownMethod(m string) bool { return slices.Contains(methods, m) }
