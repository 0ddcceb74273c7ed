package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	krakendusage "github.com/krakend-usage/krakend-usage"
	"github.com/krakend-usage/krakend-usage/internal/testenv"
	"github.com/krakend-usage/krakend-usage/usage/krakend"
	"github.com/krakend-usage/krakend-usage/usage/usagetest"
)

// Same IDs and same counts in every host: one configuration naming every
// component of the table, at the service, endpoint and backend levels, run
// in every gateway this machine has. Each host reports its cluster ID and
// payload to one collector; they must all agree, and every component must
// be counted under its current name, with nothing named in "other".

// componentsValue is what each component's block holds: not an object, so
// that every component a stock KrakenD would initialise from it refuses
// the block and leaves the gateway serving (they log an ERROR each).
const componentsValue = "off"

// allComponents maps every component but the http-server plugin (whose
// block enables this plugin) to componentsValue.
func allComponents() map[string]interface{} {
	m := map[string]interface{}{}
	for _, c := range krakend.Components() {
		if c != "plugin/http-server" {
			m[c] = componentsValue
		}
	}
	return m
}

// everyComponentConfig writes the configuration for one host: the same in
// every host but for the port, the plugin folder and the collector URL,
// which are not part of the cluster's identity. It enables the reporter both ways, as the plugin
// and as the decorator (telemetry/usage), so that a decorator host reads
// the same file.
func everyComponentConfig(t testing.TB, dir, pluginDir string, port int, col *usagetest.Collector, backendURL string) string {
	t.Helper()
	usageCfg := map[string]interface{}{"url": col.URL, "report_lapse": "1h"}
	service := allComponents()
	service["plugin/http-server"] = map[string]interface{}{"name": []interface{}{krakendusage.PluginName}, krakendusage.PluginName: usageCfg}
	service[krakendusage.Namespace] = usageCfg
	self := backendURL // one backend for every host: it is part of the config
	backend := func(path string) map[string]interface{} {
		return map[string]interface{}{"host": []interface{}{self}, "url_pattern": path, "extra_config": allComponents()}
	}
	m := map[string]interface{}{
		"version": 3, "name": "every component", "port": port, "timeout": "3s",
		"plugin":       map[string]interface{}{"pattern": "krakend-usage.so", "folder": pluginDir},
		"extra_config": service,
		"endpoints": []interface{}{
			map[string]interface{}{"endpoint": "/every", "method": "GET", "extra_config": allComponents(),
				"backend": []interface{}{backend("/__health")}},
			map[string]interface{}{"endpoint": "/plain", "method": "POST", "backend": []interface{}{
				map[string]interface{}{"host": []interface{}{self}, "url_pattern": "/__health"}}},
		},
	}
	b, _ := json.MarshalIndent(m, "", "  ")
	file := filepath.Join(dir, "krakend.json")
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// wantEveryComponent is the namespace count the configuration must give:
// each component three times (service, endpoint, backend) and nothing
// else; the http-server plugin block only enables this plugin, which is
// not counted.
func wantEveryComponent() map[string]int {
	want := map[string]int{}
	for c := range allComponents() {
		want[c] = 3
	}
	return want
}

// crossHost is a gateway binary, the plugin folder it loads from ("" for
// a decorator build or a stock KrakenD without the plugin) and how the
// reporter runs beside it.
type crossHost struct {
	name      string
	bin       string
	pluginDir string
	mode      string // krakend.ModePlugin, ModeDecorator, ModeWrapper or ModeSidecar
	channel   string // mode/libc it must report, as the collector shows it
}

// gateway3 builds the lura v3 example gateway of the lura3 module, with
// the shared goproxy when this machine needs it for lura v3.
func gateway3(t testing.TB) string {
	t.Helper()
	r := testenv.BuildTool("lura3", "./cmd/gateway3", "gateway3")
	if r.Out != "" {
		testenv.SkipOrFail(t, "cannot build the lura v3 gateway (lura v3 comes from the shared goproxy here: GOPROXY=file://…/shared/goproxy,…): "+r.Out)
	}
	return r.Path
}

// krakendUsage builds the static krakend-usage command (CGO_ENABLED=0).
func krakendUsage(t testing.TB) string {
	t.Helper()
	r := testenv.BuildTool(".", "./cmd/krakend-usage", "krakend-usage")
	if r.Out != "" {
		t.Fatalf("building krakend-usage: %s", r.Out)
	}
	return r.Path
}

// firstReport runs host on the every-component config until its first
// report and returns the cluster ID and the payload, without mode and libc.
func firstReport(t *testing.T, h crossHost, backendURL, upstream string) (string, krakend.Payload) {
	t.Helper()
	col := usagetest.NewCollector(t, 20)
	col.Upstream = upstream
	e := &e2e{host: krakendHost{Name: h.name}, gateway: h.bin, pluginDir: h.pluginDir, dir: t.TempDir(), noProbe: true}
	if h.mode == krakend.ModeWrapper {
		e.wrap = []string{krakendUsage(t), "run", "--"}
	}
	port := usagetest.FreePort(t)
	file := everyComponentConfig(t, e.dir, h.pluginDir, port, col, backendURL)
	g := e.start(t, col, file, nil)
	defer g.stop()
	if h.mode == krakend.ModeSidecar {
		startSidecar(t, file, port)
	}
	reports := col.WaitReports(t, 1, 60*time.Second)
	var p krakend.Payload
	if err := json.Unmarshal(reports[0].Data.Extra, &p); err != nil {
		t.Fatalf("%s: payload %q: %v\n%s", h.name, reports[0].Data.Extra, err, g.out.String())
	}
	if p.Mode != h.mode || !krakend.KnownLibc(p.Libc) {
		t.Errorf("%s: mode %q, libc %q; want %q and a known libc", h.name, p.Mode, p.Libc, h.mode)
	}
	p.Mode, p.Libc = "", ""
	return reports[0].Data.ClusterID, p
}

func TestSameIDsAndCountsInEveryHost(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every gateway")
	}
	// The example gateway and every stock KrakenD release and libc named
	// here (see krakendHosts), each with the plugin built for it.
	// Each stock KrakenD also runs without the plugin, under the
	// krakend-usage wrapper and beside the sidecar, on the same config.
	var hosts []crossHost
	for _, h := range krakendHosts(t) {
		hosts = append(hosts, crossHost{name: h.Name, bin: h.Bin, pluginDir: filepath.Dir(h.Plugin), mode: krakend.ModePlugin, channel: "plugin/" + h.Libc})
		if h.Stock() {
			hosts = append(hosts,
				crossHost{name: h.Name + " (wrapper)", bin: h.Bin, pluginDir: t.TempDir(), mode: krakend.ModeWrapper, channel: "wrapper/" + h.Libc},
				crossHost{name: h.Name + " (sidecar)", bin: h.Bin, pluginDir: t.TempDir(), mode: krakend.ModeSidecar, channel: "sidecar/" + h.Libc})
		}
	}
	if len(hosts) == 0 {
		t.Fatal("no gateway to run")
	}
	// Built with CGO_ENABLED=0: no C library.
	hosts = append(hosts, crossHost{name: "lura v3 gateway (decorator)", bin: gateway3(t), mode: krakend.ModeDecorator, channel: "decorator/none"})

	type result struct {
		cluster string
		payload krakend.Payload
	}
	backend := newTestBackend(t).URL
	// Every host reports, through a recording relay, to one real collector,
	// whose install channels must then count each host once.
	collector := testenv.StartCollector(t)
	var mu sync.Mutex
	got := map[string]result{}
	t.Run("hosts", func(t *testing.T) {
		for _, h := range hosts {
			t.Run(h.name, func(t *testing.T) {
				t.Parallel()
				c, p := firstReport(t, h, backend, collector)
				mu.Lock()
				got[h.name] = result{c, p}
				mu.Unlock()
			})
		}
	})
	if t.Failed() {
		return
	}
	ref := got[hosts[0].name]
	want := wantEveryComponent()
	if fmt.Sprint(ref.payload.Namespaces) != fmt.Sprint(want) {
		var missing, extra []string
		for c, n := range want {
			if ref.payload.Namespaces[c] != n {
				missing = append(missing, fmt.Sprintf("%s: %d, want %d", c, ref.payload.Namespaces[c], n))
			}
		}
		for c := range ref.payload.Namespaces {
			if _, ok := want[c]; !ok {
				extra = append(extra, c)
			}
		}
		sort.Strings(missing)
		t.Errorf("%s counts the components wrongly: %s; unexpected: %v", hosts[0].name, strings.Join(missing, "; "), extra)
	}
	if ref.payload.Endpoints != 2 || ref.payload.Backends != 2 || fmt.Sprint(ref.payload.Methods) != "map[GET:1 POST:1]" {
		t.Errorf("%s: endpoints %d, backends %d, methods %v; want 2, 2, map[GET:1 POST:1]", hosts[0].name, ref.payload.Endpoints, ref.payload.Backends, ref.payload.Methods)
	}
	for _, h := range hosts[1:] {
		r := got[h.name]
		if r.cluster != ref.cluster {
			t.Errorf("cluster ID %s in %s, %s in %s", r.cluster, h.name, ref.cluster, hosts[0].name)
		}
		if a, b := string(r.payload.JSON()), string(ref.payload.JSON()); a != b {
			t.Errorf("payload in %s:\n%s\nin %s:\n%s", h.name, a, hosts[0].name, b)
		}
	}
	t.Logf("cluster %s in %d hosts", ref.cluster, len(hosts))
	checkChannels(t, collector, hosts)
}

// checkChannels compares the collector's install channels with the hosts
// that reported: one server per host, each under its mode and libc.
func checkChannels(t *testing.T, collector string, hosts []crossHost) {
	t.Helper()
	want := map[string]int64{}
	for _, h := range hosts {
		want[h.channel]++
	}
	var stats struct {
		Channels struct {
			Channel []struct {
				Value   string `json:"value"`
				Servers int64  `json:"servers"`
			} `json:"channel"`
		} `json:"channels"`
	}
	collectorStats(t, collector, &stats)
	got := map[string]int64{}
	for _, c := range stats.Channels.Channel {
		got[c.Value] = c.Servers
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("the collector's channels: %v, want %v (one server per host)", got, want)
	}
}

// collectorStats decodes the real collector's /api/stats into v.
func collectorStats(t *testing.T, collector string, v interface{}) {
	t.Helper()
	resp, err := http.Get(collector + "/api/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}
