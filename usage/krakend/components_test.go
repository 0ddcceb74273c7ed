package krakend

import (
	"slices"
	"testing"
)

func TestCanonical(t *testing.T) {
	for _, tc := range []struct {
		ns, want string
		ok       bool
	}{
		{"qos/http-cache", "qos/http-cache", true},
		{"github.com/devopsfaith/krakend-httpcache", "qos/http-cache", true},
		{"github_com/devopsfaith/krakend-cors", "security/cors", true},
		{"github.com/devopsfaith/krakend-lua/proxy/backend", "modifier/lua-backend", true},
		{"github_com/luraproject/lura/router/gin", "router", true},
		{"my/private-plugin", "", false},
		{"", "", false},
	} {
		got, ok := Canonical(tc.ns)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Canonical(%q) = %q, %v; want %q, %v", tc.ns, got, ok, tc.want, tc.ok)
		}
	}
}

func TestTableIsConsistent(t *testing.T) {
	names := Components()
	if !slices.IsSorted(names) {
		t.Error("Components() is not sorted")
	}
	if len(slices.Compact(slices.Clone(names))) != len(names) {
		t.Error("Components() has duplicates")
	}
	for _, n := range names {
		if !Known(n) {
			t.Errorf("Known(%q) = false for a listed component", n)
		}
		if n == Other {
			t.Errorf("%q is reserved for the unknown", Other)
		}
	}
	for legacy, current := range LegacyAliases {
		if !Known(current) {
			t.Errorf("legacy %q maps to %q, which is not a listed component", legacy, current)
		}
		if Known(legacy) {
			t.Errorf("legacy name %q is listed as a current name", legacy)
		}
	}
	names[0] = "mutated"
	if Components()[0] == "mutated" {
		t.Error("Components() returned the table itself, not a copy")
	}
}

func TestPayloadJSON(t *testing.T) {
	p := Payload{Endpoints: 2, Methods: map[string]int{"POST": 1, "GET": 1}, Backends: 3,
		Namespaces: map[string]int{"router": 1}, Mode: ModePlugin, Libc: LibcMusl}
	want := `{"endpoints":2,"methods":{"GET":1,"POST":1},"backends":3,"async_agents":0,"namespaces":{"router":1},"mode":"plugin","libc":"musl"}`
	if got := string(p.JSON()); got != want {
		t.Errorf("JSON() = %s\nwant      %s", got, want)
	}
	old := Payload{Methods: map[string]int{}, Namespaces: map[string]int{}}
	if got, want := string(old.JSON()), `{"endpoints":0,"methods":{},"backends":0,"async_agents":0,"namespaces":{}}`; got != want {
		t.Errorf("JSON() without mode and libc = %s, want %s", got, want)
	}
	for _, w := range []string{ModePlugin, ModeDecorator} {
		if !KnownMode(w) {
			t.Errorf("KnownMode(%q) = false", w)
		}
	}
	for _, w := range []string{LibcGlibc, LibcMusl, LibcNone} {
		if !KnownLibc(w) {
			t.Errorf("KnownLibc(%q) = false", w)
		}
	}
	if KnownMode("x") || KnownLibc("") || KnownMethod("BREW") || !KnownMethod("GET") {
		t.Error("an unknown word was accepted or a known one refused")
	}
}
