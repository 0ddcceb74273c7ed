package sqlstore

import (
	"cmp"
	"database/sql"
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/store"
)

// A report older than its server's (or cluster's) latest stored one is
// "late": it counts as a report of its day, but moves no latest value and
// no distinct count. Reports reach the writers in the order the collector
// received them, so in practice only reports received within a commit's
// time of a newer one of the same server, by two collectors or in two
// batches committing at once (Dialect.Writers), can be late.

// server is the latest state of one server, as in the servers table.
type server struct {
	exists            bool
	cluster           string
	first, last       int64 // Unix seconds
	version, os, arch string
	payload           *store.Payload // latest extra payload, nil if never sent one
	uptime            int64          // latest reported uptime, -1 unknown (a row of schema 2)
}

// values are the breakdown values the server counts for, at its last day.
func (sv *server) values() []kv {
	out := []kv{{"version", sv.version}, {"os", sv.os}, {"arch", sv.arch}, {"os_arch", sv.os + "/" + sv.arch}}
	if sv.uptime >= 0 {
		out = append(out, kv{"up", store.Pair(itoa(store.LogLow(sv.uptime)), sv.version)})
	}
	if ch := sv.payload.Channel(); ch != "" {
		out = append(out, kv{"channel", ch})
	}
	if p := sv.payload; p != nil {
		if p.Endpoints >= 0 {
			out = append(out, kv{"endpoints", strconv.FormatInt(store.BucketLow(p.Endpoints), 10)})
		}
		if b := store.RatioBucket(p); b != "" {
			out = append(out, kv{"bpe", b})
		}
		for _, f := range p.Features {
			out = append(out, kv{"feature", f})
		}
		for _, m := range p.Methods {
			out = append(out, kv{"method", m})
		}
	}
	return out
}

// cluster is the latest state of one cluster.
type cluster struct {
	exists      bool
	first, last int64
	version     string
	payload     *store.Payload
	// size is the number of distinct servers that reported on sizeDay,
	// the cluster's latest day; prevSize the same for its previous day.
	sizeDay, size, prevSize int64
}

func (c *cluster) servers() int64 { return max(c.size, c.prevSize) }

func (c *cluster) values() []kv {
	out := []kv{{"c.version", c.version}}
	if n := c.servers(); n > 0 {
		out = append(out, kv{"c.size", strconv.FormatInt(store.SizeLow(n), 10)}, kv{"c.srv", itoa(store.LogLow(n))})
	}
	if ch := c.payload.Channel(); ch != "" {
		out = append(out, kv{"c.channel", ch})
	}
	if p := c.payload; p != nil {
		if p.Endpoints >= 0 {
			out = append(out, kv{"c.ep", itoa(store.LogLow(p.Endpoints))})
		}
		if p.Backends >= 0 {
			out = append(out, kv{"c.be", itoa(store.LogLow(p.Backends))})
		}
		for _, f := range p.Features {
			out = append(out, kv{"c.feature", f}, kv{"c.fver", store.Pair(f, c.version)})
		}
		for _, m := range p.Methods {
			out = append(out, kv{"c.method", m})
		}
	}
	return out
}

type kv struct{ kind, value string }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func encodePayload(p *store.Payload) any {
	if p == nil {
		return nil
	}
	b, _ := json.Marshal(p) // only numbers and strings
	return string(b)
}

func decodePayload(s sql.NullString) *store.Payload {
	if !s.Valid {
		return nil
	}
	p := &store.Payload{Present: true, Endpoints: -1, Backends: -1}
	if json.Unmarshal([]byte(s.String), p) != nil {
		return &store.Payload{Present: true, Endpoints: -1, Backends: -1}
	}
	return p
}

func day(sec int64) int64  { return store.DayKey(time.Unix(sec, 0)) }
func hour(sec int64) int64 { return store.HourKey(time.Unix(sec, 0)) }

// standing is what the cluster pass needs to know of a report's server.
type standing struct {
	// joined: the report is its server's first of the day in its cluster.
	joined bool
	// known: the server reported in the same cluster on an earlier UTC
	// day (its row's first_seen is its first report in its current
	// cluster). Only such a report may change the version and payload of
	// an existing cluster, so that one under a guessed cluster ID
	// changes neither.
	known bool
	// payload is the server's latest payload as of the report (nil: none
	// yet): a known server's report without one still brings the one its
	// server sent before it was known.
	payload *store.Payload
}

// server applies the reports of one server (oldest first) to its row and
// records what changes in the rollups, and the standing of each report
// it applies in st.
// stored is its row as loadServers read it, nil for a new server.
func (s *DB) server(rs []*store.Report, stored *server, d *deltas, st map[*store.Report]standing, marks *[]mark, w *rowWrites) {
	id := rs[0].ServerID
	var old server
	if stored != nil {
		old = *stored
	}
	cur := old
	applied := false
	for _, r := range rs {
		sec := r.Received.Unix()
		if cur.exists && sec < cur.last {
			continue // late
		}
		applied = true
		dy := store.DayKey(r.Received)
		wk := store.WeekKey(dy)
		newDay := !cur.exists || day(cur.last) != dy
		if newDay {
			d.day(dy).servers++
		}
		known := cur.exists && cur.cluster == r.ClusterID && day(cur.first) < dy
		joined := newDay || cur.cluster != r.ClusterID
		if !cur.exists || store.WeekKey(day(cur.last)) != wk || cur.version != r.Version {
			*marks = append(*marks, mark{wk, r.Version, id})
		}
		if !cur.exists {
			cur.exists, cur.first = true, sec
			d.totals["servers"]++
		}
		if cur.cluster != r.ClusterID {
			cur.first = sec // first seen in this cluster
		}
		cur.cluster, cur.last = r.ClusterID, sec
		cur.version, cur.os, cur.arch, cur.uptime = r.Version, r.OS, r.Arch, r.Uptime
		if p := payloadOf(r); p.Present {
			cur.payload = p
		}
		st[r] = standing{joined: joined, known: known, payload: cur.payload}
	}
	if !applied {
		return // every report was late
	}
	if old.exists {
		d.move(day(old.last), old.values(), day(cur.last), cur.values())
		if h0, h1 := hour(old.last), hour(cur.last); h0 != h1 {
			d.active(h0).servers--
			d.active(h1).servers++
		}
	} else {
		d.move(0, nil, day(cur.last), cur.values())
		d.active(hour(cur.last)).servers++
	}
	row := []any{id, cur.cluster, cur.first, cur.last, cur.version, cur.os, cur.arch, encodePayload(cur.payload), cur.uptime}
	if old.exists {
		w.set = append(w.set, row)
	} else {
		w.fresh = append(w.fresh, row)
	}
}

// payloadOf is r's parsed payload (DB.Insert parsed it when the caller
// did not).
func payloadOf(r *store.Report) *store.Payload {
	if r.Payload == nil { // cannot happen through Insert
		return &store.Payload{Endpoints: -1, Backends: -1}
	}
	return r.Payload
}

// cluster applies the reports of one cluster (oldest first).
// stored is its row as loadClusters read it, nil for a new cluster.
// Every report counts as the cluster's activity and in its size; only the
// first report of a new cluster, a known server's (see standing) or one
// ending a silence of more than store.PublicDays days sets its version
// and payload.
func (s *DB) cluster(rs []*store.Report, stored *cluster, d *deltas, st map[*store.Report]standing, w *rowWrites) {
	id := rs[0].ClusterID
	var old cluster
	if stored != nil {
		old = *stored
	}
	cur := old
	for _, r := range rs {
		sec := r.Received.Unix()
		dy := store.DayKey(r.Received)
		wk := store.WeekKey(dy)
		if cur.exists && sec < cur.last {
			// Late for the cluster, maybe not for its server: a server
			// joining the cluster's current day still adds to its size.
			if st[r].joined && dy == cur.sizeDay {
				cur.size++
			}
			continue
		}
		adopt := !cur.exists || st[r].known
		if cur.exists && !adopt && dy-day(cur.last) > store.PublicDays {
			// Silent for longer than any public figure looks back: the
			// report takes the cluster over as a new one would, and it
			// must be established again to count publicly.
			adopt, cur.first = true, sec
		}
		if !cur.exists || day(cur.last) != dy {
			d.day(dy).clusters++
		}
		newWeek := !cur.exists || store.WeekKey(day(cur.last)) != wk
		if newWeek {
			d.week(wk).activeClusters++
		}
		if !cur.exists {
			cur.exists, cur.first, cur.sizeDay = true, sec, dy
			d.totals["clusters"]++
			d.week(wk).newClusters++
		}
		if dy > cur.sizeDay {
			cur.prevSize, cur.size, cur.sizeDay = cur.size, 0, dy
		}
		if st[r].joined {
			cur.size++
		}
		cur.last = sec
		if adopt {
			cur.version = r.Version
			if p := payloadOf(r); p.Present {
				cur.payload = p
			} else if p := st[r].payload; p != nil {
				cur.payload = p
			}
		}
		// features_weekly counts a cluster once a week, by its payload
		// as of its first report of the week (the report's own, when it
		// carries one).
		if newWeek && cur.payload != nil {
			for _, f := range cur.payload.Features {
				d.weekFeat[wv{wk, f}]++
			}
		}
	}
	row := []any{id, cur.first, cur.last, cur.version, encodePayload(cur.payload), cur.sizeDay, cur.size, cur.prevSize}
	if old.exists {
		d.move(day(old.last), old.values(), day(cur.last), cur.values())
		if h0, h1 := hour(old.last), hour(cur.last); h0 != h1 {
			d.active(h0).clusters--
			d.active(h1).clusters++
		}
		w.set = append(w.set, row)
		return
	}
	d.move(0, nil, day(cur.last), cur.values())
	d.active(hour(cur.last)).clusters++
	w.fresh = append(w.fresh, row)
}

type mark struct {
	week    int64
	version string
	server  string
}

type wv struct {
	week    int64
	version string
}

type lk struct {
	day         int64
	kind, value string
}

type dayCount struct{ reports, servers, clusters int64 }
type weekCount struct{ newClusters, activeClusters int64 }
type hourCount struct{ servers, clusters int64 }

// deltas are the counter changes of one transaction, summed so each
// counter row is written once.
type deltas struct {
	days    map[int64]*dayCount
	weeks   map[int64]*weekCount
	weekVer map[wv]int64
	// weekFeat are the week_features deltas (wv.version is the feature).
	weekFeat map[wv]int64
	hours    map[int64]*hourCount
	latest   map[lk]int64
	totals   map[string]int64
}

func newDeltas() *deltas {
	return &deltas{days: map[int64]*dayCount{}, weeks: map[int64]*weekCount{}, weekVer: map[wv]int64{},
		weekFeat: map[wv]int64{}, hours: map[int64]*hourCount{}, latest: map[lk]int64{}, totals: map[string]int64{}}
}

func (d *deltas) day(k int64) *dayCount {
	if d.days[k] == nil {
		d.days[k] = &dayCount{}
	}
	return d.days[k]
}

func (d *deltas) week(k int64) *weekCount {
	if d.weeks[k] == nil {
		d.weeks[k] = &weekCount{}
	}
	return d.weeks[k]
}

func (d *deltas) active(k int64) *hourCount {
	if d.hours[k] == nil {
		d.hours[k] = &hourCount{}
	}
	return d.hours[k]
}

// move takes one ID's values out of day d0 and puts the new ones in d1.
func (d *deltas) move(d0 int64, old []kv, d1 int64, cur []kv) {
	for _, x := range old {
		d.latest[lk{d0, x.kind, x.value}]--
	}
	for _, x := range cur {
		d.latest[lk{d1, x.kind, x.value}]++
	}
}

// flush writes the non-zero deltas, table by table, in key order, one
// statement per table.
func (d *deltas) flush(t *tx) error {
	var rows [][]any
	for _, k := range sortedKeys(d.days, cmp.Compare[int64]) {
		c := d.days[k]
		rows = append(rows, []any{k, c.reports, c.servers, c.clusters})
	}
	if err := t.upsert(upDay, rows); err != nil {
		return err
	}
	rows = nil
	for _, k := range sortedKeys(d.weeks, cmp.Compare[int64]) {
		if c := d.weeks[k]; c.newClusters != 0 || c.activeClusters != 0 {
			rows = append(rows, []any{k, c.newClusters, c.activeClusters})
		}
	}
	if err := t.upsert(upWeek, rows); err != nil {
		return err
	}
	rows = nil
	for _, k := range sortedKeys(d.weekVer, func(a, b wv) int {
		return cmp.Or(cmp.Compare(a.week, b.week), cmp.Compare(a.version, b.version))
	}) {
		rows = append(rows, []any{k.week, k.version, d.weekVer[k]})
	}
	if err := t.upsert(upWeekVer, rows); err != nil {
		return err
	}
	rows = nil
	for _, k := range sortedKeys(d.weekFeat, func(a, b wv) int {
		return cmp.Or(cmp.Compare(a.week, b.week), cmp.Compare(a.version, b.version))
	}) {
		rows = append(rows, []any{k.week, k.version, d.weekFeat[k]})
	}
	if err := t.upsert(upWeekFeat, rows); err != nil {
		return err
	}
	rows = nil
	for _, k := range sortedKeys(d.hours, cmp.Compare[int64]) {
		if c := d.hours[k]; c.servers != 0 || c.clusters != 0 {
			rows = append(rows, []any{k, c.servers, c.clusters})
		}
	}
	if err := t.upsert(upActive, rows); err != nil {
		return err
	}
	main, pairs := map[lk]int64{}, map[lk]int64{}
	for k, n := range d.latest {
		if pairKind[k.kind] {
			pairs[k] = n
		} else {
			main[k] = n
		}
	}
	if err := flushLatest(t, main, upLatest, upLatestWeek); err != nil {
		return err
	}
	if err := flushLatest(t, pairs, upPairs, upPairsWeek); err != nil {
		return err
	}
	rows = nil
	for _, k := range sortedKeys(d.totals, cmp.Compare[string]) {
		rows = append(rows, []any{k, d.totals[k]})
	}
	return t.upsert(upTotal, rows)
}

func sortedKeys[K comparable, V any](m map[K]V, c func(a, b K) int) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, c)
	return keys
}

// pairKind are the latest kinds of value pairs (an uptime bucket and a
// version, a feature and a version): many more rows than the others, kept
// in tables of their own (latest_pairs, latest_pairs_weeks) so that a long
// range of the other breakdowns never reads them, and read over at most
// PairDays days.
var pairKind = map[string]bool{"up": true, "c.fver": true}

func byLatestKey(a, b lk) int {
	return cmp.Or(cmp.Compare(a.day, b.day), cmp.Compare(a.kind, b.kind), cmp.Compare(a.value, b.value))
}

// flushLatest writes per-day deltas to a latest table and their weekly
// sums to its weeks table.
func flushLatest(t *tx, m map[lk]int64, days, weeksUp upsert) error {
	var rows [][]any
	weeks := map[lk]int64{}
	for _, k := range sortedKeys(m, byLatestKey) {
		if n := m[k]; n != 0 {
			rows = append(rows, []any{k.day, k.kind, k.value, n})
			weeks[lk{store.WeekKey(k.day), k.kind, k.value}] += n
		}
	}
	if err := t.upsert(days, rows); err != nil {
		return err
	}
	rows = nil
	for _, k := range sortedKeys(weeks, byLatestKey) {
		if n := weeks[k]; n != 0 {
			rows = append(rows, []any{k.day, k.kind, k.value, n})
		}
	}
	return t.upsert(weeksUp, rows)
}
