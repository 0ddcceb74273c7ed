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
	if !reflect.DeepEqual(p.Features, []string{Other}) {
		t.Errorf("200 unknown namespaces: got features %q, want only other", p.Features)
	}
	many := make([]string, 200)
	for i := range many {
		many[i] = fmt.Sprintf("ns/%03d", i)
	}
	names, err := NewNames(many)
	if err != nil {
		t.Fatal(err)
	}
	p = names.Parse([]byte(b.String()), false)
	if len(p.Features) != MaxNames || p.Features[len(p.Features)-1] != Other {
		t.Errorf("200 listed namespaces: got %d features ending %q, want %d ending other", len(p.Features), p.Features[len(p.Features)-1], MaxNames)
	}
}

// TestNames: only usage/krakend's names and the operator's count by name;
// a legacy namespace counts under its current name, once.
func TestNames(t *testing.T) {
	names, err := NewNames([]string{"my/plugin"})
	if err != nil {
		t.Fatal(err)
	}
	extra := `{"endpoints":1,"methods":{"get":1,"BREW":1},"namespaces":{"qos/http-cache":1,` +
		`"github.com/devopsfaith/krakend-httpcache":1,"github_com/devopsfaith/krakend-cors":2,"my/plugin":1,"their/plugin":1},` +
		`"mode":"plugin","libc":"musl"}`
	p := names.Parse([]byte(extra), false)
	if want := []string{"my/plugin", "other", "qos/http-cache", "security/cors"}; !reflect.DeepEqual(p.Features, want) {
		t.Errorf("features %q, want %q", p.Features, want)
	}
	if want := []string{"GET", "other"}; !reflect.DeepEqual(p.Methods, want) {
		t.Errorf("methods %q, want %q", p.Methods, want)
	}
	if p.Channel() != "plugin/musl" {
		t.Errorf("channel %q, want plugin/musl", p.Channel())
	}
	if got := ParsePayload([]byte(extra), false).Features; !reflect.DeepEqual(got, []string{"other", "qos/http-cache", "security/cors"}) {
		t.Errorf("default names: features %q", got)
	}
	for _, tc := range []struct{ extra, want string }{
		{`{"endpoints":1}`, "unknown/unknown"},
		{`{"mode":"decorator","libc":"glibc"}`, "decorator/glibc"},
		{`{"mode":"sidecar","libc":"musl"}`, "sidecar/musl"},
		{`{"mode":"wrapper","libc":"glibc"}`, "wrapper/glibc"},
		{`{"mode":"embedded","libc":"bionic"}`, "other/other"},
		{`{"mode":7}`, "unknown/unknown"},
		{"opaque", "unknown/unknown"},
	} {
		if got := ParsePayload([]byte(tc.extra), false).Channel(); got != tc.want {
			t.Errorf("channel of %s: %q, want %q", tc.extra, got, tc.want)
		}
	}
	for _, bad := range []string{"", "other", "a b", strings.Repeat("x", 65)} {
		if _, err := NewNames([]string{bad}); err == nil {
			t.Errorf("NewNames(%q): no error", bad)
		}
	}
	got, err := ReadNames(strings.NewReader("# mine\nmy/plugin\n\n  their/plugin  \n"))
	if err != nil || !reflect.DeepEqual(got, []string{"my/plugin", "their/plugin"}) {
		t.Errorf("ReadNames: %q, %v", got, err)
	}
	if _, err := ReadNames(strings.NewReader("ok\nnot ok\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("ReadNames of a bad line: %v, want an error naming line 2", err)
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
