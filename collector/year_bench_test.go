package collector

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/store"
)

// YearEnv turns BenchmarkYear on: the number of servers to simulate
// ("1" for 300). Off by default: it stores a year of reports.
const YearEnv = "USAGE_BENCH_YEAR"

// BenchmarkYear simulates a year of a fleet through Store.Insert (servers
// in clusters of 10, two reports a day each, a payload on every first
// report, an upgrade every quarter) and reports the database size per
// stored report and per server each quarter: with the default retention
// (nothing pruned within a year) and with 30 days, pruned daily, where the
// size must stop growing.
func BenchmarkYear(b *testing.B) {
	servers := 300
	switch v := os.Getenv(YearEnv); v {
	case "":
		b.Skip("year benchmark skipped: set " + YearEnv + "=1 (300 servers) or a number of servers")
	case "1":
	default:
		fmt.Sscan(v, &servers)
	}
	for _, retention := range []time.Duration{DefaultRetention, 30 * 24 * time.Hour} {
		name := fmt.Sprintf("retention=%dd", int(retention.Hours()/24))
		b.Run(name, func(b *testing.B) {
			onBenchBackends(b, "", func(b *testing.B, be benchBackend) {
				simulateYear(b, be.store, servers, retention, func() int64 {
					if be.dialect == "postgres" {
						be.db.Exec("VACUUM") // what autovacuum does over a day: dead rows become reusable
					}
					return be.size() // SQLite's WAL is bounded apart (16 MB, see store/sqlite)
				})
			})
		})
	}
}

func simulateYear(b *testing.B, st store.Store, servers int, retention time.Duration, size func() int64) {
	ctx := context.Background()
	start := time.Now().UTC().Truncate(24*time.Hour).AddDate(-1, 0, 0)
	payload := gatewayPayload(25, 40, map[string]int{"GET": 20, "POST": 5}, map[string]int{"router": 1, "qos/ratelimit/router": 12, "auth/validator": 3})
	var reports int64
	for b.Loop() {
		for day := range 365 {
			for half := range 2 {
				var wg sync.WaitGroup
				for w := range 32 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for s := w; s < servers; s += 32 {
							recv := start.Add(time.Duration(day)*24*time.Hour + time.Duration(half)*12*time.Hour + time.Duration(s)*time.Second)
							r := &store.Report{Received: recv, ReportTime: recv, ClusterID: fmt.Sprintf("cluster-%d", s/10),
								ServerID: fmt.Sprintf("server-%d", s), Version: fmt.Sprintf("2.%d.0", 10+day/90), OS: "linux", Arch: "amd64",
								Uptime: int64(day * 86400), Stamp: fmt.Sprintf("1:20:%s:tok%d-%d-%d::salt:0", recv.Format("060102"), s, day, half)}
							if day == 0 && half == 0 {
								r.Extra = payload
							}
							if err := st.Insert(ctx, r); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				reports += int64(servers)
			}
			now := start.Add(time.Duration(day+1) * 24 * time.Hour)
			if _, err := st.Prune(ctx, now, now.Add(-retention)); err != nil {
				b.Fatal(err)
			}
			if (day+1)%91 == 0 || day == 364 {
				n := size()
				stats, err := st.Stats(ctx, now)
				if err != nil {
					b.Fatal(err)
				}
				b.Logf("day %3d: %8d reports, %7d kept raw, database %6.1f MB: %5.0f bytes/report, %6.0f bytes/server",
					day+1, reports, stats.RetainedReports, float64(n)/(1<<20), float64(n)/float64(reports), float64(n)/float64(servers))
				if day == 364 {
					b.ReportMetric(float64(n)/float64(reports), "bytes/report")
					b.ReportMetric(float64(n)/float64(servers), "bytes/server")
				}
			}
		}
	}
}
