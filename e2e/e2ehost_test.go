package e2e

import (
	"debug/elf"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	krakendusage "github.com/krakend-usage/krakend-usage"
	"github.com/krakend-usage/krakend-usage/internal/testenv"
	"github.com/krakend-usage/krakend-usage/usage"
	"github.com/krakend-usage/krakend-usage/usage/krakend"
	"github.com/krakend-usage/krakend-usage/usage/usagetest"
)

// A gatewayHost names a gateway the tests run the plugin in: a stock
// KrakenD CE of one release and libc, whose binary an environment variable
// names, or the example gateway built here (env ""). resolve finds it.
type gatewayHost struct {
	name    string
	release string // the KrakenD release; "" for the newest
	libc    string // "glibc" or "musl"
	env     string // the variable naming the binary; "" for the example gateway
}

// gatewayHosts are the hosts of the whole end-to-end suite: the newest
// release, glibc and musl, and the example gateway.
var gatewayHosts = []gatewayHost{
	{name: "example gateway", libc: "glibc"},
	{name: "KrakenD", libc: "glibc", env: "KRAKEND_BIN"},
	{name: "KrakenD musl", libc: "musl", env: "KRAKEND_MUSL_BIN"},
}

// binEnv is the variable naming the stock KrakenD binary of a release and
// libc: KRAKEND_BIN and KRAKEND_MUSL_BIN for the newest release,
// KRAKEND_BIN_2_12_1 and KRAKEND_MUSL_BIN_2_12_1 for 2.12.1, and so on.
func binEnv(tg, newest krakendTarget, libc string) string {
	env := "KRAKEND_BIN"
	if libc == "musl" {
		env = "KRAKEND_MUSL_BIN"
	}
	if tg.Version != newest.Version {
		env += "_" + strings.ReplaceAll(tg.Version, ".", "_")
	}
	return env
}

// stockHosts are the stock KrakenD hosts of every supported release, oldest
// first, glibc then musl.
func stockHosts(t testing.TB) []gatewayHost {
	tgs := readTargets(t)
	newest := tgs[len(tgs)-1]
	var hosts []gatewayHost
	for _, tg := range tgs {
		for _, libc := range []string{"glibc", "musl"} {
			hosts = append(hosts, gatewayHost{name: "KrakenD " + tg.Version + " " + libc, release: tg.Version, libc: libc, env: binEnv(tg, newest, libc)})
		}
	}
	return hosts
}

// A krakendHost is a gateway binary with the plugin built for it.
type krakendHost struct {
	Name    string // e.g. "KrakenD 2.12.1 musl", "example gateway"
	Release string // the KrakenD release, e.g. "2.12.1" (the example gateway: the newest)
	Go      string // the Go release the binary and the plugin are built with
	Libc    string // "glibc" or "musl"
	Env     string // the variable that named Bin; "" for the example gateway
	Bin     string // the gateway binary: `Bin run -c krakend.json`
	Plugin  string // the krakend-usage.so built for it, alone in its folder
}

// Stock reports whether the host is a stock KrakenD binary.
func (h krakendHost) Stock() bool { return h.Env != "" }

// krakendHosts returns the example gateway and every stock KrakenD host
// whose binary is named (see binEnv) and whose plugin can be built here,
// each with that plugin built. A host that is not there is logged, or
// fails the test under USAGE_TEST_REQUIRE_KRAKEND.
func krakendHosts(t testing.TB) []krakendHost {
	t.Helper()
	var hosts []krakendHost
	for _, spec := range append([]gatewayHost{gatewayHosts[0]}, stockHosts(t)...) {
		h, why := spec.find(t)
		if why != "" {
			if testenv.RequireKrakenD() {
				t.Errorf("%s: %s (USAGE_TEST_REQUIRE_KRAKEND is set)", spec.name, why)
			} else {
				t.Logf("%s: not run: %s", spec.name, why)
			}
			continue
		}
		hosts = append(hosts, h)
	}
	return hosts
}

// resolve finds the host's binary and builds its plugin, or skips the
// test saying why (fails it in CI).
func (spec gatewayHost) resolve(t testing.TB) krakendHost {
	t.Helper()
	h, why := spec.find(t)
	if why != "" {
		testenv.SkipOrFail(t, why)
	}
	return h
}

// find is resolve, returning why the host is not there instead of
// skipping. A binary that is there but is not the release and libc its
// variable says fails the test.
func (spec gatewayHost) find(t testing.TB) (h krakendHost, why string) {
	t.Helper()
	tg := readTarget(t)
	if spec.release != "" {
		tg = findTarget(t, spec.release)
	}
	h = krakendHost{Name: spec.name, Release: tg.Version, Go: tg.Go, Libc: spec.libc, Env: spec.env}
	kind := "plugin"
	if spec.libc == "musl" {
		kind = "plugin-musl"
	}
	if spec.env == "" {
		if h.Bin, why = built(t, tg, "gateway"); why != "" {
			return h, why
		}
	} else {
		h.Bin = os.Getenv(spec.env)
		if h.Bin == "" {
			return h, fmt.Sprintf("%s is not set: the tests in the stock KrakenD %s %s are skipped (e.g. %s=$(../shared/krakend-ce/build.sh %s %s))",
				spec.env, tg.Version, spec.libc, spec.env, spec.libc, tg.Version)
		}
		checkKrakenDBin(t, h)
	}
	h.Plugin, why = built(t, tg, kind)
	return h, why
}

// built is releaseBuild, returning why it cannot be built here instead
// of skipping.
func built(t testing.TB, tg krakendTarget, kind string) (path, why string) {
	t.Helper()
	r := buildOnce(tg, kind)
	if r.Out != "" {
		t.Fatalf("building the %s for KrakenD %s: %s", kind, tg.Version, r.Out)
	}
	return r.Path, r.Skip
}

func findTarget(t testing.TB, release string) krakendTarget {
	t.Helper()
	for _, tg := range readTargets(t) {
		if tg.Version == release {
			return tg
		}
	}
	t.Fatalf("KrakenD %s is not in targets/releases", release)
	return krakendTarget{}
}

var (
	krakendVersionLine = regexp.MustCompile(`(?m)^KrakenD Version: (\S+)`)
	goVersionLine      = regexp.MustCompile(`(?m)^Go Version: (?:go)?(\S+)`)
)

// checkKrakenDBin fails the test unless h.Bin is KrakenD h.Release, built
// with h.Go, linked against h.Libc (its ELF interpreter is ld-musl for
// musl): the variable naming it says which it must be.
func checkKrakenDBin(t testing.TB, h krakendHost) {
	t.Helper()
	if _, err := os.Stat(h.Bin); err != nil {
		t.Fatalf("%s=%s: %v", h.Env, h.Bin, err)
	}
	out, err := exec.Command(h.Bin, "version").CombinedOutput()
	v, g := krakendVersionLine.FindSubmatch(out), goVersionLine.FindSubmatch(out)
	if err != nil || v == nil || g == nil {
		t.Fatalf("%s=%s does not answer `krakend version` as KrakenD does: %v\n%s", h.Env, h.Bin, err, out)
	}
	if string(v[1]) != h.Release || string(g[1]) != h.Go {
		t.Fatalf("%s=%s is KrakenD %s built with Go %s; %s names KrakenD %s (Go %s): the variable of KrakenD %s is %s",
			h.Env, h.Bin, v[1], g[1], h.Env, h.Release, h.Go, v[1], binEnvOf(t, string(v[1]), h.Libc))
	}
	if libc := elfLibc(h.Bin); libc != "" && libc != h.Libc {
		t.Fatalf("%s=%s is linked against %s, want %s", h.Env, h.Bin, libc, h.Libc)
	}
}

func binEnvOf(t testing.TB, release, libc string) string {
	tgs := readTargets(t)
	for _, tg := range tgs {
		if tg.Version == release {
			return binEnv(tg, tgs[len(tgs)-1], libc)
		}
	}
	return "none: it is not in targets/releases"
}

// elfLibc is "musl" or "glibc" after the binary's ELF interpreter, or ""
// when it has none (static) or cannot be read.
func elfLibc(bin string) string {
	f, err := elf.Open(bin)
	if err != nil {
		return ""
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b, err := io.ReadAll(p.Open())
			if err != nil {
				return ""
			}
			if strings.Contains(string(b), "ld-musl") {
				return "musl"
			}
			return "glibc"
		}
	}
	return ""
}

// newE2E resolves host (skipping, or failing in CI, when it is not there)
// and starts a test backend.
func newE2E(t testing.TB, host gatewayHost) *e2e {
	t.Helper()
	return newE2EOn(t, host.resolve(t))
}

// newE2EOn is newE2E for a host already resolved.
func newE2EOn(t testing.TB, host krakendHost) *e2e {
	t.Helper()
	e := &e2e{host: host, dir: t.TempDir(), gateway: host.Bin, pluginDir: filepath.Dir(host.Plugin), prefix: krakend.PluginLogPrefix}
	e.backend = newTestBackend(t).URL
	return e
}

// e2e holds what the gateway runs share.
type e2e struct {
	host                             krakendHost
	gateway, pluginDir, backend, dir string
	noProbe                          bool // benchmarks load the gateway themselves
	// wrap runs the gateway under a command: `wrap... gateway run -c ...`
	// (krakend-usage run --).
	wrap []string
	// prefix tags the reporter's log lines: krakend.PluginLogPrefix for
	// the plugin, krakend.LogPrefix for the wrapper.
	prefix string
}

// config writes a copy of examples/krakend.json pointed at the test
// backend and collector, on a free port, with privacy markers added, then
// edited by edit.
func (e *e2e) config(t testing.TB, col *usagetest.Collector, edit func(map[string]interface{})) string {
	t.Helper()
	b, err := os.ReadFile("examples/krakend.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]interface{}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m["port"] = float64(usagetest.FreePort(t))
	m["plugin"] = map[string]interface{}{"pattern": "krakend-usage.so", "folder": e.pluginDir}
	for _, ep := range m["endpoints"].([]interface{}) {
		for _, be := range ep.(map[string]interface{})["backend"].([]interface{}) {
			be.(map[string]interface{})["host"] = []interface{}{e.backend}
		}
	}
	// Never probed; only there to be kept private.
	m["endpoints"] = append(m["endpoints"].([]interface{}), map[string]interface{}{
		"endpoint": "/markerpath/{id}", "method": "PATCH", "input_headers": []interface{}{"X-Marker-Header"},
		"backend": []interface{}{map[string]interface{}{
			"host": []interface{}{"http://markerhost.invalid"}, "url_pattern": "/markerbackendpath/{id}?markerquery=1", "method": "PATCH",
			"extra_config": map[string]interface{}{"marker/namespace": map[string]interface{}{"secret": "markersecret"}},
		}},
	})
	usageBlock(m)["url"] = col.URL
	usageBlock(m)["report_lapse"] = "1s"
	if edit != nil {
		edit(m)
	}
	file := e.write(t, m)
	// The marker must reach the parsed config for the privacy checks to
	// mean anything.
	cfg, err := krakendusage.NewConfigParser(testenv.NoEnv).Parse(file)
	if err != nil {
		t.Fatalf("parsing %s: %v", file, err)
	}
	testenv.MarkerHeaderParsed(t, cfg)
	return file
}

func usageBlock(m map[string]interface{}) map[string]interface{} {
	return m["extra_config"].(map[string]interface{})["plugin/http-server"].(map[string]interface{})[krakendusage.PluginName].(map[string]interface{})
}

// firstSession runs a gateway on file until its first session and
// returns the IDs it sent.
func (e *e2e) firstSession(t *testing.T, col *usagetest.Collector, file string, env, flags []string) usage.SessionRequest {
	t.Helper()
	g := e.start(t, col, file, env, flags...)
	deadline := time.Now().Add(30 * time.Second)
	for {
		sessions := col.Sessions()
		if len(sessions) > 0 {
			g.stop()
			testenv.IsUUID5(t, sessions[0].ClusterID)
			testenv.IsUUID5(t, sessions[0].ServerID)
			return sessions[0].SessionRequest
		}
		if time.Now().After(deadline) {
			t.Fatalf("no session:\n%s", g.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// variant writes a copy of the config file edited by edit.
func (e *e2e) variant(t *testing.T, file string, edit func(map[string]interface{})) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]interface{}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	return e.write(t, m)
}

func (e *e2e) write(t testing.TB, m map[string]interface{}) string {
	t.Helper()
	out, _ := json.MarshalIndent(m, "", "  ")
	f, err := os.CreateTemp(e.dir, "krakend-*.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(out); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}

// countsOf counts endpoints, methods, backends and agents of a config file
// independently of the code under test.
func countsOf(t *testing.T, file string) string {
	b, _ := os.ReadFile(file)
	var m struct {
		Endpoints []struct {
			Method  string        `json:"method"`
			Backend []interface{} `json:"backend"`
		} `json:"endpoints"`
		AsyncAgent []interface{} `json:"async_agent"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	methods, backends := map[string]int{}, 0
	for _, ep := range m.Endpoints {
		meth := strings.ToUpper(ep.Method)
		if meth == "" {
			meth = "GET"
		}
		methods[meth]++
		backends += len(ep.Backend)
	}
	return fmt.Sprint(len(m.Endpoints), methods, backends, len(m.AsyncAgent))
}

// newTestBackend answers every backend call of examples/krakend.json.
func newTestBackend(t testing.TB) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/posts") && strings.HasPrefix(r.URL.Path, "/users/") {
			fmt.Fprint(w, `[{"id":1}]`)
			return
		}
		fmt.Fprint(w, `{"id":1,"name":"n","email":"e"}`)
	}))
	t.Cleanup(s.Close)
	return s
}
