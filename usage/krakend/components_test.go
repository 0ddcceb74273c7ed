package krakend

import (
	"compress/gzip"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
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

// schemaNamespaces reads a KrakenD config schema (krakend-schema's
// bundled krakend.json, gzipped) and returns every extra_config namespace
// it defines, at every level: the property names of each object that an
// "extra_config" key holds, directly or through a "$ref" into "$defs".
func schemaNamespaces(t *testing.T, file string) map[string]bool {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var schema map[string]any
	if err := json.NewDecoder(zr).Decode(&schema); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	defs, _ := schema["$defs"].(map[string]any)
	resolve := func(o map[string]any) map[string]any {
		for range 10 {
			ref, ok := o["$ref"].(string)
			if !ok {
				return o
			}
			key, ok := strings.CutPrefix(ref, "#/$defs/")
			if !ok {
				t.Fatalf("%s: a $ref outside $defs: %s", file, ref)
			}
			key = strings.NewReplacer("~1", "/", "~0", "~").Replace(key)
			if o, ok = defs[key].(map[string]any); !ok {
				t.Fatalf("%s: $ref %s resolves to nothing", file, ref)
			}
		}
		t.Fatalf("%s: a $ref chain longer than 10", file)
		return nil
	}
	out := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, sub := range v {
				if ec, ok := sub.(map[string]any); ok && k == "extra_config" {
					props, _ := resolve(ec)["properties"].(map[string]any)
					for ns := range props {
						out[ns] = true
					}
				}
				walk(sub)
			}
		case []any:
			for _, sub := range v {
				walk(sub)
			}
		}
	}
	walk(schema)
	if len(out) < 50 {
		t.Fatalf("%s: only %d namespaces found; the schema's layout changed", file, len(out))
	}
	return out
}

// The table knows every namespace of KrakenD 3.0's config schema, by its
// 3.0 name; its only names outside that schema are the 2.x components
// that 3.0 dropped, which 2.13's schema still has.
func TestComponentsCoverSchemas(t *testing.T) {
	v3 := schemaNamespaces(t, filepath.Join("testdata", "krakend-schema-v3.0.json.gz"))
	v213 := schemaNamespaces(t, filepath.Join("testdata", "krakend-schema-v2.13.json.gz"))
	for _, ns := range slices.Sorted(maps.Keys(v3)) {
		if got, ok := Canonical(ns); !ok || got != ns {
			t.Errorf("3.0 namespace %q: Canonical gives %q, %v; want itself", ns, got, ok)
		}
	}
	for _, ns := range slices.Sorted(maps.Keys(v213)) {
		if !Known(ns) {
			t.Errorf("2.13 namespace %q is not a known component", ns)
		}
	}
	for _, c := range Components() {
		inV3, only2 := v3[c], slices.Contains(namespaces2, c)
		switch {
		case only2 && (inV3 || !v213[c]):
			t.Errorf("%q is listed as 2.x only, but the 3.0 schema has it (%v) or 2.13's has not (%v)", c, inV3, v213[c])
		case !only2 && !inV3:
			t.Errorf("%q is not a namespace of the 3.0 schema", c)
		}
	}
}
