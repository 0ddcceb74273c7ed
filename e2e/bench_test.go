package e2e

import (
	"testing"

	"github.com/krakend-usage/krakend-usage/usage/usagetest"
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
	col := usagetest.NewCollector(b, 20)
	edit := func(m map[string]interface{}) { usageBlock(m)["report_lapse"] = "1m" }
	enabled := e.start(b, col, e.config(b, col, edit), nil)
	disabled := e.start(b, col, e.config(b, col, edit), []string{"USAGE_DISABLE=1"})
	enabled.waitLog(b, "Report accepted") // the reporter is really running
	disabled.waitLog(b, "Usage reporter disabled by the USAGE_DISABLE")

	rates := loadBoth(b, [2]int{enabled.port, disabled.port})
	on, off := rates[0], rates[1]
	b.ReportMetric(on, "enabled-req/s")
	b.ReportMetric(off, "disabled-req/s")
	if off > 0 {
		b.ReportMetric(on/off, "ratio")
	}
}
