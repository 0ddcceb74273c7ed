package krakendusage

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/krakend-usage/krakend-usage/internal/testenv"
	"github.com/luraproject/lura/v2/config"
	serverplugin "github.com/luraproject/lura/v2/transport/http/server/plugin"
)

// exampleTestConfig has 5 endpoints (3 GET, 1 POST, 1 DELETE), 7 backends,
// 1 async agent, and known, aliased and unknown namespaces.
const exampleTestConfig = `{
  "version": 3,
  "name": "markername gateway",
  "port": 8080,
  "host": ["http://markerhost-default.invalid"],
  "extra_config": {
    "telemetry/usage": {"url": "http://localhost:8090"},
    "plugin/http-server": {"name": ["krakend-usage", "markerplugin"], "krakend-usage": {"url": "http://localhost:8090"}, "markerplugin": {"key": "markersecret"}},
    "security/cors": {"allow_origins": ["http://markerhost-cors.invalid"]},
    "marker/namespace": {"token": "markersecret"}
  },
  "endpoints": [
    {"endpoint": "/markerpath/one", "backend": [{"url_pattern": "/markerbackendpath/1"}]},
    {"endpoint": "/markerpath/two/{id}", "method": "get", "input_headers": ["X-Marker-Header"],
     "extra_config": {"qos/ratelimit/router": {"max_rate": 10}},
     "backend": [{"host": ["http://markerhost-a.invalid"], "url_pattern": "/a/{id}?q=markerquery"},
                 {"host": ["http://markerhost-b.invalid"], "url_pattern": "/b/{id}", "extra_config": {"qos/circuit-breaker": {"interval": 60}, "github.com/devopsfaith/krakend/http": {"return_error_details": "markersecret"}}}]},
    {"endpoint": "/markerpath/three", "method": "POST", "backend": [{"url_pattern": "/c", "method": "POST"}]},
    {"endpoint": "/markerpath/four", "method": "DELETE", "backend": [{"url_pattern": "/d", "method": "DELETE", "extra_config": {"markersecret/ns": {}}}]},
    {"endpoint": "/markerpath/five", "backend": [{"url_pattern": "/e"}, {"url_pattern": "/f"}]}
  ],
  "async_agent": [
    {"name": "markername-agent", "connection": {"max_retries": 1}, "consumer": {"topic": "markerpath", "workers": 1, "timeout": "1s"},
     "extra_config": {"async/amqp": {"name": "markersecret"}},
     "backend": [{"url_pattern": "/g"}]}
  ]
}`

func parseTestConfig(t testing.TB, s string) config.ServiceConfig {
	t.Helper()
	config.ExtraConfigAlias["plugin/http-server"] = serverplugin.Namespace
	// Parsed as KrakenD CE parses it (krakend-koanf), from a file.
	file := filepath.Join(t.TempDir(), "krakend.json")
	if err := os.WriteFile(file, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := NewConfigParser(testenv.NoEnv).Parse(file)
	if err != nil {
		t.Fatalf("parsing the test config: %v", err)
	}
	cfg.Normalize()
	return cfg
}

func TestNewPayload(t *testing.T) {
	got := NewPayload(parseTestConfig(t, exampleTestConfig))
	want := Payload{
		Endpoints:   5,
		Methods:     map[string]int{"GET": 3, "POST": 1, "DELETE": 1},
		Backends:    7,
		AsyncAgents: 1,
		Namespaces: map[string]int{
			"plugin/http-server": 1, "security/cors": 1, "qos/ratelimit/router": 1,
			"qos/circuit-breaker": 1, "backend/http": 1, "async/amqp": 1, "other": 2,
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestPayloadJSON(t *testing.T) {
	p := Payload{Endpoints: 2, Methods: map[string]int{"POST": 1, "GET": 1}, Backends: 3, Namespaces: map[string]int{}}
	want := `{"endpoints":2,"methods":{"GET":1,"POST":1},"backends":3,"async_agents":0,"namespaces":{}}`
	if got := string(p.JSON()); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestPayloadPrivacy(t *testing.T) {
	cfg := parseTestConfig(t, exampleTestConfig)
	testenv.MarkerHeaderParsed(t, cfg)
	b := NewPayload(cfg).JSON()
	for _, m := range testenv.PrivacyMarkers {
		if strings.Contains(strings.ToLower(string(b)), strings.ToLower(m)) {
			t.Errorf("payload %s contains %q", b, m)
		}
	}
	// Only counts: every leaf is a number.
	var v map[string]interface{}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	var walk func(interface{})
	walk = func(x interface{}) {
		switch x := x.(type) {
		case map[string]interface{}:
			for _, y := range x {
				walk(y)
			}
		case float64:
		default:
			t.Errorf("non-count value %#v in payload %s", x, b)
		}
	}
	walk(v)
}

func TestPayloadUnknownMethod(t *testing.T) {
	cfg := config.ServiceConfig{Endpoints: []*config.EndpointConfig{{Method: "MARKERMETHOD"}, nil}}
	if got := NewPayload(cfg).Methods; !reflect.DeepEqual(got, map[string]int{"other": 1}) {
		t.Errorf("got %v, want the method counted as other", got)
	}
}
