package krakendusage

import (
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkGateway measures requests per second through a gateway with
// the krakend-usage plugin loaded and reporting (enabled) and
// loaded but switched off with USAGE_DISABLE=1 (disabled), both running and
// loaded at once against one local backend, in the same run. The plugin
// adds nothing to the request path, so the ratio (enabled/disabled) should
// be 1 within noise:
//
//	GOWORK=off go test -run '^$' -bench BenchmarkGateway -benchtime 3s -count 5 .
//
// It runs in each host of the end-to-end suite: the stock KrakenD when
// KRAKEND_BIN (and KRAKEND_MUSL_BIN) names it, and the example gateway.
func BenchmarkGateway(b *testing.B) {
	for _, host := range gatewayHosts {
		b.Run(host.name, func(b *testing.B) { benchmarkGateway(b, host) })
	}
}

func benchmarkGateway(b *testing.B, host gatewayHost) {
	e := newE2E(b, host)
	e.noProbe = true
	col := newTestCollector(b, 20)
	edit := func(m map[string]interface{}) { usageBlock(m)["report_lapse"] = "1m" }
	enabled := e.start(b, col, e.config(b, col, edit), nil)
	disabled := e.start(b, col, e.config(b, col, edit), []string{"USAGE_DISABLE=1"})
	enabled.waitLog(b, "Report accepted") // the reporter is really running
	disabled.waitLog(b, "Usage reporter disabled by the USAGE_DISABLE")

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxIdleConns: 256}}
	urls := [2]string{
		fmt.Sprintf("http://127.0.0.1:%d/users/1", enabled.port),
		fmt.Sprintf("http://127.0.0.1:%d/users/1", disabled.port),
	}
	get := func(url string) error {
		resp, err := client.Get(url)
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
	for range 200 { // warm up both
		get(urls[0])
		get(urls[1])
	}

	// Both gateways are loaded at the same time, by the same number of
	// workers: drift on the machine hits both alike. Each worker sticks to
	// one gateway; the faster gateway serves more of the b.N requests.
	var worker atomic.Int64
	var served [2]atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		arm := worker.Add(1) % 2
		for pb.Next() {
			if err := get(urls[arm]); err != nil {
				b.Error(err)
				return
			}
			served[arm].Add(1)
		}
	})
	elapsed := time.Since(start).Seconds()
	b.StopTimer()
	on, off := float64(served[0].Load())/elapsed, float64(served[1].Load())/elapsed
	b.ReportMetric(on, "enabled-req/s")
	b.ReportMetric(off, "disabled-req/s")
	if off > 0 {
		b.ReportMetric(on/off, "ratio")
	}
}
