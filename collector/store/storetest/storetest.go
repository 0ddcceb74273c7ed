// Package storetest is the test suite every store.Store backend passes.
// A backend's test calls [Run] with a function that creates an empty
// database and returns an [Opener] for it.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/store"
)

// Opener opens a new handle on the same database; each call is like another
// collector process starting on it.
type Opener func(ctx context.Context) (store.Store, error)

// Run runs the suite. newDB creates a fresh, empty database for one subtest
// and arranges its removal with t.Cleanup.
func Run(t *testing.T, newDB func(t *testing.T) Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open Opener)
	}{
		{"InsertStoresEveryField", testInsert},
		{"ReplayRejected", testReplay},
		{"ConcurrentReplayAcceptedOnce", testConcurrentReplay},
		{"ConcurrentInserts", testConcurrentInserts},
		{"ReplayAcrossHandles", testAcrossHandles},
		{"SurvivesReopen", testReopen},
		{"Secret", testSecret},
		{"Stats", testStats},
		{"StatsEmpty", testStatsEmpty},
		{"CloseCommitsPending", testCloseCommits},
		{"Features", testFeatures},
		{"VersionsWeekly", testVersionsWeekly},
		{"Growth", testGrowth},
		{"Range", testRange},
		{"Clusters", testClusters},
		{"Prune", testPrune},
		{"ConcurrentHandles", testConcurrentHandles},
		{"PruneWhileInserting", testPruneWhileInserting},
		{"ExtraOmitted", testExtraOmitted},
		{"Insights", testInsights},
		{"Export", testExport},
		{"ExportPages", testExportPages},
		{"Standing", testStanding},
		{"ClusterStates", testClusterStates},
		{"DailySnapshot", testDailySnapshot},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, newDB(t))
		})
	}
}

func mustOpen(t *testing.T, open Opener) store.Store {
	t.Helper()
	s, err := open(context.Background())
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var seq atomic.Int64

// report returns a valid report received at recv with a unique stamp.
func report(cluster, server string, recv time.Time) *store.Report {
	return &store.Report{
		Received:   recv.UTC(),
		ClusterID:  cluster,
		ServerID:   server,
		Version:    "v2.6.0",
		OS:         "linux",
		Arch:       "amd64",
		Uptime:     42,
		ReportTime: recv.Truncate(time.Second).UTC(),
		Stamp:      fmt.Sprintf("1:20:%s:res%d::salt:%x", recv.UTC().Format("060102"), seq.Add(1), time.Now().UnixNano()),
	}
}

func stats(t *testing.T, s store.Store, now time.Time) *store.Stats {
	t.Helper()
	st, err := s.Stats(context.Background(), now)
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	return st
}

func testInsert(t *testing.T, open Opener) {
	s := mustOpen(t, open)
	ctx := context.Background()
	recv := time.Now().UTC().Truncate(time.Millisecond)
	r := report("cluster-a", "server-1", recv)
	r.Uptime = 3600
	r.ReportTime = recv.Add(-2 * time.Second).Truncate(time.Second)
	r.Extra = bytes.Repeat([]byte{0, 1, 2, 0xff}, 300)
	if err := s.Insert(ctx, r); err != nil {
		t.Fatalf("Insert: %v", err)
	}
	got, err := s.Recent(ctx, 10)
	if err != nil {
		t.Fatalf("Recent: %v", err)
	}
	if len(got) != 1 {
		t.Fatalf("got %d reports, want 1", len(got))
	}
	g := got[0]
	if !g.Received.Equal(r.Received) || !g.ReportTime.Equal(r.ReportTime) || g.ClusterID != r.ClusterID ||
		g.ServerID != r.ServerID || g.Version != r.Version || g.OS != r.OS || g.Arch != r.Arch ||
		g.Uptime != r.Uptime || g.Stamp != r.Stamp || !bytes.Equal(g.Extra, r.Extra) {
		t.Errorf("stored %+v\nwant %+v", g, *r)
	}
	st := stats(t, s, recv)
	if st.Reports != 1 || st.Servers != 1 || st.Clusters != 1 {
		t.Errorf("got reports/servers/clusters %d/%d/%d, want 1/1/1", st.Reports, st.Servers, st.Clusters)
	}
}

func testReplay(t *testing.T, open Opener) {
	s := mustOpen(t, open)
	ctx := context.Background()
	r := report("c", "s", time.Now())
	if err := s.Insert(ctx, r); err != nil {
		t.Fatalf("Insert: %v", err)
	}
	again := *r
	again.ServerID = "other"
	if err := s.Insert(ctx, &again); !errors.Is(err, store.ErrDuplicate) {
		t.Fatalf("second Insert: got %v, want ErrDuplicate", err)
	}
	if st := stats(t, s, time.Now()); st.Reports != 1 || st.Servers != 1 {
		t.Errorf("after replay got reports %d servers %d, want 1 and 1", st.Reports, st.Servers)
	}
}

func testConcurrentReplay(t *testing.T, open Opener) {
	s := mustOpen(t, open)
	r := report("c", "s", time.Now())
	var ok, dup atomic.Int64
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := *r
			switch err := s.Insert(context.Background(), &c); {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, store.ErrDuplicate):
				dup.Add(1)
			default:
				t.Errorf("Insert: %v", err)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 1 || dup.Load() != 19 {
		t.Errorf("got %d accepted and %d duplicates, want 1 and 19", ok.Load(), dup.Load())
	}
}

func testConcurrentInserts(t *testing.T, open Opener) {
	s := mustOpen(t, open)
	now := time.Now()
	var wg sync.WaitGroup
	const workers, each = 8, 25
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				r := report(fmt.Sprintf("c%d", w%2), fmt.Sprintf("s%d", i%5+w*5), now)
				if err := s.Insert(context.Background(), r); err != nil {
					t.Errorf("Insert: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	st := stats(t, s, now)
	if st.Reports != workers*each || st.Servers != workers*5 || st.Clusters != 2 {
		t.Errorf("got reports/servers/clusters %d/%d/%d, want %d/%d/2", st.Reports, st.Servers, st.Clusters, workers*each, workers*5)
	}
	today := st.Days[len(st.Days)-1]
	if today.Reports != workers*each || today.Servers != workers*5 || today.Clusters != 2 {
		t.Errorf("today got %+v, want %d reports, %d servers, 2 clusters", today, workers*each, workers*5)
	}
}

// testAcrossHandles is two collectors on one database: a stamp accepted
// by one is a replay for the other, and both count the same reports.
func testAcrossHandles(t *testing.T, open Opener) {
	a, b := mustOpen(t, open), mustOpen(t, open)
	ctx := context.Background()
	r := report("c", "s", time.Now())
	if err := a.Insert(ctx, r); err != nil {
		t.Fatalf("Insert via a: %v", err)
	}
	c := *r
	if err := b.Insert(ctx, &c); !errors.Is(err, store.ErrDuplicate) {
		t.Fatalf("Insert via b: got %v, want ErrDuplicate", err)
	}
	if err := b.Insert(ctx, report("c", "s2", time.Now())); err != nil {
		t.Fatalf("Insert via b: %v", err)
	}
	if st := stats(t, a, time.Now()); st.Reports != 2 || st.Servers != 2 || st.Clusters != 1 {
		t.Errorf("a sees reports/servers/clusters %d/%d/%d, want 2/2/1", st.Reports, st.Servers, st.Clusters)
	}
}

func testReopen(t *testing.T, open Opener) {
	s, err := open(context.Background())
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	r := report("c", "s", time.Now())
	if err := s.Insert(context.Background(), r); err != nil {
		t.Fatalf("Insert: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s = mustOpen(t, open)
	if st := stats(t, s, time.Now()); st.Reports != 1 {
		t.Errorf("after reopen got %d reports, want 1", st.Reports)
	}
	if err := s.Insert(context.Background(), r); !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("replay after reopen: got %v, want ErrDuplicate", err)
	}
}

func testSecret(t *testing.T, open Opener) {
	a, b := mustOpen(t, open), mustOpen(t, open)
	ctx := context.Background()
	k1, err := a.Secret(ctx, []byte("first-key-0123456789"))
	if err != nil {
		t.Fatalf("Secret: %v", err)
	}
	if string(k1) != "first-key-0123456789" {
		t.Errorf("first Secret got %q, want the new key", k1)
	}
	k2, err := b.Secret(ctx, []byte("second-key"))
	if err != nil {
		t.Fatalf("Secret: %v", err)
	}
	if !bytes.Equal(k1, k2) {
		t.Errorf("second handle got key %q, want %q", k2, k1)
	}
}

func testStatsEmpty(t *testing.T, open Opener) {
	s := mustOpen(t, open)
	st := stats(t, s, time.Now())
	if st.Reports != 0 || st.Servers != 0 || st.Clusters != 0 {
		t.Errorf("empty store: got %d/%d/%d", st.Reports, st.Servers, st.Clusters)
	}
	if len(st.Days) != store.StatsDays {
		t.Errorf("got %d days, want %d", len(st.Days), store.StatsDays)
	}
	if st.Versions == nil || st.OS == nil || st.Arch == nil || st.OSArch == nil || st.Endpoints == nil {
		t.Errorf("empty breakdowns must be empty lists, not null: %+v", st)
	}
}

func testStats(t *testing.T, open Opener) {
	s := mustOpen(t, open)
	ctx := context.Background()
	now := time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)
	insert := func(r *store.Report) {
		t.Helper()
		if err := s.Insert(ctx, r); err != nil {
			t.Fatalf("Insert: %v", err)
		}
	}
	// s1 (cluster A): 2h ago, upgrades from v1 to v2, extra with 12 endpoints.
	r := report("A", "s1", now.Add(-50*time.Hour))
	r.Version = "v1"
	r.Extra = []byte(`{"endpoints":12,"methods":{"GET":8,"POST":4},"backends":15}`)
	insert(r)
	r = report("A", "s1", now.Add(-2*time.Hour))
	r.Version = "v2"
	insert(r)
	// s2 (cluster A): 3 days ago, darwin/arm64, endpoints as a float.
	r = report("A", "s2", now.Add(-72*time.Hour))
	r.OS, r.Arch, r.Version = "darwin", "arm64", "v2"
	r.Extra = []byte(`{"endpoints":3.0}`)
	insert(r)
	// s3 (cluster B): 20 days ago, extra that is not our JSON.
	r = report("B", "s3", now.Add(-20*24*time.Hour))
	r.Extra = []byte("not json at all")
	insert(r)
	// s4 (cluster C): 40 days ago, extra a JSON array.
	r = report("C", "s4", now.Add(-40*24*time.Hour))
	r.Extra = []byte(`[1,2,3]`)
	insert(r)

	st := stats(t, s, now)
	if st.Reports != 5 || st.Servers != 4 || st.Clusters != 3 {
		t.Errorf("got reports/servers/clusters %d/%d/%d, want 5/4/3", st.Reports, st.Servers, st.Clusters)
	}
	if want := (store.Active{Day: 1, Week: 2, Month: 3, Range: 3}); st.ActiveServers != want {
		t.Errorf("active servers got %+v, want %+v", st.ActiveServers, want)
	}
	if want := (store.Active{Day: 1, Week: 1, Month: 2, Range: 2}); st.ActiveClusters != want {
		t.Errorf("active clusters got %+v, want %+v", st.ActiveClusters, want)
	}
	wantCounts := func(name string, got []store.Count, want map[string]int64) {
		t.Helper()
		m := map[string]int64{}
		for _, c := range got {
			m[c.Value] = c.Servers
		}
		if fmt.Sprint(m) != fmt.Sprint(want) {
			t.Errorf("%s got %v, want %v", name, m, want)
		}
	}
	// Breakdowns count the servers active in the range (30 days): s4,
	// last seen 40 days ago, is out.
	wantCounts("versions", st.Versions, map[string]int64{"v2": 2, "v2.6.0": 1}) // s1 upgraded, s2 at v2; s3 default
	wantCounts("os", st.OS, map[string]int64{"linux": 2, "darwin": 1})
	wantCounts("arch", st.Arch, map[string]int64{"amd64": 2, "arm64": 1})
	wantCounts("os_arch", st.OSArch, map[string]int64{"linux/amd64": 2, "darwin/arm64": 1})
	eps := map[string]int64{}
	for _, b := range st.Endpoints {
		if b.Servers > 0 {
			eps[b.Label] = b.Servers
		}
	}
	if fmt.Sprint(eps) != fmt.Sprint(map[string]int64{"1-5": 1, "11-25": 1}) {
		t.Errorf("endpoints got %v, want 1-5:1 and 11-25:1", eps)
	}
	if len(st.Days) != store.StatsDays {
		t.Fatalf("got %d days, want %d", len(st.Days), store.StatsDays)
	}
	byDate := map[string]store.Day{}
	for _, d := range st.Days {
		byDate[d.Date] = d
	}
	if d := byDate["2025-06-15"]; d.Reports != 1 || d.Servers != 1 || d.Clusters != 1 {
		t.Errorf("2025-06-15 got %+v, want 1 report, 1 server, 1 cluster", d)
	}
	if d := byDate["2025-06-12"]; d.Reports != 1 || d.Servers != 1 {
		t.Errorf("2025-06-12 got %+v, want 1 report, 1 server", d)
	}
	if _, ok := byDate["2025-05-06"]; ok {
		t.Errorf("days reach back 40 days: %v", st.Days[0])
	}
}

func testCloseCommits(t *testing.T, open Opener) {
	s, err := open(context.Background())
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	var wg sync.WaitGroup
	var accepted atomic.Int64
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if s.Insert(context.Background(), report("c", fmt.Sprint("s", i), time.Now())) == nil {
				accepted.Add(1)
			}
		}()
	}
	wg.Wait()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Insert(context.Background(), report("c", "late", time.Now())); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Insert after Close: got %v, want ErrClosed", err)
	}
	s = mustOpen(t, open)
	if st := stats(t, s, time.Now()); st.Reports != accepted.Load() {
		t.Errorf("got %d stored, want the %d acknowledged", st.Reports, accepted.Load())
	}
}
