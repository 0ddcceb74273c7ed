package krakend

import (
	"slices"
	"sort"
)

// Other is the name every unknown component, method or word is counted as.
const Other = "other"

// namespaces3 are the extra_config namespaces of KrakenD 3.0, by their
// 3.0 names: every namespace of its config schema (krakend-schema v3.0,
// at every level: service, endpoint, backend, async agent, workflow, gRPC
// method), which KrakenD 2.13's schema has too. lura v3 and KrakenD 3.0
// components register these short names natively; 2.x releases map their
// legacy names to them ([LegacyAliases]). KrakenD Enterprise namespaces
// are in the schema and here, so that a config shared with an Enterprise
// gateway is counted by name. A name here is public: it may appear in a
// report, on a collector's dashboard and in its metrics.
var namespaces3 = []string{
	"ai/llm", "ai/mcp",
	"async/amqp", "async/kafka",
	"auth/api-keys", "auth/aws-sigv4", "auth/basic", "auth/client-credentials", "auth/gcp",
	"auth/ntlm", "auth/revoker", "auth/signer", "auth/validator",
	"backend/amqp/consumer", "backend/amqp/producer", "backend/conditional",
	"backend/graphql", "backend/grpc", "backend/http", "backend/http/client",
	"backend/lambda", "backend/pubsub/publisher", "backend/pubsub/publisher/kafka",
	"backend/pubsub/subscriber", "backend/pubsub/subscriber/kafka",
	"backend/soap", "backend/static-filesystem",
	"documentation/openapi", "documentation/postman",
	"governance/processors", "governance/quota",
	"grpc",
	"modifier/body-generator", "modifier/jmespath", "modifier/lua-backend",
	"modifier/lua-endpoint", "modifier/lua-proxy", "modifier/martian",
	"modifier/request-body-extractor", "modifier/request-body-extractor/early",
	"modifier/request-body-generator", "modifier/response-body",
	"modifier/response-body-generator", "modifier/response-headers",
	"plugin/http-client", "plugin/http-server", "plugin/middleware", "plugin/req-resp-modifier",
	"proxy",
	"qos/circuit-breaker", "qos/circuit-breaker/http", "qos/http-cache",
	"qos/ratelimit/proxy", "qos/ratelimit/router", "qos/ratelimit/router/redis",
	"qos/ratelimit/service", "qos/ratelimit/service/redis", "qos/ratelimit/tiered",
	"redis",
	"router",
	"security/bot-detector", "security/cors", "security/http", "security/policies",
	"server/static-filesystem", "server/virtualhost",
	"telemetry/gelf", "telemetry/logging", "telemetry/logstash", "telemetry/moesif",
	"telemetry/newrelic", "telemetry/opentelemetry", "telemetry/opentelemetry-security",
	"validation/cel", "validation/json-schema", "validation/response-json-schema",
	"websocket",
	"workflow",
}

// namespaces2 are the namespaces of KrakenD 2.x components that 3.0
// dropped (its schema no longer has them). They stay known, so that a 2.x
// gateway still counts them by name.
var namespaces2 = []string{"telemetry/influx", "telemetry/metrics", "telemetry/opencensus"}

// components are the current names of every known component: those of
// 3.0, then those of 2.x only.
var components = slices.Concat(namespaces3, namespaces2)

// LegacyAliases maps each legacy namespace to its component's current name.
// It is the `aliases` map of cmd/krakend-ce/main.go, identical in KrakenD
// CE 2.12.1, 2.13.2 and 2.13.8 (KrakenD registers it as
// config.ExtraConfigAlias[current] = legacy, so inside the stock binary a
// block written under the current name is found under the legacy one).
// A new release's map is checked against this one by the repository's
// tests; add its new entries here. KrakenD CE 3.0 registers at most the
// three plugin entries and lura v3 none: a 3.0 config uses the current
// names, and a legacy name in it is still counted under its current one.
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

// methods are the HTTP methods a payload counts by name; any other
// endpoint method is counted as [Other].
var methods = []string{"CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE"}

// KnownMethod reports whether m (upper case) is counted by name.
func KnownMethod(m string) bool { return slices.Contains(methods, m) }
