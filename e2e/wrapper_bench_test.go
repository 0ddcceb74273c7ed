package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	krakendusage "github.com/krakend-usage/krakend-usage"
	"github.com/krakend-usage/krakend-usage/internal/testenv"
	"github.com/krakend-usage/krakend-usage/usage/krakend"
	"github.com/krakend-usage/krakend-usage/usage/usagetest"
)

// BenchmarkWrapper measures what the krakend-usage wrapper costs the
// requests of the stock KrakenD (KRAKEND_BIN, KRAKEND_MUSL_BIN): two
// gateways on the same config, one under the wrapper and reporting, one
// bare, loaded at once by the same workers, as BenchmarkGateway does for
// the plugin. It reports wrapped-req/s, bare-req/s and their ratio, and
// the wrapper process's resident memory (wrapper-rss-MB).
//
//	GOWORK=off go test -run '^$' -bench 'BenchmarkWrapper$' -benchtime 5s -count 3 .
func BenchmarkWrapper(b *testing.B) {
	for _, host := range gatewayHosts[1:] {
		b.Run(host.name, func(b *testing.B) {
			wrapped, bare, cfgs := wrapperPair(b, host)
			col := usagetest.NewCollector(b, 20)
			w := wrapped.start(b, col, cfgs[0], nil)
			p := bare.start(b, col, cfgs[1], nil)
			w.waitLog(b, "Report accepted")
			rss := rssMB(w.cmd.Process.Pid)
			rates := loadBoth(b, [2]int{w.port, p.port})
			b.ReportMetric(rates[0], "wrapped-req/s")
			b.ReportMetric(rates[1], "bare-req/s")
			if rates[1] > 0 {
				b.ReportMetric(rates[0]/rates[1], "ratio")
			}
			b.ReportMetric(rss, "wrapper-rss-MB")
		})
	}
}

// BenchmarkWrapperStart measures the time from exec to the first answered
// /__health of the stock KrakenD, bare and under the wrapper: each
// iteration starts one of each, alternately, and the medians are
// reported (start-ms-bare, start-ms-wrapped) with their difference.
//
//	GOWORK=off go test -run '^$' -bench BenchmarkWrapperStart -benchtime 15x .
func BenchmarkWrapperStart(b *testing.B) {
	for _, host := range gatewayHosts[1:] {
		b.Run(host.name, func(b *testing.B) {
			wrapped, bare, cfgs := wrapperPair(b, host)
			var ms [2][]float64
			for range b.N {
				ms[0] = append(ms[0], startMS(b, wrapped, cfgs[0]))
				ms[1] = append(ms[1], startMS(b, bare, cfgs[1]))
			}
			w, p := median(ms[0]), median(ms[1])
			b.ReportMetric(w, "start-ms-wrapped")
			b.ReportMetric(p, "start-ms-bare")
			b.ReportMetric(w-p, "start-ms-added")
		})
	}
}

// wrapperPair returns the end-to-end setups of host under the wrapper and
// bare (no plugin in either), with a config for each, reporting every
// minute to a collector that accepts everything.
func wrapperPair(b *testing.B, host gatewayHost) (wrapped, bare *e2e, cfgs [2]string) {
	b.Helper()
	wrapped = newE2E(b, host)
	wrapped.noProbe = true
	wrapped.pluginDir = b.TempDir()
	cp := *wrapped
	bare = &cp
	wrapped.wrap, wrapped.prefix = []string{krakendUsage(b), "run", "--"}, krakend.LogPrefix
	col := usagetest.NewCollector(b, 20)
	edit := func(m map[string]interface{}) { usageBlock(m)["report_lapse"] = "1m" }
	return wrapped, bare, [2]string{wrapped.config(b, col, edit), bare.config(b, col, edit)}
}

func median(v []float64) float64 {
	sort.Float64s(v)
	return v[len(v)/2]
}

// startMS starts e's gateway on cfg and returns the milliseconds from
// exec to its first answered /__health, then stops it.
func startMS(b *testing.B, e *e2e, cfg string) float64 {
	b.Helper()
	port := configPort(b, cfg)
	argv := append(append([]string{}, e.wrap...), e.gateway, "run", "-c", cfg)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir, cmd.Env = e.dir, append(gatewayEnv(), "USAGE_DISABLE=", "DO_NOT_TRACK=")
	url := fmt.Sprintf("http://127.0.0.1:%d/__health", port)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	for {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return float64(time.Since(start).Microseconds()) / 1000
			}
		}
		if time.Since(start) > 30*time.Second {
			b.Fatalf("%v not serving after 30s", argv)
		}
		time.Sleep(time.Millisecond)
	}
}

// configPort reads the port of a config written by e.config.
func configPort(b *testing.B, cfg string) int {
	c, err := krakendusage.NewConfigParser(testenv.NoEnv).Parse(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return c.Port
}

// loadBoth loads two gateways at once with the benchmark's b.N requests,
// half of the workers on each, and returns each one's requests per second.
func loadBoth(b *testing.B, ports [2]int) [2]float64 {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxIdleConns: 256}}
	get := func(port int) error {
		resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/users/1", port))
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
	for range 200 {
		get(ports[0])
		get(ports[1])
	}
	var worker atomic.Int64
	var served [2]atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		arm := worker.Add(1) % 2
		for pb.Next() {
			if err := get(ports[arm]); err != nil {
				b.Error(err)
				return
			}
			served[arm].Add(1)
		}
	})
	elapsed := time.Since(start).Seconds()
	b.StopTimer()
	return [2]float64{float64(served[0].Load()) / elapsed, float64(served[1].Load()) / elapsed}
}

// rssMB is the resident memory of process pid in MB, 0 when unknown.
func rssMB(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// BenchmarkWrapperMemory runs the wrapper beside the stock KrakenD for
// many report cycles (a 5ms lapse, the least proof of work) and reports
// its resident memory after the first 100 reports, after 2,000 more and
// after 6,000 more: at the default 12h lapse, 8,000 reports are 11 years.
//
//	GOWORK=off go test -run '^$' -bench BenchmarkWrapperMemory -benchtime 1x .
func BenchmarkWrapperMemory(b *testing.B) {
	e := newE2E(b, gatewayHosts[1])
	e.noProbe = true
	e.pluginDir = b.TempDir()
	e.wrap, e.prefix = []string{krakendUsage(b), "run", "--"}, krakend.LogPrefix
	col := usagetest.NewCollector(b, 1)
	g := e.start(b, col, e.config(b, col, func(m map[string]interface{}) {
		usageBlock(m)["report_lapse"] = "5ms"
		usageBlock(m)["hash_bits"] = 1.0
	}), []string{"USAGE_LOG_LEVEL=WARNING"})
	for range b.N {
		col.WaitReports(b, 100, 60*time.Second)
		early := rssMB(g.cmd.Process.Pid)
		col.WaitReports(b, 2100, 10*time.Minute)
		mid := rssMB(g.cmd.Process.Pid)
		col.WaitReports(b, 8100, 20*time.Minute)
		late := rssMB(g.cmd.Process.Pid)
		b.ReportMetric(early, "rss-MB-at-100")
		b.ReportMetric(mid, "rss-MB-at-2100")
		b.ReportMetric(late, "rss-MB-at-8100")
	}
}
