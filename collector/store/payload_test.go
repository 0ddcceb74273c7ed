package store

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestParsePayload(t *testing.T) {
	for _, tt := range []struct {
		name    string
		extra   string
		omitted bool
		want    Payload
	}{
		{"none", "", false, Payload{Endpoints: -1, Backends: -1}},
		{"omitted", "", true, Payload{Present: true, Endpoints: -1, Backends: -1}},
		{"opaque", "\x00binary", false, Payload{Present: true, Endpoints: -1, Backends: -1}},
		{"array", "[1,2]", false, Payload{Present: true, Endpoints: -1, Backends: -1}},
		{"wrong types", `{"endpoints":"12","namespaces":[1]}`, false, Payload{Present: true, Endpoints: -1, Backends: -1}},
		{"gateway", `{"endpoints":12,"backends":15,"methods":{"get":8,"POST":4,"PUT":0},"namespaces":{"router":1,"qos/ratelimit/router":2,"unused":0}}`, false,
			Payload{Present: true, Endpoints: 12, Backends: 15, Methods: []string{"GET", "POST"}, Features: []string{"qos/ratelimit/router", "router"}}},
		{"float and negative", `{"endpoints":3.0,"backends":-2}`, false, Payload{Present: true, Endpoints: 3, Backends: -1}},
		{"odd names", `{"namespaces":{"a b":1,"é":1,"other":2,"` + strings.Repeat("x", 65) + `":1}}`, false,
			Payload{Present: true, Endpoints: -1, Backends: -1, Features: []string{"other"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := *ParsePayload([]byte(tt.extra), tt.omitted)
			if len(got.Methods) == 0 {
				got.Methods = nil // nil or empty: both "none"
			}
			if len(got.Features) == 0 {
				got.Features = nil
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	var b strings.Builder
	b.WriteString(`{"namespaces":{`)
	for i := range 200 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"ns/%03d":1`, i)
	}
	b.WriteString("}}")
	p := ParsePayload([]byte(b.String()), false)
	if len(p.Features) != MaxNames || p.Features[len(p.Features)-1] != Other {
		t.Errorf("200 namespaces: got %d features ending %q, want %d ending other", len(p.Features), p.Features[len(p.Features)-1], MaxNames)
	}
}

// FuzzParsePayload: any bytes give a bounded payload of valid names.
func FuzzParsePayload(f *testing.F) {
	f.Add([]byte(`{"endpoints":12,"backends":3,"methods":{"GET":1},"namespaces":{"router":1}}`))
	f.Add([]byte(`[]`))
	f.Add([]byte{0xff, 0})
	f.Fuzz(func(t *testing.T, extra []byte) {
		p := ParsePayload(extra, false)
		if len(p.Features) > MaxNames || len(p.Methods) > MaxNames {
			t.Fatalf("%d features, %d methods", len(p.Features), len(p.Methods))
		}
		for _, n := range append(p.Features, p.Methods...) {
			if !validName(n) {
				t.Fatalf("invalid name %q", n)
			}
		}
		if p.Endpoints < -1 || p.Backends < -1 {
			t.Fatalf("counts %d %d", p.Endpoints, p.Backends)
		}
	})
}
