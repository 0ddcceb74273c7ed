package krakendusage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/krakend-usage/krakend-usage/internal/testenv"
)

func TestConfigFileFromArgs(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"krakend", "run", "-c", "/etc/krakend/krakend.json"}, "/etc/krakend/krakend.json"},
		{[]string{"krakend", "run", "-c=k.json"}, "k.json"},
		{[]string{"krakend", "run", "--config", "k.json", "-d"}, "k.json"},
		{[]string{"krakend", "run", "--config=k.json"}, "k.json"},
		{[]string{"gateway", "-config", "k.json"}, "k.json"},
		{[]string{"gateway", "-l", "DEBUG", "-c", "a.json", "-c", "b.json"}, "b.json"},
	} {
		got, err := configFileFromArgs(tc.args)
		if err != nil || got != tc.want {
			t.Errorf("%v: got %q, %v; want %q", tc.args, got, err, tc.want)
		}
	}
	for _, args := range [][]string{nil, {"krakend", "run"}, {"krakend", "run", "-c"}, {"krakend", "--", "-c", "x"}} {
		if got, err := configFileFromArgs(args); !errors.Is(err, ErrNoConfigFlag) {
			t.Errorf("%v: got %q, %v; want ErrNoConfigFlag", args, got, err)
		}
	}
}

func TestPortFromArgs(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"krakend", "run", "-c", "k.json"}, 0},
		{[]string{"krakend", "run", "-p", "9090"}, 9090},
		{[]string{"krakend", "run", "--port=9091"}, 9091},
		{[]string{"krakend", "run", "-p=x"}, 0},
		{[]string{"krakend", "run", "-p", "70000"}, 0},
	} {
		if got := portFromArgs(tc.args); got != tc.want {
			t.Errorf("%v: got %d, want %d", tc.args, got, tc.want)
		}
	}
}

func TestGatewayConfig(t *testing.T) {
	file := filepath.Join(t.TempDir(), "krakend.json")
	if err := os.WriteFile(file, []byte(exampleTestConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := ReadGatewayConfig([]string{"gateway", "-c", file}, testenv.NoEnv)
	if err != nil {
		t.Fatal(err)
	}
	want := parseTestConfig(t, exampleTestConfig)
	h1, _ := ConfigDigest(cfg)
	h2, _ := ConfigDigest(want)
	if h1 != h2 || cfg.Port != 8080 {
		t.Errorf("got hash %s port %d, want %s 8080", h1, cfg.Port, h2)
	}
	cfg, err = ReadGatewayConfig([]string{"gateway", "-c", file, "-p", "9999"}, testenv.NoEnv)
	if err != nil || cfg.Port != 9999 {
		t.Errorf("got port %d, %v; want 9999", cfg.Port, err)
	}
	if _, err := ReadGatewayConfig([]string{"gateway", "-c", file + ".missing"}, testenv.NoEnv); err == nil {
		t.Error("got no error for a missing file")
	}
}

// writeFile writes content to name in a new temporary directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

func TestGatewayConfigYAML(t *testing.T) {
	file := writeFile(t, "krakend.yaml", `version: 3
port: 8081
endpoints:
  - endpoint: /a
    backend:
      - host: ["http://localhost:19"]
        url_pattern: /a
  - endpoint: /b
    method: POST
    backend:
      - host: ["http://localhost:19"]
        url_pattern: /b
`)
	cfg, err := ReadGatewayConfig([]string{"krakend", "run", "-c", file}, testenv.NoEnv)
	if err != nil {
		t.Fatal(err)
	}
	if p := NewPayload(cfg); p.Endpoints != 2 || p.Methods["POST"] != 1 || cfg.Port != 8081 {
		t.Errorf("got %d endpoints %v on port %d, want 2 (1 POST) on 8081", p.Endpoints, p.Methods, cfg.Port)
	}
}

// KRAKEND_PORT is the port KrakenD listens on, so it is the port of the
// server ID; the -p flag still wins, as in `krakend run`.
func TestGatewayConfigEnvOverride(t *testing.T) {
	file := writeFile(t, "krakend.json", exampleTestConfig)
	t.Setenv("KRAKEND_PORT", "9090")
	cfg, err := ReadGatewayConfig([]string{"krakend", "run", "-c", file}, testenv.NoEnv)
	if err != nil || cfg.Port != 9090 {
		t.Errorf("got port %d, %v; want 9090 from KRAKEND_PORT", cfg.Port, err)
	}
	cfg, err = ReadGatewayConfig([]string{"krakend", "run", "-c", file, "-p", "9999"}, testenv.NoEnv)
	if err != nil || cfg.Port != 9999 {
		t.Errorf("got port %d, %v; want 9999 from -p", cfg.Port, err)
	}
}

// Flexible configuration: a template rendered with FC_SETTINGS, as
// KrakenD renders it when FC_ENABLE is set.
func TestGatewayConfigFlexible(t *testing.T) {
	settings := filepath.Dir(writeFile(t, "settings/service.json", `{"port": 8123, "paths": ["/x", "/y", "/z"]}`))
	tmpl := writeFile(t, "krakend.tmpl", `{
  "version": 3,
  "port": {{ .service.port }},
  "endpoints": [
    {{ range $i, $p := .service.paths }}{{ if $i }},{{ end }}{"endpoint": "{{ $p }}", "backend": [{"host": ["http://localhost:19"], "url_pattern": "{{ $p }}"}]}{{ end }}
  ]
}`)
	out := filepath.Join(t.TempDir(), "out.json")
	env := map[string]string{"FC_ENABLE": "1", "FC_SETTINGS": settings, "FC_OUT": out}
	getenv := func(k string) string { return env[k] }

	cfg, err := ReadGatewayConfig([]string{"krakend", "run", "-c", tmpl}, getenv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Port != 8123 || len(cfg.Endpoints) != 3 {
		t.Errorf("got port %d and %d endpoints, want 8123 and 3", cfg.Port, len(cfg.Endpoints))
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the plugin's re-read wrote FC_OUT %s (%v): only the gateway may", out, err)
	}
	// The gateway's parser (NewConfigParser) does write it, as KrakenD does.
	if _, err := NewConfigParser(getenv).Parse(tmpl); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(out); err != nil {
		t.Errorf("NewConfigParser did not write FC_OUT: %v", err)
	}
	// Without FC_ENABLE the template is not valid JSON.
	if _, err := ReadGatewayConfig([]string{"krakend", "run", "-c", tmpl}, testenv.NoEnv); err == nil {
		t.Error("a template parsed without FC_ENABLE")
	}
}

// A config written for KrakenD 3.0 may say "version": 4 (one stored
// version of the 3.0.0 image writes it as its default config) or 3: both
// are read and initialised alike, and the version stays as written, so
// it is part of the digest. Any other version is refused, naming the
// field.
func TestGatewayConfigVersions(t *testing.T) {
	const body = `,
  "port": 8080,
  "host": ["http://localhost:19"],
  "endpoints": [{"endpoint": "/a", "backend": [{"url_pattern": "/a"}]}]
}`
	digests := map[int]string{}
	for _, version := range []int{3, 4} {
		file := writeFile(t, "krakend.json", fmt.Sprintf(`{"version": %d`, version)+body)
		cfg, err := ReadGatewayConfig([]string{"krakend", "run", "-c", file}, testenv.NoEnv)
		if err != nil {
			t.Fatalf("version %d: %v", version, err)
		}
		if cfg.Version != version {
			t.Errorf("version %d: parsed config says version %d", version, cfg.Version)
		}
		// Init ran: the endpoint's method and the backend's host are filled in.
		e := cfg.Endpoints[0]
		if e.Method != "GET" || len(e.Backend[0].Host) != 1 {
			t.Errorf("version %d: got method %q, backend hosts %v; want GET and the service's host (lura's Init)", version, e.Method, e.Backend[0].Host)
		}
		if p := NewPayload(cfg); p.Endpoints != 1 || p.Backends != 1 {
			t.Errorf("version %d: got %d endpoints, %d backends; want 1, 1", version, p.Endpoints, p.Backends)
		}
		digests[version], _ = ConfigDigest(cfg)
		other, err := NewConfigParser(testenv.NoEnv).Parse(file)
		if err != nil || other.Version != version {
			t.Errorf("NewConfigParser, version %d: got version %d, %v", version, other.Version, err)
		}
	}
	if digests[3] == digests[4] {
		t.Error("versions 3 and 4 give the same digest; the version as written is part of it")
	}
	for _, version := range []int{0, 2, 5} {
		file := writeFile(t, "krakend.json", fmt.Sprintf(`{"version": %d`, version)+body)
		_, err := ReadGatewayConfig([]string{"krakend", "run", "-c", file}, testenv.NoEnv)
		want := fmt.Sprintf(`"version" is %d, want 3 or 4`, version)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), file) {
			t.Errorf("version %d: got %v, want an error naming %s and saying %s", version, err, file, want)
		}
	}
}

func TestReadGatewayConfigWithoutConfigFlag(t *testing.T) {
	if _, err := ReadGatewayConfig([]string{"krakend", "run", "-d"}, testenv.NoEnv); !errors.Is(err, ErrNoConfigFlag) {
		t.Errorf("got %v, want ErrNoConfigFlag", err)
	}
}
