package storetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/store"
)

// testStanding: a server new to an existing cluster counts in its size
// and activity but changes its version and payload only from its first
// report on a later UTC day; a cluster silent for more than
// store.PublicDays days is taken over by such a report, and starts again.
func testStanding(t *testing.T, open Opener) {
	s := mustOpen(t, open)
	ctx := context.Background()
	day := 24 * time.Hour
	own := gateway(4, 4, map[string]int{"GET": 4}, map[string]int{"router": 1, "auth/validator": 1})
	probe := gateway(1, 1, map[string]int{"POST": 1}, map[string]int{"router": 1})
	v := func(r *store.Report, version string, extra []byte) *store.Report {
		r.Version, r.Extra = version, extra
		return r
	}
	t0 := fleetNow.Add(-10 * day)
	insertAll(t, s,
		v(report("C", "own", t0), "2.13.0", own),
		v(report("X", "mover", t0), "8.8.8", probe),
		v(report("C", "own", t0.Add(day)), "2.13.0", nil),
		// Known since the day before: every report of its counts.
		v(report("C", "own", t0.Add(day+time.Minute)), "2.13.1", nil),
		// A server new to C: not C's version or payload, that day or
		// later the same day; nor one seen the day before elsewhere.
		v(report("C", "probe", t0.Add(day+time.Hour)), "9.9.9", probe),
		v(report("C", "probe", t0.Add(day+2*time.Hour)), "9.9.9", nil),
		v(report("C", "mover", t0.Add(day+3*time.Hour)), "8.8.8", probe),
		v(report("C", "mover", t0.Add(day+4*time.Hour)), "8.8.8", nil),
	)
	check := func(when, version string, features []string, servers int64) {
		t.Helper()
		d, err := s.Cluster(ctx, fleetNow, "C", 10)
		if err != nil {
			t.Fatalf("%s: Cluster: %v", when, err)
		}
		if d.Version != version || !reflect.DeepEqual(d.Features, features) || d.ActiveServers != servers {
			t.Errorf("%s: cluster C is %s %v with %d servers, want %s %v with %d", when, d.Version, d.Features, d.ActiveServers, version, features, servers)
		}
	}
	check("after new servers' reports", "2.13.1", []string{"auth/validator", "router"}, 3)
	// The next day the probe is known: its report brings its version and
	// the payload it sent the day before.
	insertAll(t, s,
		v(report("C", "own", t0.Add(2*day)), "2.13.1", nil),
		v(report("C", "probe", t0.Add(2*day+time.Hour)), "9.9.9", nil))
	check("after its report of the next day", "9.9.9", []string{"router"}, 3)

	// Silent for longer than the public range: a new server takes the
	// cluster over, and its first seen starts again.
	back := t0.Add(time.Duration(store.PublicDays+3) * day)
	insertAll(t, s, v(report("C", "other", back), "2.14.0", own))
	d, err := s.Cluster(ctx, back, "C", 10)
	if err != nil {
		t.Fatal(err)
	}
	if d.Version != "2.14.0" || !d.FirstSeen.Equal(back) {
		t.Errorf("after a silence: cluster C is %s first seen %v, want 2.14.0 first seen %v", d.Version, d.FirstSeen, back)
	}
}

// testClusterStates: ClusterStates gives the clusters whose latest report
// is at or after since, with their latest values and known servers.
func testClusterStates(t *testing.T, open Opener) {
	s := mustOpen(t, open)
	insertAll(t, s,
		with(report("old", "o1", fleetNow.Add(-48*time.Hour)), func(r *store.Report) { r.Version = "1" }),
		with(report("new", "n3", fleetNow.Add(-25*time.Hour)), func(r *store.Report) {
			r.Version = "2"
			r.Extra = gateway(2, 2, nil, map[string]int{"router": 1})
		}),
		// n1 and n2 report on one day only: not known; n3 reported the day
		// before too.
		report("new", "n1", fleetNow.Add(-2*time.Hour)),
		report("new", "n2", fleetNow.Add(-time.Hour)),
		with(report("new", "n3", fleetNow.Add(-30*time.Minute)), func(r *store.Report) { r.Version = "2" }),
	)
	var got []store.ClusterState
	err := s.ClusterStates(context.Background(), fleetNow.Add(-24*time.Hour), func(c store.ClusterState) error {
		got = append(got, c)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Version != "2" || got[0].Servers != 1 || !got[0].First.Equal(fleetNow.Add(-25*time.Hour)) ||
		!got[0].Last.Equal(fleetNow.Add(-30*time.Minute)) || got[0].Payload == nil || !reflect.DeepEqual(got[0].Payload.Features, []string{"router"}) {
		t.Errorf("cluster states since a day ago: got %+v, want cluster new only (version 2, 1 known server, router)", got)
	}
}

// testDailySnapshot: the first snapshot stored for a day is the one every
// handle returns; a new day's replaces it.
func testDailySnapshot(t *testing.T, open Opener) {
	a, b := mustOpen(t, open), mustOpen(t, open)
	ctx := context.Background()
	get := func(s store.Store, day int64, v string) string {
		t.Helper()
		got, err := s.DailySnapshot(ctx, "test/k5", day, func(context.Context) ([]byte, error) { return []byte(v), nil })
		if err != nil {
			t.Fatal(err)
		}
		return string(got)
	}
	if got := get(a, 100, "first"); got != "first" {
		t.Errorf("first snapshot: got %q", got)
	}
	if got := get(b, 100, "second"); got != "first" {
		t.Errorf("same day, other handle: got %q, want the first one stored", got)
	}
	if got := get(b, 101, "next"); got != "next" {
		t.Errorf("next day: got %q", got)
	}
	if got := get(a, 100, "again"); got != "again" {
		t.Errorf("a day whose snapshot was dropped: got %q, want it made again", got)
	}
}
