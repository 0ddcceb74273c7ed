package krakend

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// recorder is a usage.Logger that keeps every line, as "LEVEL: text".
type recorder struct {
	mu    sync.Mutex
	lines []string
}

func (r *recorder) add(level string, v []interface{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, level+": "+strings.TrimSuffix(fmt.Sprintln(v...), "\n"))
}

func (r *recorder) Debug(v ...interface{})   { r.add("DEBUG", v) }
func (r *recorder) Info(v ...interface{})    { r.add("INFO", v) }
func (r *recorder) Warning(v ...interface{}) { r.add("WARNING", v) }
func (r *recorder) Error(v ...interface{})   { r.add("ERROR", v) }

func (r *recorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.lines...)
}

func TestOffSwitches(t *testing.T) {
	for _, tc := range []struct {
		name  string
		env   map[string]string
		block map[string]interface{}
		want  string
	}{
		{"USAGE_DISABLE", map[string]string{"USAGE_DISABLE": "1"}, map[string]interface{}{"url": "http://x"}, "Usage reporter disabled by the USAGE_DISABLE environment variable"},
		{"DO_NOT_TRACK", map[string]string{"DO_NOT_TRACK": "true"}, map[string]interface{}{"url": "http://x"}, "Usage reporter disabled by the DO_NOT_TRACK environment variable"},
		{"env beats a bad config", map[string]string{"USAGE_DISABLE": "yes"}, map[string]interface{}{"url": "http://x", "hash_bits": 99.0}, "Usage reporter disabled by the USAGE_DISABLE environment variable"},
		{"config key", nil, map[string]interface{}{"url": "http://x", "disabled": true}, `Usage reporter disabled by the "disabled" config key`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ConfigGetter(map[string]interface{}{Namespace: tc.block})
			rec := &recorder{}
			started := Start(context.Background(), Prefixed(rec, LogPrefix), func(k string) string { return tc.env[k] }, Host{}, cfg, err, func() Instance {
				t.Error("the instance was computed")
				return Instance{}
			})
			if started {
				t.Error("a goroutine was started")
			}
			if got, want := rec.all(), []string{"INFO: " + LogPrefix + " " + tc.want}; fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("got log %q, want %q", got, want)
			}
		})
	}
}

func TestOffSwitchValues(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	for v, off := range map[string]bool{"": false, "0": false, "false": false, "FALSE": false, " ": false, "1": true, "true": true, "yes": true} {
		env["DO_NOT_TRACK"] = v
		if got := OffSwitch(getenv) != ""; got != off {
			t.Errorf("DO_NOT_TRACK=%q: got off=%t, want %t", v, got, off)
		}
	}
}

func TestHostDefaults(t *testing.T) {
	cfg, err := ConfigGetter(map[string]interface{}{Namespace: map[string]interface{}{"url": "http://x"}})
	if err != nil {
		t.Fatal(err)
	}
	got := Host{Version: "2.13.8", UserAgent: "KrakenD Version 2.13.8"}.Defaults(cfg)
	if got.Version != "2.13.8" || got.UserAgent != "KrakenD Version 2.13.8" {
		t.Errorf("got version %q, user agent %q; want the host's", got.Version, got.UserAgent)
	}
	cfg.Version, cfg.UserAgent = "9.9.9", "mine"
	if got := (Host{Version: "2.13.8", UserAgent: "x"}).Defaults(cfg); got.Version != "9.9.9" || got.UserAgent != "mine" {
		t.Errorf("the host's defaults replaced the configured version and user agent: %+v", got)
	}
	inst := withHost(Instance{Payload: &Payload{}}, Host{Mode: ModePlugin, Libc: LibcMusl})
	if inst.Payload.Mode != ModePlugin || inst.Payload.Libc != LibcMusl {
		t.Errorf("payload mode %q, libc %q: want the host's plugin and musl", inst.Payload.Mode, inst.Payload.Libc)
	}
	// A process beside the gateway that cannot tell its libc sends none,
	// rather than its own.
	if inst := withHost(Instance{Payload: &Payload{}}, Host{Mode: ModeSidecar}); inst.Payload.Libc != "" {
		t.Errorf("libc %q for a host that did not say, want none sent", inst.Payload.Libc)
	}
	if withHost(Instance{}, Host{Mode: ModePlugin}).Payload != nil {
		t.Error("an instance without a payload got one")
	}
}

func TestLibcFromMaps(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, maps, want string }{
		{"glibc", "7f00-7f01 r-xp 00000000 fd:00 1 /usr/lib/x86_64-linux-gnu/libc.so.6\n7f02-7f03 r--p 00000000 fd:00 2 /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2\n", LibcGlibc},
		{"musl (Alpine)", "7f00-7f01 r-xp 00000000 fd:00 1 /lib/ld-musl-x86_64.so.1\n", LibcMusl},
		{"musl (Debian's musl-tools)", "7f00-7f01 r-xp 00000000 fd:00 1 /usr/lib/x86_64-linux-musl/libc.so\n", LibcMusl},
		{"musl after glibc-looking names", "7f00-7f01 r-xp 00000000 fd:00 1 /opt/libc.so.6.txt\n7f02-7f03 r-xp 00000000 fd:00 2 /lib/ld-musl-aarch64.so.1\n", LibcMusl},
		{"static", "00400000-00401000 r-xp 00000000 fd:00 1 /usr/bin/krakend\n7ffd-7ffe rw-p 00000000 00:00 0 [stack]\n", LibcNone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := dir + "/" + tc.name
			if err := writeFile(f, tc.maps); err != nil {
				t.Fatal(err)
			}
			if got := libcFromMaps(f); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	if got := libcFromMaps(dir + "/missing"); got != LibcNone {
		t.Errorf("no maps file: got %q, want %q", got, LibcNone)
	}
	// This test binary: cgo off (static) or linked against the machine's libc.
	if got := Libc(); !KnownLibc(got) {
		t.Errorf("Libc() = %q", got)
	}
}
