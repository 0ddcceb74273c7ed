package krakendusage

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/luraproject/lura/v2/config"
	"github.com/luraproject/lura/v2/core"
)

func extraFromJSON(t *testing.T, s string) config.ExtraConfig {
	t.Helper()
	var e config.ExtraConfig
	if err := json.Unmarshal([]byte(s), &e); err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	return e
}

func TestConfigGetter(t *testing.T) {
	defaults := Config{
		URL:             "http://localhost:8090",
		SessionEndpoint: "/session",
		ReportEndpoint:  "/report",
		ReportLapse:     12 * time.Hour,
		Timeout:         15 * time.Second,
		HashBits:        20,
		UserAgent:       core.KrakendUserAgent,
		Version:         core.KrakendVersion,
	}
	with := func(f func(*Config)) Config { c := defaults; f(&c); return c }
	for _, tc := range []struct {
		name string
		json string
		want Config
	}{
		{"defaults", `{"telemetry/usage": {"url": "http://localhost:8090"}}`, defaults},
		{"trailing slash", `{"telemetry/usage": {"url": "http://localhost:8090/"}}`, defaults},
		{"every key", `{"telemetry/usage": {
			"url": "https://usage.example.com/base",
			"session_endpoint": "/s", "report_endpoint": "/r",
			"report_lapse": "1h30m", "timeout": "5s", "hash_bits": 24,
			"user_agent": "ua/1", "version": "v9.9.9",
			"cluster_id": "6BA7B810-9DAD-11D1-80B4-00C04FD430C8",
			"server_id": "6ba7b811-9dad-11d1-80b4-00c04fd430c8",
			"disabled": true, "dry_run": true}}`,
			Config{
				URL: "https://usage.example.com/base", SessionEndpoint: "/s", ReportEndpoint: "/r",
				ReportLapse: 90 * time.Minute, Timeout: 5 * time.Second, HashBits: 24,
				UserAgent: "ua/1", Version: "v9.9.9",
				ClusterID: "6ba7b810-9dad-11d1-80b4-00c04fd430c8",
				ServerID:  "6ba7b811-9dad-11d1-80b4-00c04fd430c8",
				Disabled:  true, DryRun: true,
			}},
		{"short lapse allowed", `{"telemetry/usage": {"url": "http://localhost:8090", "report_lapse": "2s"}}`,
			with(func(c *Config) { c.ReportLapse = 2 * time.Second })},
		{"bits 1", `{"telemetry/usage": {"url": "http://localhost:8090", "hash_bits": 1}}`,
			with(func(c *Config) { c.HashBits = 1 })},
		{"free-form ID overrides", `{"telemetry/usage": {"url": "http://localhost:8090", "cluster_id": "prod-eu", "server_id": "gw-7"}}`,
			with(func(c *Config) { c.ClusterID, c.ServerID = "prod-eu", "gw-7" })},
		{"bits 28", `{"telemetry/usage": {"url": "http://localhost:8090", "hash_bits": 28}}`,
			with(func(c *Config) { c.HashBits = 28 })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ConfigGetter(extraFromJSON(t, tc.json))
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestConfigGetterErrors(t *testing.T) {
	for _, tc := range []struct {
		name, json string
		key, value string // the error must name both
	}{
		{"not an object", `{"telemetry/usage": "http://x"}`, "telemetry/usage", "http://x"},
		{"missing url", `{"telemetry/usage": {}}`, "url", ""},
		{"url type", `{"telemetry/usage": {"url": 8090}}`, "url", "8090"},
		{"url scheme", `{"telemetry/usage": {"url": "ftp://usage.example.com"}}`, "url", "ftp://usage.example.com"},
		{"url relative", `{"telemetry/usage": {"url": "/collector"}}`, "url", "/collector"},
		{"url no host", `{"telemetry/usage": {"url": "http://"}}`, "url", "http://"},
		{"session_endpoint type", `{"telemetry/usage": {"url": "http://x", "session_endpoint": 1}}`, "session_endpoint", "1"},
		{"session_endpoint relative", `{"telemetry/usage": {"url": "http://x", "session_endpoint": "session"}}`, "session_endpoint", "session"},
		{"report_endpoint type", `{"telemetry/usage": {"url": "http://x", "report_endpoint": true}}`, "report_endpoint", "true"},
		{"report_endpoint relative", `{"telemetry/usage": {"url": "http://x", "report_endpoint": "report"}}`, "report_endpoint", "report"},
		{"report_lapse type", `{"telemetry/usage": {"url": "http://x", "report_lapse": 3600}}`, "report_lapse", "3600"},
		{"report_lapse unparsable", `{"telemetry/usage": {"url": "http://x", "report_lapse": "12 hours"}}`, "report_lapse", "12 hours"},
		{"report_lapse zero", `{"telemetry/usage": {"url": "http://x", "report_lapse": "0s"}}`, "report_lapse", "0s"},
		{"report_lapse negative", `{"telemetry/usage": {"url": "http://x", "report_lapse": "-1h"}}`, "report_lapse", "-1h"},
		{"timeout type", `{"telemetry/usage": {"url": "http://x", "timeout": 15}}`, "timeout", "15"},
		{"timeout unparsable", `{"telemetry/usage": {"url": "http://x", "timeout": "soon"}}`, "timeout", "soon"},
		{"timeout negative", `{"telemetry/usage": {"url": "http://x", "timeout": "-5s"}}`, "timeout", "-5s"},
		{"hash_bits type", `{"telemetry/usage": {"url": "http://x", "hash_bits": "20"}}`, "hash_bits", "20"},
		{"hash_bits zero", `{"telemetry/usage": {"url": "http://x", "hash_bits": 0}}`, "hash_bits", "0"},
		{"hash_bits too high", `{"telemetry/usage": {"url": "http://x", "hash_bits": 29}}`, "hash_bits", "29"},
		{"hash_bits fraction", `{"telemetry/usage": {"url": "http://x", "hash_bits": 20.5}}`, "hash_bits", "20.5"},
		{"hash_bits negative", `{"telemetry/usage": {"url": "http://x", "hash_bits": -3}}`, "hash_bits", "-3"},
		{"user_agent type", `{"telemetry/usage": {"url": "http://x", "user_agent": ["a"]}}`, "user_agent", "a"},
		{"version type", `{"telemetry/usage": {"url": "http://x", "version": 2}}`, "version", "2"},
		{"cluster_id type", `{"telemetry/usage": {"url": "http://x", "cluster_id": 7}}`, "cluster_id", "7"},
		{"cluster_id empty", `{"telemetry/usage": {"url": "http://x", "cluster_id": ""}}`, "cluster_id", ""},
		{"cluster_id with spaces", `{"telemetry/usage": {"url": "http://x", "cluster_id": "prod eu"}}`, "cluster_id", "prod eu"},
		{"server_id type", `{"telemetry/usage": {"url": "http://x", "server_id": false}}`, "server_id", "false"},
		{"version too long", `{"telemetry/usage": {"url": "http://x", "version": "` + strings.Repeat("v", 65) + `"}}`, "version", strings.Repeat("v", 65)},
		{"version with a newline", `{"telemetry/usage": {"url": "http://x", "version": "2.13\n"}}`, "version", `"2.13\n"`},
		{"server_id too long", `{"telemetry/usage": {"url": "http://x", "server_id": "` + strings.Repeat("s", 129) + `"}}`, "server_id", strings.Repeat("s", 129)},
		{"disabled type", `{"telemetry/usage": {"url": "http://x", "disabled": "yes"}}`, "disabled", "yes"},
		{"dry_run type", `{"telemetry/usage": {"url": "http://x", "dry_run": 1}}`, "dry_run", "1"},
		{"unknown key", `{"telemetry/usage": {"url": "http://x", "dryrun": true}}`, "dryrun", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ConfigGetter(extraFromJSON(t, tc.json))
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("got error %v, want one wrapping ErrInvalidConfig", err)
			}
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Key != tc.key {
				t.Fatalf("got %v, want a *ConfigError for key %q", err, tc.key)
			}
			if !strings.Contains(err.Error(), `"`+tc.key+`"`) || !strings.Contains(err.Error(), tc.value) {
				t.Errorf("error %q does not name key %q and value %q", err, tc.key, tc.value)
			}
		})
	}
}

func TestConfigGetterAbsent(t *testing.T) {
	for _, s := range []string{`{}`, `{"telemetry/logging": {"level": "DEBUG"}}`, `null`} {
		if _, err := ConfigGetter(extraFromJSON(t, s)); !errors.Is(err, ErrNoConfig) {
			t.Errorf("%s: got %v, want ErrNoConfig", s, err)
		}
	}
}

func TestPluginConfigGetter(t *testing.T) {
	var extra map[string]interface{}
	if err := json.Unmarshal([]byte(`{"name": ["krakend-usage"], "krakend-usage": {"url": "http://localhost:8090", "dry_run": true}}`), &extra); err != nil {
		t.Fatal(err)
	}
	cfg, err := PluginConfigGetter(extra)
	if err != nil || cfg.URL != "http://localhost:8090" || !cfg.DryRun {
		t.Errorf("got %+v, %v; want the plugin's block", cfg, err)
	}
	if _, err := PluginConfigGetter(map[string]interface{}{"name": "krakend-usage"}); !errors.Is(err, ErrNoConfig) {
		t.Errorf("got %v, want ErrNoConfig", err)
	}
	if _, err := PluginConfigGetter(map[string]interface{}{"krakend-usage": []interface{}{}}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("got %v, want ErrInvalidConfig", err)
	}
}

func TestConfigGetterProgrammaticBits(t *testing.T) {
	// A config built in Go rather than decoded from JSON may hold ints.
	for _, v := range []interface{}{22, int64(22), uint(22)} {
		cfg, err := ConfigGetter(config.ExtraConfig{Namespace: map[string]interface{}{"url": "http://x", "hash_bits": v}})
		if err != nil || cfg.HashBits != 22 {
			t.Errorf("%T: got %d, %v; want 22", v, cfg.HashBits, err)
		}
	}
}
