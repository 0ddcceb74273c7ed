package krakend

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
)

func writeFile(name, s string) error { return os.WriteFile(name, []byte(s), 0o644) }

// serviceJSON is what json.Marshal gives for a lura ServiceConfig: Go field
// names, durations in nanoseconds. ns names the namespaces the test puts at
// the service, endpoint and backend levels.
func serviceJSON(t *testing.T, svcNS, endpointNS, backendNS string, edit func(map[string]interface{})) []byte {
	t.Helper()
	m := map[string]interface{}{
		"Name": "gw", "Port": 8080, "Timeout": 3000000000, "Version": 3, "OutputEncoding": "json",
		"Host": []interface{}{"http://localhost:8080"},
		"ExtraConfig": map[string]interface{}{
			svcNS:                map[string]interface{}{"allow_origins": []interface{}{"*"}},
			Namespace:            map[string]interface{}{"url": "http://collector"},
			"my/private-plugin":  map[string]interface{}{"key": "secret"},
			"plugin/http-server": map[string]interface{}{"name": []interface{}{"krakend-usage"}, "krakend-usage": map[string]interface{}{"url": "http://collector"}},
		},
		"Endpoints": []interface{}{
			map[string]interface{}{"Endpoint": "/a", "Method": "GET", "Timeout": 3000000000,
				"ExtraConfig": map[string]interface{}{endpointNS: map[string]interface{}{"max_rate": 10}},
				"Backend": []interface{}{map[string]interface{}{"URLPattern": "/a", "Host": []interface{}{"http://b"},
					"ExtraConfig": map[string]interface{}{backendNS: map[string]interface{}{"interval": 60}}}}},
			map[string]interface{}{"Endpoint": "/b", "Method": "brew", "Backend": []interface{}{}},
		},
		"Plugin":              map[string]interface{}{"Folder": "./plugins", "Pattern": ".so"},
		"MaxShutdownDuration": 0,
		"SomeFutureField":     "x",
	}
	if edit != nil {
		edit(m)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parse(t *testing.T, b []byte) *Service {
	t.Helper()
	s, err := ParseService(b)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The same config seen by a host that registered KrakenD's legacy aliases
// and by one that did not: one digest, one payload.
func TestDigestAndPayloadIgnoreAliases(t *testing.T) {
	current := parse(t, serviceJSON(t, "security/cors", "qos/http-cache", "qos/circuit-breaker", nil))
	legacy := parse(t, serviceJSON(t, "github_com/devopsfaith/krakend-cors", "github.com/devopsfaith/krakend-httpcache", "github.com/devopsfaith/krakend-circuitbreaker/gobreaker", func(m map[string]interface{}) {
		e := m["ExtraConfig"].(map[string]interface{})
		e["github_com/devopsfaith/krakend/transport/http/server/handler"] = e["plugin/http-server"]
		delete(e, "plugin/http-server")
	}))
	if a, b := current.Digest(), legacy.Digest(); a != b {
		t.Errorf("legacy aliases changed the digest: %s, %s", a, b)
	}
	want := Payload{
		Endpoints: 2, Backends: 1,
		Methods:    map[string]int{"GET": 1, Other: 1},
		Namespaces: map[string]int{"security/cors": 1, "qos/http-cache": 1, "qos/circuit-breaker": 1, Other: 1},
	}
	for name, s := range map[string]*Service{"current": current, "legacy": legacy} {
		if got := s.Payload(); !reflect.DeepEqual(got, want) {
			t.Errorf("%s names: payload %+v, want %+v", name, got, want)
		}
	}
}

func TestDigest(t *testing.T) {
	base := parse(t, serviceJSON(t, "security/cors", "qos/http-cache", "qos/circuit-breaker", nil)).Digest()
	if !strings.HasPrefix(base, digestVersion) {
		t.Errorf("digest %q lacks its version prefix", base)
	}
	same := map[string]func(map[string]interface{}){
		"another port":      func(m map[string]interface{}) { m["Port"] = 9090 },
		"a renamed service": func(m map[string]interface{}) { m["Name"] = "other" },
		"no Plugin field (lura v3 without plugins)": func(m map[string]interface{}) { delete(m, "Plugin") },
		"a field lura 2.12 lacks":                   func(m map[string]interface{}) { delete(m, "MaxShutdownDuration") },
		"a field lura 2.14 has at a non-zero value": func(m map[string]interface{}) { m["MaxShutdownDuration"] = 5000000000 },
		"zero fields spelled out":                   func(m map[string]interface{}) { m["Debug"] = false; m["CacheTTL"] = 0; m["Address"] = "" },
		"enabled as a decorator, not a plugin": func(m map[string]interface{}) {
			delete(m["ExtraConfig"].(map[string]interface{}), "plugin/http-server")
		},
		"other usage settings": func(m map[string]interface{}) {
			e := m["ExtraConfig"].(map[string]interface{})
			e[Namespace] = map[string]interface{}{"url": "http://elsewhere", "dry_run": true}
			e["plugin/http-server"] = map[string]interface{}{"name": []interface{}{"krakend-usage"}, "krakend-usage": map[string]interface{}{"url": "http://x", "disabled": true}}
		},
	}
	for name, edit := range same {
		if got := parse(t, serviceJSON(t, "security/cors", "qos/http-cache", "qos/circuit-breaker", edit)).Digest(); got != base {
			t.Errorf("%s changed the digest", name)
		}
	}
	differ := map[string]func(map[string]interface{}){
		"another timeout": func(m map[string]interface{}) { m["Timeout"] = 4000000000 },
		"an added endpoint": func(m map[string]interface{}) {
			m["Endpoints"] = append(m["Endpoints"].([]interface{}), map[string]interface{}{"Endpoint": "/c", "Method": "GET"})
		},
		"a component setting": func(m map[string]interface{}) {
			m["ExtraConfig"].(map[string]interface{})["security/cors"] = map[string]interface{}{"allow_origins": []interface{}{"https://a"}}
		},
		"another plugin in the http-server list": func(m map[string]interface{}) {
			m["ExtraConfig"].(map[string]interface{})["plugin/http-server"] = map[string]interface{}{"name": []interface{}{"krakend-usage", "other"}}
		},
		"debug endpoint on": func(m map[string]interface{}) { m["Debug"] = true },
	}
	for name, edit := range differ {
		if got := parse(t, serviceJSON(t, "security/cors", "qos/http-cache", "qos/circuit-breaker", edit)).Digest(); got == base {
			t.Errorf("%s kept the digest", name)
		}
	}
}

func TestParseService(t *testing.T) {
	s := parse(t, serviceJSON(t, "security/cors", "qos/http-cache", "qos/circuit-breaker", nil))
	if s.Port != 8080 || len(s.Endpoints) != 2 || s.Endpoints[0].Backend[0].URLPattern != "/a" {
		t.Errorf("parsed %+v", s)
	}
	if _, err := ParseService([]byte(`{"Endpoints": 3}`)); err == nil {
		t.Error("a malformed service was accepted")
	}
	type unencodable struct{ F func() }
	if _, err := DescribeService(unencodable{F: func() {}}); err == nil || !strings.Contains(err.Error(), "encoding the service config") {
		t.Errorf("got %v, want an encoding error", err)
	}
}
