package main

import (
	"debug/elf"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	krakendusage "github.com/krakend-usage/krakend-usage"
	"github.com/krakend-usage/krakend-usage/usage"
	"github.com/krakend-usage/krakend-usage/usage/hashcash"
	"github.com/krakend-usage/krakend-usage/usage/krakend"
)

// writeConfig writes a gateway config with the given service extra_config
// and returns its path.
func writeConfig(t *testing.T, extra map[string]interface{}) string {
	t.Helper()
	m := map[string]interface{}{
		"version": 3, "port": 18123, "extra_config": extra,
		"endpoints": []interface{}{
			map[string]interface{}{"endpoint": "/a", "method": "GET", "backend": []interface{}{
				map[string]interface{}{"host": []interface{}{"http://backend.invalid"}, "url_pattern": "/a"}}},
			map[string]interface{}{"endpoint": "/b", "method": "POST", "backend": []interface{}{
				map[string]interface{}{"host": []interface{}{"http://backend.invalid"}, "url_pattern": "/b"}}},
		},
	}
	b, _ := json.Marshal(m)
	file := filepath.Join(t.TempDir(), "krakend.json")
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// The dry run prints the IDs and the bodies the in-process ways send for
// the same config, with a proof of work that verifies.
func TestDryRunPrintsWhatWouldBeSent(t *testing.T) {
	file := writeConfig(t, map[string]interface{}{krakend.Namespace: map[string]interface{}{"url": "https://collector.example/base/"}})
	code, out, stderr := exitCode(t, command(t, nil, "dry-run", "-c", file, "--krakend", "/nonexistent"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	gc, err := krakendusage.ReadGatewayConfig([]string{"-c", file}, os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	digest, _ := krakendusage.ConfigDigest(gc)
	wantCluster, wantServer := krakend.ClusterID(digest), krakend.ServerID(krakend.InstanceIdentity(), 18123)
	lines := strings.Split(out, "\n")
	find := func(prefix string) string {
		for i, l := range lines {
			if strings.HasPrefix(l, prefix) && i+1 < len(lines) {
				return lines[i+1]
			}
		}
		t.Fatalf("no %q line in:\n%s", prefix, out)
		return ""
	}
	var session usage.SessionRequest
	if err := json.Unmarshal([]byte(find("POST https://collector.example/base/session")), &session); err != nil {
		t.Fatal(err)
	}
	if session.ClusterID != wantCluster || session.ServerID != wantServer {
		t.Errorf("session %+v, want cluster %s and server %s", session, wantCluster, wantServer)
	}
	var report usage.ReportRequest
	if err := json.Unmarshal([]byte(find("POST https://collector.example/base/report")), &report); err != nil {
		t.Fatal(err)
	}
	hash, _ := report.Data.Hash()
	if _, err := hashcash.Verify(report.Pow, report.Token+hash, 20, time.Now()); err != nil {
		t.Errorf("the printed stamp does not verify: %v", err)
	}
	want := krakendusage.NewPayload(gc)
	want.Mode, want.Libc = krakend.ModeWrapper, ""
	if got := string(report.Data.Extra); got != string(want.JSON()) {
		t.Errorf("payload %s, want %s", got, want.JSON())
	}
	if report.Data.Version != "undefined" || report.Data.ClusterID != wantCluster {
		t.Errorf("report data %+v", report.Data)
	}
	if !strings.Contains(out, "extra, decoded from base64:\n"+string(want.JSON())) {
		t.Errorf("no decoded extra in:\n%s", out)
	}
	if strings.Contains(out, base64.StdEncoding.EncodeToString([]byte("backend.invalid"))) || strings.Contains(out, "backend.invalid") {
		t.Errorf("a backend host is printed:\n%s", out)
	}
}

// The version and libc come from the gateway binary: here the test binary
// itself, which links lura v2, stamps nothing and is linked against glibc
// (cgo) or nothing (CGO_ENABLED=0).
func TestDryRunReadsTheGatewayBinary(t *testing.T) {
	wantLibc := "glibc"
	if f, err := elf.Open(os.Args[0]); err == nil {
		static := true
		for _, p := range f.Progs {
			static = static && p.Type != elf.PT_INTERP
		}
		if static {
			wantLibc = "none"
		}
		f.Close()
	}
	file := writeConfig(t, map[string]interface{}{krakend.Namespace: map[string]interface{}{"url": "http://127.0.0.1:1"}})
	code, out, stderr := exitCode(t, command(t, nil, "dry-run", "-c", file, "--krakend", os.Args[0], "--mode", "sidecar"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, `"mode":"sidecar"`) || !strings.Contains(out, `"libc":"`+wantLibc+`"`) || !strings.Contains(out, `"version":"undefined"`) {
		t.Errorf("want mode sidecar, libc %s and version undefined in:\n%s", wantLibc, out)
	}
}

// A config the reporter cannot use exits 2 naming the key, and the flag or
// variable it came from; the plugin's block is read when there is no
// telemetry/usage block.
func TestDryRunConfigErrors(t *testing.T) {
	pluginBlock := map[string]interface{}{"plugin/http-server": map[string]interface{}{
		"name": []interface{}{"krakend-usage"}, "krakend-usage": map[string]interface{}{"url": "http://127.0.0.1:1", "report_lapse": "soon"}}}
	for _, tc := range []struct {
		name  string
		extra map[string]interface{}
		env   []string
		args  []string
		code  int
		want  string
	}{
		{"bad key in the plugin block", pluginBlock, nil, nil, exitUsage, `config key "report_lapse": bad value "soon"`},
		{"flag fixes it", pluginBlock, nil, []string{"--report-lapse", "2h"}, 0, "cluster ID: "},
		{"bad variable", map[string]interface{}{krakend.Namespace: map[string]interface{}{"url": "http://127.0.0.1:1"}},
			[]string{"USAGE_HASH_BITS=99"}, nil, exitUsage, `config key "hash_bits (from USAGE_HASH_BITS)": bad value 99`},
		{"bad flag value", map[string]interface{}{krakend.Namespace: map[string]interface{}{"url": "http://127.0.0.1:1"}},
			nil, []string{"--url", "ftp://x"}, exitUsage, `config key "url (from --url)"`},
		{"unknown key", map[string]interface{}{krakend.Namespace: map[string]interface{}{"url": "http://127.0.0.1:1", "dryrun": true}},
			nil, nil, exitUsage, `config key "dryrun": unknown key`},
		{"no block", map[string]interface{}{}, nil, nil, 0, "nothing would be sent"},
		{"no block, USAGE_URL", map[string]interface{}{}, []string{"USAGE_URL=http://127.0.0.1:1"}, nil, 0, "POST http://127.0.0.1:1/session"},
		{"disabled key", map[string]interface{}{krakend.Namespace: map[string]interface{}{"url": "http://127.0.0.1:1", "disabled": true}},
			nil, nil, 0, `disabled by the "disabled" config key`},
		{"off switch", map[string]interface{}{krakend.Namespace: map[string]interface{}{"url": "http://127.0.0.1:1"}},
			[]string{"DO_NOT_TRACK=1"}, nil, 0, "disabled by the DO_NOT_TRACK environment variable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := writeConfig(t, tc.extra)
			args := append([]string{"dry-run", "-c", file, "--krakend", "/nonexistent"}, tc.args...)
			code, out, stderr := exitCode(t, command(t, tc.env, args...))
			if code != tc.code || !strings.Contains(out+stderr, tc.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d and %q", code, out, stderr, tc.code, tc.want)
			}
		})
	}
	code, _, stderr := exitCode(t, command(t, nil, "dry-run", "-c", filepath.Join(t.TempDir(), "missing.json")))
	if code != exitUsage || !strings.Contains(stderr, "cannot read the gateway config") || !strings.Contains(stderr, "missing.json") {
		t.Errorf("missing file: exit %d, %q", code, stderr)
	}
}
