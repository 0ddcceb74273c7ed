package collector

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/store"
)

// manyVersions is how many distinct versions the tests below report in
// one day: each from a server and a cluster of its own, with a payload of
// three features, so every version is also a cluster version, an uptime
// pair and three feature-version pairs.
const manyVersions = 40_000

// Bounds asserted with manyVersions distinct versions stored.
const (
	// maxStatsAlloc is what one /api/stats answer may allocate.
	maxStatsAlloc = 4 << 20
)

// insertManyVersions stores n reports on the day of now, each of a
// version, a server and a cluster of its own, through Store.Insert from
// 64 goroutines (so the writer commits them in batches, as it does for
// a crowd of reporters).
func insertManyVersions(tb testing.TB, st store.Store, n int, now time.Time) {
	tb.Helper()
	payload := gatewayPayload(25, 40, map[string]int{"GET": 20}, map[string]int{"router": 1, "proxy": 1, "qos/ratelimit/router": 12})
	day := now.UTC().Truncate(24 * time.Hour)
	var wg sync.WaitGroup
	for w := range 64 {
		wg.Go(func() {
			for i := w; i < n; i += 64 {
				recv := day.Add(time.Duration(i) * time.Second % (20 * time.Hour))
				r := &store.Report{Received: recv, ReportTime: recv, ClusterID: fmt.Sprintf("c%d", i), ServerID: fmt.Sprintf("s%d", i),
					Version: fmt.Sprintf("2.%d.%d", i/100, i%100), OS: "linux", Arch: "amd64", Uptime: int64(i),
					Extra: payload, Stamp: fmt.Sprintf("1:20:%s:many%d::salt:0", recv.Format("060102"), i)}
				if err := st.Insert(context.Background(), r); err != nil {
					tb.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// getStats answers /api/stats and returns its size and the bytes the
// process allocated meanwhile.
func getStats(tb testing.TB, url string) (size, alloc int64) {
	tb.Helper()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	resp, err := http.Get(url + "/api/stats")
	if err != nil {
		tb.Fatal(err)
	}
	size, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	runtime.ReadMemStats(&m1)
	if resp.StatusCode != 200 {
		tb.Fatalf("/api/stats: %d", resp.StatusCode)
	}
	return size, int64(m1.TotalAlloc - m0.TotalAlloc)
}

// TestStatsBoundedManyVersions: with 40,000 distinct versions reported in
// one day, /api/stats stays under 64 KiB and one answer allocates at most
// maxStatsAlloc, on each backend.
func TestStatsBoundedManyVersions(t *testing.T) {
	if testing.Short() {
		t.Skip("stores 40,000 reports")
	}
	onBothBackends(t, func(t *testing.T, open func() store.Store) {
		clk := &clock{}
		st := open()
		insertManyVersions(t, st, manyVersions, clk.now())
		_, url := serve(t, st, Config{Now: clk.now})
		getStats(t, url) // the first answer also warms the connection pools
		size, alloc := getStats(t, url)
		t.Logf("/api/stats: %d bytes, %d KB allocated", size, alloc>>10)
		if size > maxStatsAnswer {
			t.Errorf("/api/stats answered %d bytes, want at most %d", size, maxStatsAnswer)
		}
		if alloc > maxStatsAlloc {
			t.Errorf("one /api/stats answer allocated %d MB, want at most %d MB", alloc>>20, maxStatsAlloc>>20)
		}
	})
}

// BenchmarkStatsManyVersions times /api/stats over loopback after 40,000
// distinct versions were reported in one day (see insertManyVersions),
// on SQLite and PostgreSQL, and reports the answer's size, the bytes one
// answer allocates, the process's peak RSS (the whole benchmark process,
// collector and load alike) and the database's size.
func BenchmarkStatsManyVersions(b *testing.B) {
	onBenchBackends(b, "", benchManyVersions)
}

func benchManyVersions(b *testing.B, be benchBackend) {
	t0 := time.Now()
	insertManyVersions(b, be.store, manyVersions, time.Now())
	b.Logf("stored %d reports of distinct versions in %s", manyVersions, time.Since(t0).Round(time.Millisecond))
	ts := benchServer(b, be.store)
	var size, alloc int64
	for b.Loop() {
		size, alloc = getStats(b, ts.URL)
	}
	b.ReportMetric(float64(size), "answer-bytes")
	b.ReportMetric(float64(alloc)/(1<<20), "alloc-MB/op")
	b.ReportMetric(float64(peakRSS(b, os.Getpid()))/(1<<20), "peak-RSS-MB")
	b.ReportMetric(float64(be.size())/(1<<20), "db-MB")
}
