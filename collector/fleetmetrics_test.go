package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/store"
	"github.com/krakend-usage/krakend-usage/collector/store/sqlite"
)

// gatedStats is a real store whose Stats waits until the test lets it
// through, or fails while the test says so: what a database with more
// distinct values than a stats query reads in time looks like to the
// fleet gauges.
type gatedStats struct {
	store.Store
	gate chan struct{}
	fail atomic.Bool
}

func (g *gatedStats) Stats(ctx context.Context, now time.Time) (*store.Stats, error) {
	select {
	case <-g.gate:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if g.fail.Load() {
		return nil, errors.New("stats took too long")
	}
	return g.Store.Stats(ctx, now)
}

var fleetAge = regexp.MustCompile(`(?m)^usage_fleet_age_seconds (\S+)$`)

// scrapeFleet returns /metrics, and its usage_fleet_age_seconds (-1 when
// absent).
func scrapeFleet(t *testing.T, url string) (string, float64) {
	t.Helper()
	_, body := getJSON(t, url+"/metrics", nil)
	m := fleetAge.FindStringSubmatch(body)
	if m == nil {
		return body, -1
	}
	age, _ := strconv.ParseFloat(m[1], 64)
	return body, age
}

// TestFleetMetricsNeverFreeze: the fleet gauges are computed in the
// background and say their age. While the stats cannot be computed, a
// scrape still answers, with usage_fleet_age_seconds and no figures; once
// they are, the figures appear; when later computations fail, the last
// figures stay and their age grows.
func TestFleetMetricsNeverFreeze(t *testing.T) {
	real, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "usage.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer real.Close()
	now := time.Now()
	for i := range 4 {
		r := &store.Report{Received: now, ReportTime: now, ClusterID: "c", ServerID: fmt.Sprint("s", i), Version: "2.13.2",
			OS: "linux", Arch: "amd64", Stamp: fmt.Sprint("1:8:", now.Format("060102"), ":f", i, "::s:0")}
		if err := real.Insert(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	st := &gatedStats{Store: real, gate: make(chan struct{})}
	srv, url := serve(t, st, Config{FleetMetrics: true, Logger: slog.New(slog.DiscardHandler)})
	const figure = `usage_fleet_active{kind="servers",window="24h"} 4`

	body, age := scrapeFleet(t, url)
	if age < 0 || strings.Contains(body, "usage_fleet_active") {
		t.Fatalf("while the stats cannot be computed: age %v, figures %v; want the age and no figures", age, strings.Contains(body, "usage_fleet_active"))
	}

	close(st.gate)
	deadline := time.Now().Add(10 * time.Second)
	for body, age = scrapeFleet(t, url); !strings.Contains(body, figure); body, age = scrapeFleet(t, url) {
		if time.Now().After(deadline) {
			t.Fatalf("the figures never came once the stats could be computed:\n%s", body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if age > 5 {
		t.Errorf("fresh figures %v s old", age)
	}

	// From now on every computation fails.
	st.fail.Store(true)
	srv.fleet.mu.Lock()
	srv.fleet.every = 0
	srv.fleet.mu.Unlock()
	time.Sleep(100 * time.Millisecond)
	body, later := scrapeFleet(t, url)
	if !strings.Contains(body, figure) || later <= age {
		t.Errorf("after failed computations: figures kept %v, age %v after %v; want the last figures, older", strings.Contains(body, figure), later, age)
	}
}
