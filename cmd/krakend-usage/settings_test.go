package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/krakend-usage/krakend-usage/usage/krakend"
)

// Every config key but "disabled" (USAGE_DISABLE is the off switch) has a
// flag and a variable, and docs/gateway.md's table of them names each.
func TestEveryKeyHasAFlagAndAVariable(t *testing.T) {
	var covered []string
	for _, o := range overrides {
		covered = append(covered, o.key)
		if !slices.Contains(krakend.Keys(), o.key) {
			t.Errorf("override of %q, which is no config key", o.key)
		}
	}
	for _, k := range krakend.Keys() {
		if k != "disabled" && !slices.Contains(covered, k) {
			t.Errorf("config key %q has no flag or variable", k)
		}
	}
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "gateway.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(b), "\n#### krakend-usage command: flags and environment\n")
	if !ok {
		t.Fatal(`docs/gateway.md has no "krakend-usage command: flags and environment" section`)
	}
	table, _, _ = strings.Cut(table, "\n#")
	for _, o := range overrides {
		row := "| `--" + o.flag + "` | `" + o.env + "` | `" + o.key + "` |"
		if !strings.Contains(table, row) {
			t.Errorf("the flags table lacks the row %s", row)
		}
	}
}

// A flag wins over its variable, which wins over the config block.
func TestOverrideOrder(t *testing.T) {
	env := map[string]string{"USAGE_REPORT_LAPSE": "2h", "USAGE_TIMEOUT": "9s"}
	s := newSettings("test", os.Stderr)
	s.getenv = func(k string) string { return env[k] }
	if err := s.fs.Parse([]string{"--report-lapse", "3h"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := s.usageConfig(map[string]interface{}{krakend.Namespace: map[string]interface{}{
		"url": "http://collector", "report_lapse": "1h", "timeout": "1s", "hash_bits": 22.0}})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ReportLapse.String() != "3h0m0s" || cfg.Timeout.String() != "9s" || cfg.HashBits != 22 || cfg.URL != "http://collector" {
		t.Errorf("got %+v; want the flag's lapse, the variable's timeout, the block's bits and URL", cfg)
	}
}
