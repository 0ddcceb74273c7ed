package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/store"
)

// TrackedValues checks the bound on the values the rollups count by name
// (store.MaxValues versions, OSes and architectures a week), through two
// handles on one database (two collectors) writing at once:
//
//   - more distinct versions than the bound, in one week, leave at most
//     MaxValues by name and count the rest as Other, every server counted
//     once;
//   - when every server then moves on to a release a day later, each
//     leaves the row it was counted in (by name or Other): the first
//     day's rows come to zero and no counter goes below zero;
//   - the next week starts with the versions that counted the most
//     servers, so made-up versions sent first cannot push them into
//     Other.
//
// db is a second handle on the database behind open.
func TrackedValues(t *testing.T, open Opener, db *sql.DB) {
	a, b := mustOpen(t, open), mustOpen(t, open)
	ctx := context.Background()
	n := int(store.MaxValues) * 3
	day0 := fleetNow.Add(-24 * time.Hour)
	// A fleet of ten servers on a release, then made-up versions from
	// n servers, half through each handle, at once.
	for i := range 10 {
		r := report(fmt.Sprintf("c%d", i), fmt.Sprintf("s%d", i), day0.Add(-time.Hour))
		r.Version = "2.13.0"
		insertAll(t, a, r)
	}
	var wg sync.WaitGroup
	for h, s := range []store.Store{a, b} {
		wg.Go(func() {
			for i := 10 + h; i < n+10; i += 2 {
				r := report(fmt.Sprintf("c%d", i), fmt.Sprintf("s%d", i), day0.Add(time.Duration(i)*time.Second))
				r.Version, r.OS = fmt.Sprintf("9.%d.0", i), fmt.Sprintf("os%d", i%(n/2))
				r.Extra = gateway(5, 5, map[string]int{"GET": 1}, map[string]int{"router": 1})
				if err := s.Insert(ctx, r); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	n += 10
	st := stats(t, a, fleetNow)
	if got := sumCounts(st.Versions); got != int64(n) || st.Versions[0].Value != "2.13.0" || st.Versions[0].Servers != 10 {
		t.Errorf("versions count %d servers, want %d, 2.13.0 first with 10: %+v", got, n, st.Versions)
	}
	for kind, want := range map[string]int64{"version": store.MaxValues + 1, "c.version": store.MaxValues + 1, "os": store.MaxValues + 1} {
		var rows int64
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM latest WHERE kind = '`+kind+`' AND n <> 0`).Scan(&rows); err != nil {
			t.Fatal(err)
		}
		if rows > want {
			t.Errorf("%d values of %s counted by name or as other, want at most %d", rows, kind, want)
		}
	}
	// Every server moves on to the release, a day later.
	for h, s := range []store.Store{a, b} {
		wg.Go(func() {
			for i := h; i < n; i += 2 {
				r := report(fmt.Sprintf("c%d", i), fmt.Sprintf("s%d", i), fleetNow.Add(time.Duration(i)*time.Second-time.Hour))
				r.Version = "2.13.0"
				if err := s.Insert(ctx, r); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	st = stats(t, a, fleetNow.Add(time.Hour))
	if len(st.Versions) != 1 || st.Versions[0].Value != "2.13.0" || st.Versions[0].Servers != int64(n) {
		t.Errorf("versions after every server moved to 2.13.0: %+v, want %d servers of 2.13.0", st.Versions, n)
	}
	var left sql.NullInt64
	if err := db.QueryRowContext(ctx, fmt.Sprintf(`SELECT SUM(ABS(n)) FROM latest WHERE day = %d`, store.DayKey(day0))).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left.Int64 != 0 {
		t.Errorf("the first day's rows hold %d after every server left it, want 0", left.Int64)
	}
	NoNegativeCounter(t, db)

	// The next week: made-up versions first, then ten servers of the
	// fleet, still on 2.13.0, report.
	next := fleetNow.Add(7 * 24 * time.Hour)
	for i := range int(store.MaxValues) {
		r := report("junk", fmt.Sprintf("junk%d", i), next.Add(-2*time.Hour))
		r.Version = fmt.Sprintf("0.0.%d", i)
		insertAll(t, a, r)
	}
	for i := range 10 {
		r := report(fmt.Sprintf("c%d", i), fmt.Sprintf("s%d", i), next.Add(-time.Hour))
		r.Version = "2.13.0"
		insertAll(t, b, r)
	}
	st = statsRange(t, a, next, 7)
	if len(st.Versions) == 0 || st.Versions[0].Value != "2.13.0" || st.Versions[0].Servers != 10 {
		t.Errorf("versions of the next week: %+v, want 2.13.0 first, by name, with 10 servers", st.Versions)
	}
	NoNegativeCounter(t, db)
}

func sumCounts(cs []store.Count) int64 {
	var n int64
	for _, c := range cs {
		n += c.Servers
	}
	return n
}

// NoNegativeCounter fails t when a counter of the rollups is below zero.
func NoNegativeCounter(t *testing.T, db *sql.DB) {
	t.Helper()
	for _, q := range []string{
		`SELECT MIN(n) FROM latest`, `SELECT MIN(n) FROM latest_weeks`, `SELECT MIN(n) FROM latest_pairs`, `SELECT MIN(n) FROM latest_pairs_weeks`,
		`SELECT MIN(value) FROM totals`, `SELECT MIN(servers) FROM week_versions`, `SELECT MIN(clusters) FROM week_features`,
		`SELECT MIN(servers) FROM days`, `SELECT MIN(clusters) FROM days`, `SELECT MIN(servers) FROM active`, `SELECT MIN(clusters) FROM active`,
	} {
		var least sql.NullInt64
		if err := db.QueryRowContext(context.Background(), q).Scan(&least); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if least.Int64 < 0 {
			t.Errorf("%s: %d, want no counter below zero", q, least.Int64)
		}
	}
}
