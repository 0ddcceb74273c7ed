package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/store"
)

// fleetNow is a Wednesday noon: weeks start on the Monday two days before.
var fleetNow = time.Date(2025, 6, 18, 12, 0, 0, 0, time.UTC)

func gateway(endpoints, backends int, methods, namespaces map[string]int) []byte {
	b, _ := json.Marshal(map[string]any{"endpoints": endpoints, "backends": backends, "methods": methods,
		"namespaces": namespaces, "async_agents": 0})
	return b
}

func insertAll(t *testing.T, s store.Store, rs ...*store.Report) {
	t.Helper()
	for _, r := range rs {
		if err := s.Insert(context.Background(), r); err != nil {
			t.Fatalf("Insert %s/%s: %v", r.ClusterID, r.ServerID, err)
		}
	}
}

func with(r *store.Report, f func(r *store.Report)) *store.Report { f(r); return r }

func statsRange(t *testing.T, s store.Store, now time.Time, days int) *store.Stats {
	t.Helper()
	st, err := s.StatsRange(context.Background(), now, days)
	if err != nil {
		t.Fatalf("StatsRange(%d): %v", days, err)
	}
	return st
}

// testFeatures: features, methods, backends per endpoint and servers per
// cluster come from each server's and cluster's latest payload; opaque
// and omitted payloads count as no features.
func testFeatures(t *testing.T, open Opener) {
	s := mustOpen(t, open)
	big := gateway(10, 20, map[string]int{"GET": 8, "post": 2}, map[string]int{"qos/ratelimit/router": 3, "auth/validator": 1, "x y": 1, "unused": 0})
	small := gateway(3, 3, map[string]int{"GET": 3}, map[string]int{"qos/ratelimit/router": 1, "telemetry/logging": 2})
	at := func(h int) time.Time { return fleetNow.Add(-time.Duration(h) * time.Hour) }
	insertAll(t, s,
		with(report("A", "a1", at(5)), func(r *store.Report) { r.Extra = big }),
		with(report("A", "a2", at(5)), func(r *store.Report) { r.Extra = big }),
		with(report("A", "a3", at(4)), func(r *store.Report) { r.Extra = big }),
		// a1's next report carries no extra: it keeps its payload.
		report("A", "a1", at(1)),
		with(report("B", "b1", at(3)), func(r *store.Report) { r.Extra = small }),
		// The original client's opaque extra, and an omitted one.
		with(report("O", "o1", at(2)), func(r *store.Report) { r.Extra = []byte("opaque bytes") }),
		with(report("X", "x1", at(2)), func(r *store.Report) { r.ExtraOmitted = true }),
		// b2 first sent small, then a payload that is not the gateway's:
		// its latest payload has no features. New to cluster B that day,
		// it does not replace B's payload (b1's).
		with(report("B", "b2", at(3)), func(r *store.Report) { r.Extra = small }),
		with(report("B", "b2", at(2)), func(r *store.Report) { r.Extra = []byte(`[1,2]`) }),
	)
	st := stats(t, s, fleetNow)
	want := []store.Feature{
		{Value: "qos/ratelimit/router", Clusters: 2, Servers: 4},
		{Value: "auth/validator", Clusters: 1, Servers: 3},
		{Value: "telemetry/logging", Clusters: 1, Servers: 1},
		{Value: "other", Clusters: 1, Servers: 3},
	}
	// Server b2's latest payload is not JSON of ours (no features); its
	// cluster B keeps b1's.
	if !reflect.DeepEqual(st.Features, want) {
		t.Errorf("features\ngot  %+v\nwant %+v", st.Features, want)
	}
	wantM := []store.Feature{{Value: "GET", Clusters: 2, Servers: 4}, {Value: "POST", Clusters: 1, Servers: 3}}
	if !reflect.DeepEqual(st.Methods, wantM) {
		t.Errorf("methods\ngot  %+v\nwant %+v", st.Methods, wantM)
	}
	bpe := map[string]int64{}
	for _, c := range st.BackendsPerEndpoint {
		bpe[c.Value] = c.Servers
	}
	if bpe["1-2"] != 3 || bpe["1"] != 1 || len(st.BackendsPerEndpoint) != len(store.RatioBuckets) {
		t.Errorf("backends per endpoint got %+v, want 3 servers at 1-2 and 1 at 1", st.BackendsPerEndpoint)
	}
	sizes := map[string]int64{}
	for _, c := range st.ServersPerCluster {
		sizes[c.Value] = c.Clusters
	}
	if sizes["3"] != 1 || sizes["2"] != 1 || sizes["1"] != 2 {
		t.Errorf("servers per cluster got %+v, want A:3, B:2, O and X: 1", st.ServersPerCluster)
	}
	eps := map[string]int64{}
	for _, b := range st.Endpoints {
		eps[b.Label] = b.Servers
	}
	if eps["6-10"] != 3 || eps["1-5"] != 1 {
		t.Errorf("endpoints got %+v, want 3 in 6-10 and 1 in 1-5", st.Endpoints)
	}
	if st.ActiveClusters.Range != 4 || st.ActiveServers.Range != 7 {
		t.Errorf("active in range got %d clusters %d servers, want 4 and 7", st.ActiveClusters.Range, st.ActiveServers.Range)
	}
}

// testVersionsWeekly: distinct servers per version and ISO week, exact
// when a server goes back and forth between versions.
func testVersionsWeekly(t *testing.T, open Opener) {
	s := mustOpen(t, open)
	week := 7 * 24 * time.Hour
	v := func(r *store.Report, version string) *store.Report { r.Version = version; return r }
	insertAll(t, s,
		v(report("C", "s1", fleetNow.Add(-2*week)), "2.12.0"),
		v(report("C", "s1", fleetNow.Add(-week)), "2.13.0"),
		v(report("C", "s2", fleetNow.Add(-week)), "2.13.0"),
		v(report("C", "s1", fleetNow.Add(-40*time.Hour)), "2.13.0"),
		v(report("C", "s1", fleetNow.Add(-30*time.Hour)), "2.12.0"),
		v(report("C", "s1", fleetNow.Add(-20*time.Hour)), "2.13.0"),
		v(report("C", "s1", fleetNow.Add(-10*time.Hour)), "2.13.0"),
		v(report("C", "s2", fleetNow.Add(-10*time.Hour)), "2.13.0"),
		v(report("C", "s3", fleetNow.Add(-9*time.Hour)), "2.14.0"),
	)
	st := stats(t, s, fleetNow)
	if len(st.VersionsWeekly) != store.Weeks {
		t.Fatalf("got %d weeks, want %d", len(st.VersionsWeekly), store.Weeks)
	}
	got := map[string]map[string]int64{}
	for _, w := range st.VersionsWeekly[store.Weeks-3:] {
		got[w.Week] = map[string]int64{}
		for _, c := range w.Versions {
			got[w.Week][c.Value] = c.Servers
		}
	}
	want := map[string]map[string]int64{
		"2025-W23": {"2.12.0": 1},
		"2025-W24": {"2.13.0": 2},
		"2025-W25": {"2.13.0": 2, "2.12.0": 1, "2.14.0": 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("versions_weekly (last 3 weeks)\ngot  %v\nwant %v", got, want)
	}
	if last := st.VersionsWeekly[store.Weeks-1]; last.Versions[0].Value != "2.13.0" {
		t.Errorf("week %s not sorted by servers: %+v", last.Week, last.Versions)
	}
}

// testGrowth: new clusters by first week, active clusters per week, and
// churned clusters counted in the week of their last report once 30
// silent days have passed.
func testGrowth(t *testing.T, open Opener) {
	s := mustOpen(t, open)
	day := 24 * time.Hour
	insertAll(t, s,
		report("G1", "g1", fleetNow.Add(-70*day)), // W15
		report("G1", "g1", fleetNow.Add(-63*day)), // W16: its last; churned
		report("G2", "g2", fleetNow.Add(-63*day)), // W16
		report("G2", "g2", fleetNow.Add(-20*day)), // W22: silent 20 days, not churned yet
		report("G3", "g3", fleetNow.Add(-1*day)),  // W25
		report("G3", "g3x", fleetNow.Add(-1*day)),
		report("G3", "g3", fleetNow.Add(-2*time.Hour)),
	)
	st := stats(t, s, fleetNow)
	if len(st.Growth) != store.Weeks {
		t.Fatalf("got %d growth weeks for 30 days, want %d", len(st.Growth), store.Weeks)
	}
	got := map[string]store.Growth{}
	for _, g := range st.Growth {
		if g.NewClusters != 0 || g.ChurnedClusters != 0 || g.ActiveClusters != 0 {
			g2 := g
			g2.Week = ""
			got[g.Week] = g2
		}
	}
	want := map[string]store.Growth{
		"2025-W15": {NewClusters: 1, ActiveClusters: 1},
		"2025-W16": {NewClusters: 1, ActiveClusters: 2, ChurnedClusters: 1},
		"2025-W22": {ActiveClusters: 1},
		"2025-W25": {NewClusters: 1, ActiveClusters: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("growth\ngot  %+v\nwant %+v", got, want)
	}
	if g := statsRange(t, s, fleetNow, 365).Growth; len(g) < 52 || g[len(g)-1].Week != "2025-W25" {
		t.Errorf("growth over 365 days: %d weeks ending %v", len(g), g[len(g)-1])
	}
}

// testRange: ?days=N sets the days, the range window and the breakdowns.
func testRange(t *testing.T, open Opener) {
	s := mustOpen(t, open)
	day := 24 * time.Hour
	insertAll(t, s,
		with(report("R", "recent", fleetNow.Add(-2*day)), func(r *store.Report) { r.Version = "new" }),
		with(report("R", "old", fleetNow.Add(-40*day)), func(r *store.Report) { r.Version = "old" }),
		with(report("Q", "older", fleetNow.Add(-200*day)), func(r *store.Report) { r.Version = "older" }),
	)
	for _, tt := range []struct {
		days             int
		servers, cluster int64
		versions         int
	}{{7, 1, 1, 1}, {30, 1, 1, 1}, {90, 2, 1, 2}, {365, 3, 2, 3}} {
		st := statsRange(t, s, fleetNow, tt.days)
		if len(st.Days) != tt.days || st.Days[len(st.Days)-1].Date != "2025-06-18" || st.RangeDays != tt.days {
			t.Errorf("days=%d: got %d days ending %s", tt.days, len(st.Days), st.Days[len(st.Days)-1].Date)
		}
		if st.ActiveServers.Range != tt.servers || st.ActiveClusters.Range != tt.cluster || len(st.Versions) != tt.versions {
			t.Errorf("days=%d: got range servers %d clusters %d versions %v, want %d %d and %d versions",
				tt.days, st.ActiveServers.Range, st.ActiveClusters.Range, st.Versions, tt.servers, tt.cluster, tt.versions)
		}
	}
	for _, bad := range []int{0, 6, 366} {
		if _, err := s.StatsRange(context.Background(), fleetNow, bad); err == nil {
			t.Errorf("StatsRange(%d) accepted", bad)
		}
	}
}

// testClusters pages through the clusters newest first and lists one
// cluster's servers.
func testClusters(t *testing.T, open Opener) {
	s := mustOpen(t, open)
	ctx := context.Background()
	var want []string
	for i := range 7 {
		id := fmt.Sprintf("cluster-%d", i)
		want = append([]string{id}, want...)
		insertAll(t, s, report(id, id+"-s", fleetNow.Add(-time.Duration(10-i)*time.Hour)))
	}
	// Two clusters seen in the same second: the cursor still separates them.
	insertAll(t, s, report("same-a", "sa", fleetNow.Add(-20*time.Hour)), report("same-b", "sb", fleetNow.Add(-20*time.Hour)))
	want = append(want, "same-b", "same-a")
	var got []string
	after := ""
	pages := 0
	for {
		p, err := s.Clusters(ctx, fleetNow, after, 3)
		if err != nil {
			t.Fatalf("Clusters: %v", err)
		}
		pages++
		for _, c := range p.Clusters {
			got = append(got, c.ClusterID)
		}
		if p.Next == "" {
			break
		}
		if pages > 10 {
			t.Fatal("pagination does not end")
		}
		after = p.Next
	}
	if !reflect.DeepEqual(got, want) || pages != 3 {
		t.Errorf("got %v in %d pages, want %v in 3", got, pages, want)
	}
	if _, err := s.Clusters(ctx, fleetNow, "not-a-cursor", 3); !errors.Is(err, store.ErrCursor) {
		t.Errorf("bad cursor: got %v, want ErrCursor", err)
	}

	insertAll(t, s,
		with(report("big", "b1", fleetNow.Add(-3*time.Hour)), func(r *store.Report) {
			r.Extra = gateway(12, 12, map[string]int{"GET": 12}, map[string]int{"router": 1})
			r.Version = "2.13.1"
		}),
		with(report("big", "b2", fleetNow.Add(-2*time.Hour)), func(r *store.Report) { r.Version = "2.13.2" }),
		report("big", "b3", fleetNow.Add(-1*time.Hour)),
	)
	d, err := s.Cluster(ctx, fleetNow, "big", 2)
	if err != nil {
		t.Fatalf("Cluster: %v", err)
	}
	// b2 and b3, new to the cluster that day, count in its size but do
	// not replace the version and payload of b1, which made it.
	if d.ActiveServers != 3 || d.Version != "2.13.1" || d.Endpoints != 12 || !reflect.DeepEqual(d.Features, []string{"router"}) ||
		!d.FirstSeen.Equal(fleetNow.Add(-3*time.Hour)) || !d.LastSeen.Equal(fleetNow.Add(-time.Hour)) {
		t.Errorf("cluster big: got %+v", d.ClusterRow)
	}
	if len(d.Servers) != 2 || d.Servers[0].ServerID != "b3" || d.Servers[1].ServerID != "b2" || !d.More {
		t.Errorf("servers of big (limit 2): got %+v more %v, want b3, b2 and more", d.Servers, d.More)
	}
	if _, err := s.Cluster(ctx, fleetNow, "nope", 10); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown cluster: got %v, want ErrNotFound", err)
	}
}

// testPrune: retention deletes old raw reports and no answer changes;
// a replay is still refused after pruning.
func testPrune(t *testing.T, open Opener) {
	s := mustOpen(t, open)
	ctx := context.Background()
	now := time.Now().UTC()
	var recent *store.Report
	var n int
	for d := 120; d >= 0; d -= 3 {
		for i := range 4 {
			r := report(fmt.Sprintf("c%d", i%2), fmt.Sprintf("s%d", (i+d)%6), now.Add(-time.Duration(d)*24*time.Hour-time.Duration(i)*time.Minute))
			r.Version = fmt.Sprintf("2.%d.0", d/30)
			if i == 0 {
				r.Extra = gateway(5+d, 10, map[string]int{"GET": 1}, map[string]int{"router": 1})
			}
			insertAll(t, s, r)
			n++
			recent = r
		}
	}
	cutoff := now.Add(-10 * 24 * time.Hour)
	kept := 0
	rs, _ := s.Recent(ctx, n)
	for _, r := range rs {
		if !r.Received.Before(cutoff) {
			kept++
		}
	}
	answers := func() map[string]any {
		out := map[string]any{}
		for _, days := range []int{7, 30, 90, 365} {
			st := statsRange(t, s, now, days)
			st.RetainedReports = 0
			out[fmt.Sprint("stats", days)] = st
		}
		p, err := s.Clusters(ctx, now, "", 100)
		if err != nil {
			t.Fatal(err)
		}
		out["clusters"] = p
		c, err := s.Cluster(ctx, now, "c0", 100)
		if err != nil {
			t.Fatal(err)
		}
		out["c0"] = c
		return out
	}
	before := answers()
	if st := stats(t, s, now); st.RetainedReports != int64(n) || st.Reports != int64(n) {
		t.Fatalf("before pruning: retained %d reports %d, want %d", st.RetainedReports, st.Reports, n)
	}
	deleted, err := s.Prune(ctx, now, cutoff)
	if err != nil {
		t.Fatalf("Prune: %v", err)
	}
	if deleted != int64(n-kept) {
		t.Errorf("Prune deleted %d, want %d", deleted, n-kept)
	}
	rs, _ = s.Recent(ctx, n)
	if len(rs) != kept {
		t.Errorf("%d raw reports left, want %d", len(rs), kept)
	}
	for _, r := range rs {
		if r.Received.Before(cutoff) {
			t.Errorf("report received %v kept, cutoff %v", r.Received, cutoff)
		}
	}
	st := stats(t, s, now)
	if st.RetainedReports != int64(kept) || st.Reports != int64(n) {
		t.Errorf("after pruning: retained %d reports %d, want %d and %d", st.RetainedReports, st.Reports, kept, n)
	}
	after := answers()
	for k := range before {
		if !reflect.DeepEqual(before[k], after[k]) {
			b, _ := json.Marshal(before[k])
			a, _ := json.Marshal(after[k])
			t.Errorf("%s changed by pruning:\nbefore %s\nafter  %s", k, b, a)
		}
	}
	again := *recent
	again.Payload = nil
	if err := s.Insert(ctx, &again); !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("replay after pruning: got %v, want ErrDuplicate", err)
	}
}

// testConcurrentHandles: two collectors storing the first reports of the
// same new servers at once count each server and cluster once.
func testConcurrentHandles(t *testing.T, open Opener) {
	a, b := mustOpen(t, open), mustOpen(t, open)
	var wg sync.WaitGroup
	now := time.Now()
	for _, s := range []store.Store{a, b} {
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 10 {
					r := report(fmt.Sprint("k", i%3), fmt.Sprint("srv", i), now)
					r.Extra = gateway(4, 4, map[string]int{"GET": 4}, map[string]int{"router": 1})
					_ = w
					if err := s.Insert(context.Background(), r); err != nil {
						t.Errorf("Insert: %v", err)
					}
				}
			}()
		}
	}
	wg.Wait()
	st := stats(t, a, now)
	if st.Reports != 80 || st.Servers != 10 || st.Clusters != 3 || st.ActiveServers.Day != 10 || st.ActiveClusters.Day != 3 {
		t.Errorf("got reports %d servers %d clusters %d active %d/%d, want 80, 10, 3, 10/3",
			st.Reports, st.Servers, st.Clusters, st.ActiveServers.Day, st.ActiveClusters.Day)
	}
	if len(st.Features) != 1 || st.Features[0] != (store.Feature{Value: "router", Clusters: 3, Servers: 10}) {
		t.Errorf("features got %+v, want router on 3 clusters, 10 servers", st.Features)
	}
	today := st.Days[len(st.Days)-1]
	if today.Servers != 10 || today.Clusters != 3 {
		t.Errorf("today got %+v, want 10 servers, 3 clusters", today)
	}
}

// testPruneWhileInserting: reports are accepted while a pruning pass
// deletes thousands of old ones, and the counts add up after both.
func testPruneWhileInserting(t *testing.T, open Opener) {
	s := mustOpen(t, open)
	ctx := context.Background()
	now := time.Now().UTC()
	const old, fresh = 6000, 300
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < old; i += 16 {
				if err := s.Insert(ctx, report("old", fmt.Sprint("o", i%50), now.Add(-60*24*time.Hour))); err != nil {
					t.Errorf("Insert: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	pruned := make(chan int64, 1)
	go func() {
		n, err := s.Prune(ctx, now, now.Add(-30*24*time.Hour))
		if err != nil {
			t.Errorf("Prune: %v", err)
		}
		pruned <- n
	}()
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < fresh; i += 8 {
				if err := s.Insert(ctx, report("new", fmt.Sprint("n", i%20), now)); err != nil {
					t.Errorf("Insert during pruning: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n := <-pruned; n != old {
		t.Errorf("pruned %d, want %d", n, old)
	}
	st := stats(t, s, now)
	if st.Reports != old+fresh || st.RetainedReports != fresh || st.Servers != 70 || st.Clusters != 2 {
		t.Errorf("got reports %d retained %d servers %d clusters %d, want %d, %d, 70, 2",
			st.Reports, st.RetainedReports, st.Servers, st.Clusters, old+fresh, fresh)
	}
}

// testExtraOmitted: the omitted flag is stored with the report.
func testExtraOmitted(t *testing.T, open Opener) {
	s := mustOpen(t, open)
	r := report("c", "s", time.Now())
	r.ExtraOmitted = true
	insertAll(t, s, r)
	got, err := s.Recent(context.Background(), 1)
	if err != nil || len(got) != 1 || !got[0].ExtraOmitted || got[0].Extra != nil {
		t.Errorf("Recent: %v %+v, want one report with ExtraOmitted and no extra", err, got)
	}
}
