package krakendusage

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
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
		if got, err := configFileFromArgs(args); !errors.Is(err, errNoConfigFlag) {
			t.Errorf("%v: got %q, %v; want errNoConfigFlag", args, got, err)
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
	cfg, err := gatewayConfig([]string{"gateway", "-c", file}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	want := parseTestConfig(t, exampleTestConfig)
	h1, _ := configHash(cfg)
	h2, _ := configHash(want)
	if h1 != h2 || cfg.Port != 8080 {
		t.Errorf("got hash %s port %d, want %s 8080", h1, cfg.Port, h2)
	}
	cfg, err = gatewayConfig([]string{"gateway", "-c", file, "-p", "9999"}, noEnv)
	if err != nil || cfg.Port != 9999 {
		t.Errorf("got port %d, %v; want 9999", cfg.Port, err)
	}
	if _, err := gatewayConfig([]string{"gateway", "-c", file + ".missing"}, noEnv); err == nil {
		t.Error("got no error for a missing file")
	}
}

// noEnv is a getenv with nothing set.
func noEnv(string) string { return "" }
