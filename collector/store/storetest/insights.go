package storetest

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/store"
	"github.com/krakend-usage/krakend-usage/collector/store/internal/sqlstore"
)

// channelPayload is a gateway payload with an install channel.
func channelPayload(endpoints, backends int, mode, libc string, namespaces map[string]int) []byte {
	m := map[string]any{"endpoints": endpoints, "backends": backends, "methods": map[string]int{"GET": endpoints},
		"namespaces": namespaces, "async_agents": 0}
	if mode != "" {
		m["mode"], m["libc"] = mode, libc
	}
	b, _ := json.Marshal(m)
	return b
}

// insightsFleet is three clusters over two weeks: A (two servers, plugin
// on musl, a legacy namespace), B (decorator on glibc), C (a payload of
// an earlier version, no channel).
func insightsFleet(t *testing.T, s store.Store) {
	at := func(h int) time.Time { return fleetNow.Add(-time.Duration(h) * time.Hour) }
	up := func(r *store.Report, uptime int64, version string, extra []byte) *store.Report {
		r.Uptime, r.Version, r.Extra = uptime, version, extra
		return r
	}
	aOld := channelPayload(10, 10, "plugin", "musl", map[string]int{"router": 1})
	aNew := channelPayload(10, 30, "plugin", "musl", map[string]int{"router": 1, "github.com/devopsfaith/krakend-httpcache": 2})
	insertAll(t, s,
		up(report("A", "a1", at(7*24)), 50, "2.13.2", aOld),
		up(report("A", "a1", at(5)), 100, "2.13.2", aNew),
		up(report("A", "a2", at(4)), 3600, "2.13.2", aNew),
		up(report("B", "b1", at(3)), 30, "2.12.0", channelPayload(3, 3, "decorator", "glibc", map[string]int{"router": 1})),
		up(report("C", "c1", at(2)), 7, "2.13.2", gateway(20, 47, map[string]int{"GET": 1}, map[string]int{"auth/validator": 1})),
	)
}

// testInsights: features_weekly, feature_versions, cluster_versions,
// channels and distributions.
func testInsights(t *testing.T, open Opener) {
	s := mustOpen(t, open)
	insightsFleet(t, s)
	st := stats(t, s, fleetNow)

	wf := st.FeaturesWeekly
	if len(wf) != store.Weeks {
		t.Fatalf("features_weekly has %d weeks, want %d", len(wf), store.Weeks)
	}
	byName := func(w store.WeekFeatures) map[string]int64 {
		m := map[string]int64{}
		for _, f := range w.Features {
			m[f.Value] = f.Clusters
		}
		return m
	}
	if got, want := byName(wf[len(wf)-1]), map[string]int64{"router": 2, "qos/http-cache": 1, "auth/validator": 1}; !reflect.DeepEqual(got, want) {
		t.Errorf("features_weekly this week %v, want %v", got, want)
	}
	if got, want := byName(wf[len(wf)-2]), map[string]int64{"router": 1, "qos/http-cache": 0, "auth/validator": 0}; !reflect.DeepEqual(got, want) {
		t.Errorf("features_weekly last week %v, want %v", got, want)
	}
	if wf[len(wf)-1].ActiveClusters != 3 || wf[len(wf)-2].ActiveClusters != 1 || wf[len(wf)-1].Week != store.WeekLabel(store.WeekKey(store.DayKey(fleetNow))) {
		t.Errorf("features_weekly weeks %+v, %+v: want 1 then 3 active clusters, ending this week", wf[len(wf)-2], wf[len(wf)-1])
	}

	fv := map[string][]store.Size{}
	for _, f := range st.FeatureVersions {
		fv[f.Feature] = f.Versions
	}
	wantFV := map[string][]store.Size{
		"router":         {{Value: "2.12.0", Clusters: 1}, {Value: "2.13.2", Clusters: 1}},
		"qos/http-cache": {{Value: "2.13.2", Clusters: 1}},
		"auth/validator": {{Value: "2.13.2", Clusters: 1}},
	}
	if !reflect.DeepEqual(fv, wantFV) {
		t.Errorf("feature_versions %+v\nwant %+v", fv, wantFV)
	}
	if want := []store.Size{{Value: "2.13.2", Clusters: 2}, {Value: "2.12.0", Clusters: 1}}; !reflect.DeepEqual(st.ClusterVersions, want) {
		t.Errorf("cluster_versions %+v, want %+v", st.ClusterVersions, want)
	}

	wantCh := store.Channels{
		Mode: []store.Feature{{Value: "plugin", Clusters: 1, Servers: 2}, {Value: "decorator", Clusters: 1, Servers: 1},
			{Value: "unknown", Clusters: 1, Servers: 1}},
		Libc: []store.Feature{{Value: "musl", Clusters: 1, Servers: 2}, {Value: "glibc", Clusters: 1, Servers: 1},
			{Value: "unknown", Clusters: 1, Servers: 1}},
		Channel: []store.Feature{{Value: "plugin/musl", Clusters: 1, Servers: 2}, {Value: "decorator/glibc", Clusters: 1, Servers: 1},
			{Value: "unknown/unknown", Clusters: 1, Servers: 1}},
	}
	if !reflect.DeepEqual(st.Channels, wantCh) {
		t.Errorf("channels %+v\nwant     %+v", st.Channels, wantCh)
	}

	d := st.Distributions
	wantUp := []store.Percentiles{{Value: "2.13.2", N: 3, P50: 100, P90: 3600, P99: 3600}, {Value: "2.12.0", N: 1, P50: 30, P90: 30, P99: 30}}
	if !reflect.DeepEqual(d.UptimeByVersion, wantUp) {
		t.Errorf("uptime_by_version %+v, want %+v", d.UptimeByVersion, wantUp)
	}
	for _, c := range []struct {
		name      string
		got, want store.Percentiles
	}{
		{"endpoints", d.EndpointsPerCluster, store.Percentiles{N: 3, P50: 10, P90: 20, P99: 20}},
		{"backends", d.BackendsPerCluster, store.Percentiles{N: 3, P50: 30, P90: 47, P99: 47}},
		{"servers", d.ServersPerCluster, store.Percentiles{N: 3, P50: 1, P90: 2, P99: 2}},
	} {
		if c.got != c.want {
			t.Errorf("%s per cluster %+v, want %+v", c.name, c.got, c.want)
		}
	}
}

// MigrateFromSchema2 checks that a database of schema 2 opens: it
// turns the database behind open into one of schema 2 (the tables and
// rows schema 3 added, dropped; no install channel in the payloads),
// reopens it, and checks that the new breakdowns are derived from what
// schema 2 kept and the retained raw reports, and stay exact as its
// servers and clusters move on. db is a second handle on the database.
func MigrateFromSchema2(t *testing.T, open Opener, db *sql.DB) {
	s := mustOpen(t, open)
	insightsFleet(t, s)
	before := stats(t, s, fleetNow)
	s.Close()
	for _, q := range []string{
		`DROP TABLE week_features`,
		`DROP TABLE latest_pairs`,
		`DROP TABLE latest_pairs_weeks`,
		`ALTER TABLE servers DROP COLUMN uptime`,
		`DELETE FROM latest WHERE kind IN ('up', 'channel', 'c.channel', 'c.version', 'c.fver', 'c.ep', 'c.be', 'c.srv')`,
		`DELETE FROM latest_weeks WHERE kind IN ('up', 'channel', 'c.channel', 'c.version', 'c.fver', 'c.ep', 'c.be', 'c.srv')`,
		`UPDATE meta SET value = '2' WHERE key = 'schema'`,
	} {
		if _, err := db.ExecContext(context.Background(), q); err != nil {
			t.Fatalf("make schema 2: %s: %v", q, err)
		}
	}
	// Schema 2's payloads had no install channel (mode, libc): the raw
	// reports have it. The SQLite spelling, else PostgreSQL's.
	for _, table := range []string{"servers", "clusters"} {
		_, err := db.ExecContext(context.Background(), `UPDATE `+table+` SET payload = json_remove(payload, '$.mo', '$.lc') WHERE payload IS NOT NULL`)
		if err != nil {
			_, err = db.ExecContext(context.Background(), `UPDATE `+table+` SET payload = (payload::jsonb - 'mo' - 'lc')::text WHERE payload IS NOT NULL`)
		}
		if err != nil {
			t.Fatalf("make schema 2: payloads without a channel: %v", err)
		}
	}
	dropWriter(t, db)
	s = mustOpen(t, open)
	after := stats(t, s, fleetNow)
	if !reflect.DeepEqual(after.Channels, before.Channels) || !reflect.DeepEqual(after.FeatureVersions, before.FeatureVersions) ||
		!reflect.DeepEqual(after.ClusterVersions, before.ClusterVersions) ||
		after.Distributions.EndpointsPerCluster != before.Distributions.EndpointsPerCluster ||
		after.Distributions.ServersPerCluster != before.Distributions.ServersPerCluster {
		t.Errorf("after migration\n%+v %+v %+v\nwant\n%+v %+v %+v", after.Channels, after.FeatureVersions, after.Distributions,
			before.Channels, before.FeatureVersions, before.Distributions)
	}
	if len(after.Distributions.UptimeByVersion) != 0 {
		t.Errorf("uptime of schema-2 rows %+v, want none (schema 2 kept no uptime)", after.Distributions.UptimeByVersion)
	}
	// Every server reports again, a day later: each moves off its
	// migrated row, which must have been there.
	next := fleetNow.Add(24 * time.Hour)
	for _, id := range [][2]string{{"A", "a1"}, {"A", "a2"}, {"B", "b1"}, {"C", "c1"}} {
		insertAll(t, s, report(id[0], id[1], next.Add(-time.Hour)))
	}
	st := stats(t, s, next)
	var servers, clusters int64
	for _, c := range st.Channels.Channel {
		servers += c.Servers
		clusters += c.Clusters
	}
	if servers != 4 || clusters != 3 {
		t.Errorf("channels after every ID moved: %d servers, %d clusters, want 4 and 3: %+v", servers, clusters, st.Channels.Channel)
	}
	if got := st.Distributions.UptimeByVersion; len(got) != 1 || got[0].N != 4 {
		t.Errorf("uptime after every server reported again: %+v, want 4 servers of v2.6.0", got)
	}
	if got := st.Distributions.ServersPerCluster; got.N != 3 {
		t.Errorf("servers per cluster after the move: %+v, want 3 clusters", got)
	}
}

// MigrateFromSchema3 checks that a database of schema 3, whose
// distributions were bucketed at one significant digit, opens with them
// at two: it rewrites the rollups of the distribution kinds the way schema
// 3 kept them (an uptime of 3,600 s in the 3,000 bucket), reopens the
// database, and checks that the distributions are what a database of
// schema 4 holds and stay exact as the servers move on. db is a second
// handle on the database.
func MigrateFromSchema3(t *testing.T, open Opener, db *sql.DB, dollar bool) {
	s := mustOpen(t, open)
	insightsFleet(t, s)
	before := stats(t, s, fleetNow)
	s.Close()
	ctx := context.Background()
	ph := func(q string) string {
		if !dollar {
			return q
		}
		for i := 1; strings.Contains(q, "?"); i++ {
			q = strings.Replace(q, "?", fmt.Sprintf("$%d", i), 1)
		}
		return q
	}
	for _, table := range []struct{ name, key string }{{"latest", "day"}, {"latest_weeks", "week"}, {"latest_pairs", "day"}, {"latest_pairs_weeks", "week"}} {
		type row struct {
			key         int64
			kind, value string
		}
		old := map[row]int64{}
		rows, err := db.QueryContext(ctx, `SELECT `+table.key+`, kind, value, n FROM `+table.name+` WHERE kind IN ('up', 'c.ep', 'c.be', 'c.srv')`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var r row
			var n int64
			if err := rows.Scan(&r.key, &r.kind, &r.value, &n); err != nil {
				t.Fatal(err)
			}
			bucket, rest, pair := strings.Cut(r.value, " ")
			b, _ := strconv.ParseInt(bucket, 10, 64)
			r.value = strconv.FormatInt(sqlstore.OneDigitLow(b), 10)
			if pair {
				r.value += " " + rest
			}
			old[r] += n
		}
		rows.Close()
		if _, err := db.ExecContext(ctx, `DELETE FROM `+table.name+` WHERE kind IN ('up', 'c.ep', 'c.be', 'c.srv')`); err != nil {
			t.Fatal(err)
		}
		for r, n := range old {
			if _, err := db.ExecContext(ctx, ph(`INSERT INTO `+table.name+`(`+table.key+`, kind, value, n) VALUES (?, ?, ?, ?)`), r.key, r.kind, r.value, n); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := db.ExecContext(ctx, `UPDATE meta SET value = '3' WHERE key = 'schema'`); err != nil {
		t.Fatal(err)
	}
	dropWriter(t, db)
	s = mustOpen(t, open)
	if got := stats(t, s, fleetNow).Distributions; !reflect.DeepEqual(got, before.Distributions) {
		t.Errorf("distributions after the migration\n%+v\nwant\n%+v", got, before.Distributions)
	}
	// Every server reports again a day later: each moves off its
	// migrated row, which must have been there, and none is left behind.
	next := fleetNow.Add(24 * time.Hour)
	for _, id := range [][2]string{{"A", "a1"}, {"A", "a2"}, {"B", "b1"}, {"C", "c1"}} {
		r := report(id[0], id[1], next.Add(-time.Hour))
		r.Uptime = 3600
		insertAll(t, s, r)
	}
	st := stats(t, s, next)
	if got := st.Distributions.UptimeByVersion; len(got) != 1 || got[0].N != 4 || got[0].P50 != 3600 {
		t.Errorf("uptime after every server reported again: %+v, want 4 servers at 3600", got)
	}
	if got := st.Distributions.ServersPerCluster; got.N != 3 {
		t.Errorf("servers per cluster after the move: %+v, want 3 clusters", got)
	}
}

// testExport: Export yields the reports of one UTC day, every field as
// stored, in the order stored, and none of another day.
func testExport(t *testing.T, open Opener) {
	s := mustOpen(t, open)
	day := store.DayKey(fleetNow)
	start := time.Unix(day*86400, 0).UTC()
	var want []*store.Report
	insertAll(t, s, report("A", "before", start.Add(-time.Millisecond)))
	for i, off := range []time.Duration{0, time.Hour, 23*time.Hour + 59*time.Minute} {
		r := report("A", "s"+string(rune('0'+i)), start.Add(off))
		r.Extra = []byte(`{"endpoints":1}`)
		if i == 1 {
			r.Extra, r.ExtraOmitted = nil, true
		}
		insertAll(t, s, r)
		want = append(want, r)
	}
	insertAll(t, s, report("A", "after", start.Add(24*time.Hour)))
	var got []store.Report
	err := s.Export(context.Background(), day, func(r *store.Report) error {
		c := *r
		c.Extra = append([]byte(nil), r.Extra...)
		got = append(got, c)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("exported %d reports, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.ServerID != w.ServerID || !g.Received.Equal(w.Received) || g.Stamp != w.Stamp || g.Uptime != w.Uptime ||
			!g.ReportTime.Equal(w.ReportTime) || string(g.Extra) != string(w.Extra) || g.ExtraOmitted != w.ExtraOmitted ||
			g.Version != w.Version || g.OS != w.OS || g.Arch != w.Arch || g.ClusterID != w.ClusterID {
			t.Errorf("report %d: got %+v, want %+v", i, g, *w)
		}
	}
	n := 0
	if err := s.Export(context.Background(), day+5, func(*store.Report) error { n++; return nil }); err != nil || n != 0 {
		t.Errorf("a day without reports: %d reports, %v", n, err)
	}
}

// testExportPages: a day of more reports than one page holds, some with
// payloads large enough to end a page early, is exported whole, each
// report once.
func testExportPages(t *testing.T, open Opener) {
	s := mustOpen(t, open)
	day := store.DayKey(fleetNow)
	start := time.Unix(day*86400, 0).UTC()
	want := map[string]bool{}
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for i := range 1000 {
		r := report("A", fmt.Sprintf("s%d", i%50), start.Add(time.Duration(i)*time.Second))
		if i%3 == 0 {
			r.Extra = []byte(`{"endpoints":1,"pad":"` + strings.Repeat("x", 16<<10) + `"}`)
		}
		want[r.Stamp] = true
		wg.Go(func() { errs <- s.Insert(context.Background(), r) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]bool{}
	err := s.Export(context.Background(), day, func(r *store.Report) error {
		if got[r.Stamp] || !want[r.Stamp] {
			t.Errorf("report %s exported twice, or not stored", r.Stamp)
		}
		got[r.Stamp] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Errorf("exported %d reports, want %d", len(got), len(want))
	}
}

// dropWriter takes out of a database what schema 5 added: the trigger
// refusing other collectors' writes, and the column it reads. The SQLite
// spelling, else PostgreSQL's.
func dropWriter(t *testing.T, db *sql.DB) {
	t.Helper()
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, `DROP TRIGGER reports_writer`); err != nil {
		if _, err := db.ExecContext(ctx, `DROP TRIGGER reports_writer ON reports`); err != nil {
			t.Fatalf("drop the writer check: %v", err)
		}
	}
	if _, err := db.ExecContext(ctx, `ALTER TABLE reports DROP COLUMN writer`); err != nil {
		t.Fatalf("drop the writer column: %v", err)
	}
}

// OldWriterRefused checks that a collector still running after a newer
// one migrated the database cannot write into it: the write transaction
// of a collector of schema 4 (its stamps, then its reports, as its insert
// path runs them) fails whole, and so does a report of the schema before
// this one; the database is as before: the same stats, no report added,
// no counter below zero. db is a second handle
// on the database behind open.
func OldWriterRefused(t *testing.T, open Opener, db *sql.DB) {
	s := mustOpen(t, open)
	insightsFleet(t, s)
	before := stats(t, s, fleetNow)
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO stamps(key) VALUES ('old-collector-stamp')`); err != nil {
		t.Fatal(err)
	}
	recv := fleetNow.Add(-time.Minute)
	_, err = tx.ExecContext(ctx, fmt.Sprintf(`INSERT INTO reports(received_ms, cluster_id, server_id, version, os, arch, uptime, report_time, extra, extra_omitted, stamp)
		VALUES (%d, 'A', 'a1', '2.13.2', 'linux', 'amd64', 60, %d, NULL, 0, '1:20:old::salt:1')`, recv.UnixMilli(), recv.Unix()))
	if err == nil || !strings.Contains(err.Error(), "migrated by a newer collector") {
		t.Fatalf("the insert path of schema 4 on a migrated database: %v, want it refused naming the upgrade", err)
	}
	tx.Rollback()
	// The collector of the schema before this one names its schema in
	// every report it writes.
	_, err = db.ExecContext(ctx, fmt.Sprintf(`INSERT INTO reports(received_ms, cluster_id, server_id, version, os, arch, uptime, report_time, extra, extra_omitted, stamp, writer)
		VALUES (%d, 'A', 'a1', '2.13.2', 'linux', 'amd64', 60, %d, NULL, 0, '1:20:old::salt:2', %d)`, recv.UnixMilli(), recv.Unix(), sqlstore.WriterVersion-1))
	if err == nil || !strings.Contains(err.Error(), "migrated by a newer collector") {
		t.Fatalf("a report of the previous schema's collector on a migrated database: %v, want it refused naming the upgrade", err)
	}
	after := stats(t, s, fleetNow)
	if !reflect.DeepEqual(after, before) {
		t.Errorf("stats after the refused write\n%+v\nwant\n%+v", after, before)
	}
	NoNegativeCounter(t, db)
	// This collector still writes.
	insertAll(t, s, report("A", "a1", fleetNow))
}

// MigrateFromSchema5 checks that a database of schema 5, which counted
// every version by name, opens with every value it counted in its week's
// set: it drops the sets, reopens the database, fills the fleet's week
// with more new versions than the bound, then moves every server of the
// fleet on a day later. Each leaves the row it was counted in (by name),
// so no counter goes below zero and the stats are exact. db is a second
// handle on the database.
func MigrateFromSchema5(t *testing.T, open Opener, db *sql.DB) {
	s := mustOpen(t, open)
	insightsFleet(t, s)
	before := stats(t, s, fleetNow)
	s.Close()
	ctx := context.Background()
	for _, q := range []string{`DROP TABLE tracked`, `DROP TABLE tracked_sets`, `UPDATE meta SET value = '5' WHERE key = 'schema'`} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("make schema 5: %s: %v", q, err)
		}
	}
	s = mustOpen(t, open)
	if after := stats(t, s, fleetNow); !reflect.DeepEqual(after, before) {
		t.Errorf("stats after the migration\n%+v\nwant\n%+v", after, before)
	}
	for i := range int(store.MaxValues) + 20 {
		r := report("fill", fmt.Sprintf("fill%d", i), fleetNow.Add(-time.Hour))
		r.Version = fmt.Sprintf("0.0.%d", i)
		insertAll(t, s, r)
	}
	next := fleetNow.Add(24 * time.Hour)
	for _, id := range [][2]string{{"A", "a1"}, {"A", "a2"}, {"B", "b1"}, {"C", "c1"}} {
		r := report(id[0], id[1], next.Add(-time.Hour))
		r.Version = "2.13.2"
		insertAll(t, s, r)
	}
	NoNegativeCounter(t, db)
	st := stats(t, s, next)
	var named int64
	for _, v := range st.Versions {
		if v.Value == "2.13.2" {
			named = v.Servers
		}
	}
	if total := sumCounts(st.Versions); named != 4 || total != int64(store.MaxValues)+24 {
		t.Errorf("versions after the fleet moved on: %+v, want 2.13.2 by name with 4 servers, %d servers in all", st.Versions, store.MaxValues+24)
	}
}
