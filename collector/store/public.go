package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// The public figures: what the collector's public view (GET /public and
// /public/stats.json) shows anyone. They are made to give away no
// cluster, whoever reads them and whatever that reader reports:
//
//   - a daily snapshot: the figures describe the last complete UTC day,
//     are computed once for it and then kept in the database, so every
//     answer of that day (from every collector sharing the database) is
//     the same bytes, and a report changes nothing public before the next
//     UTC day;
//   - established clusters only: a cluster counts once its reports span
//     PublicOptions.EstablishedDays UTC days (its first and latest reports
//     that many days minus one apart, its first at least that long before
//     the day described), so a cluster made to probe the figures costs
//     days, not seconds;
//   - every count is rounded down to a multiple of k
//     (PublicOptions.MinClusters): a shown n stands for n to n+k-1, and 0
//     for none to k-1. A value seen in fewer than k clusters is not named,
//     its clusters are counted in "other". In a breakdown where each
//     cluster has one value (versions, mode, libc), "other" is the
//     rounded total of the breakdown minus its rounded named entries, so
//     the entries add up to the total and no sum or difference of shown
//     numbers pins a count to one value: every count so derived is
//     uncertain over at least k values (k-1 when it is known not to be
//     0). Entries are ordered by their shown count, then by name, so the
//     order tells no more than the numbers.
//
// Reports from a server new to an existing cluster do not change the
// cluster's version or payload until that server is itself established
// (the store's writers see to it; see Store), so a report under a guessed
// cluster ID changes no public number either.

// Defaults of the public figures.
const (
	// DefaultPublicMinClusters is k: the rounding step of every count,
	// and the fewest clusters a named value must have.
	DefaultPublicMinClusters = 5
	// DefaultEstablishedDays is how many UTC days a cluster's reports
	// must span before it counts publicly.
	DefaultEstablishedDays = 3
	// PublicDays is the range of the public figures: the clusters whose
	// latest report falls in the PublicDays days ending with the day
	// described. A cluster silent for longer is no longer counted, so a
	// report from an unknown server may then replace its values (see
	// Store).
	PublicDays = DefaultDays
)

// PublicOptions are the knobs of the public figures.
type PublicOptions struct {
	// MinClusters is k, at least 2 (default DefaultPublicMinClusters).
	MinClusters int
	// EstablishedDays is how many UTC days a cluster's reports must span
	// before it counts, at least 1 (default DefaultEstablishedDays).
	EstablishedDays int
}

func (o PublicOptions) withDefaults() PublicOptions {
	o.MinClusters = cmp.Or(o.MinClusters, DefaultPublicMinClusters)
	o.EstablishedDays = cmp.Or(o.EstablishedDays, DefaultEstablishedDays)
	return o
}

// Public is the public figures of one UTC day, as /public/stats.json
// shows them. Every count is a multiple of Rounding.
type Public struct {
	// Day is the UTC day described (YYYY-MM-DD); Generated is its end.
	Day             string    `json:"day"`
	Generated       time.Time `json:"generated"`
	RangeDays       int       `json:"range_days"`
	MinClusters     int       `json:"min_clusters"`
	Rounding        int       `json:"rounding"`
	EstablishedDays int       `json:"established_days"`
	ActiveClusters  int64     `json:"active_clusters"`
	// ActiveServers is the known servers of those clusters (see
	// ClusterState.Servers); nil (null) while ActiveClusters is 0, so
	// that no one cluster's size is shown.
	ActiveServers *int64        `json:"active_servers"`
	Versions      []PublicEntry `json:"versions"`
	Features      []PublicEntry `json:"features"`
	Methods       []PublicEntry `json:"methods"`
	Mode          []PublicEntry `json:"mode"`
	Libc          []PublicEntry `json:"libc"`
	Weeks         []PublicWeek  `json:"weeks"`
}

// PublicEntry is one value of a public breakdown.
type PublicEntry struct {
	Value    string `json:"value"`
	Clusters int64  `json:"clusters"`
}

// PublicWeek is one ISO week of the public growth series: the
// established clusters first seen that week, and those active that week
// (first seen by its end, latest report since its start).
type PublicWeek struct {
	Week           string `json:"week"`
	ActiveClusters int64  `json:"active_clusters"`
	NewClusters    int64  `json:"new_clusters"`
}

// ClusterState is one cluster's latest state, as Store.ClusterStates
// gives it to the public figures.
type ClusterState struct {
	First, Last time.Time
	Version     string
	Payload     *Payload // nil: never sent one
	// Servers are its known servers (that reported in it on two UTC days
	// or more) whose latest report is on its latest day or the day
	// before: a server reporting under a guessed cluster ID once is not
	// one of them.
	Servers int64
}

// PublicDay is the UTC day the public figures at now describe: the last
// complete one.
func PublicDay(now time.Time) int64 { return DayKey(now) - 1 }

// PublicSnapshot returns the public figures at now and their JSON: those
// of the last complete UTC day, computed by the first caller of the day
// and kept in s (Store.DailySnapshot), so every later call, from any
// collector on the same database, returns the same bytes.
func PublicSnapshot(ctx context.Context, s Store, now time.Time, o PublicOptions) (*Public, []byte, error) {
	o = o.withDefaults()
	day := PublicDay(now)
	name := fmt.Sprintf("public/k%d/e%d", o.MinClusters, o.EstablishedDays)
	js, err := s.DailySnapshot(ctx, name, day, func(ctx context.Context) ([]byte, error) {
		p, err := PublicFigures(ctx, s, day, o)
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(p)
		return append(b, '\n'), err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("store: public figures: %w", err)
	}
	p := &Public{}
	if err := json.Unmarshal(js, p); err != nil {
		return nil, nil, fmt.Errorf("store: public figures: %w", err)
	}
	return p, js, nil
}

// PublicFigures computes the public figures of day (a DayKey) from the
// clusters' latest state.
func PublicFigures(ctx context.Context, s Store, day int64, o PublicOptions) (*Public, error) {
	o = o.withDefaults()
	t := newTally(day, o)
	if err := s.ClusterStates(ctx, time.Unix(t.since*86400, 0), t.add); err != nil {
		return nil, err
	}
	return t.public(), nil
}

// tally counts the established clusters of one day.
type tally struct {
	day, k, est          int64
	rangeStart           int64 // first day of the range
	firstWeek, lastWeek  int64
	since                int64 // first day a cluster's latest report may fall on to matter
	clusters, servers    int64
	versions, mode, libc map[string]int64
	features, methods    map[string]int64
	newW, activeW        map[int64]int64
}

func newTally(day int64, o PublicOptions) *tally {
	t := &tally{day: day, k: int64(o.MinClusters), est: int64(o.EstablishedDays),
		rangeStart: day - PublicDays + 1, lastWeek: WeekKey(day),
		versions: map[string]int64{}, mode: map[string]int64{}, libc: map[string]int64{},
		features: map[string]int64{}, methods: map[string]int64{}, newW: map[int64]int64{}, activeW: map[int64]int64{}}
	t.firstWeek = min(t.lastWeek-Weeks+1, WeekKey(t.rangeStart))
	first, _ := WeekDays(t.firstWeek)
	t.since = min(first, t.rangeStart)
	return t
}

// established reports whether a cluster counts on the day described.
func (t *tally) established(c ClusterState) bool {
	first, last := DayKey(c.First), DayKey(c.Last)
	return first <= t.day-(t.est-1) && last-first >= t.est-1
}

func (t *tally) add(c ClusterState) error {
	if !t.established(c) {
		return nil
	}
	first, last := DayKey(c.First), min(DayKey(c.Last), t.day)
	if w := WeekKey(first); w >= t.firstWeek {
		t.newW[w]++
	}
	for w := max(WeekKey(first), t.firstWeek); w <= WeekKey(last); w++ {
		t.activeW[w]++
	}
	if DayKey(c.Last) < t.rangeStart {
		return nil
	}
	t.clusters++
	t.servers += c.Servers
	t.versions[c.Version]++
	if p := c.Payload; p != nil && p.Present {
		t.mode[cmp.Or(p.Mode, Unknown)]++
		t.libc[cmp.Or(p.Libc, Unknown)]++
		for _, f := range p.Features {
			t.features[f]++
		}
		for _, m := range p.Methods {
			t.methods[m]++
		}
	}
	return nil
}

func (t *tally) public() *Public {
	end := time.Unix((t.day+1)*86400, 0).UTC()
	p := &Public{Day: DayDate(t.day), Generated: end, RangeDays: PublicDays,
		MinClusters: int(t.k), Rounding: int(t.k), EstablishedDays: int(t.est),
		ActiveClusters: t.round(t.clusters),
		Versions:       t.breakdown(t.versions, TopValues, true),
		Features:       t.breakdown(t.features, MaxFeatures, false),
		Methods:        t.breakdown(t.methods, TopMethods, false),
		Mode:           t.breakdown(t.mode, TopValues, true),
		Libc:           t.breakdown(t.libc, TopValues, true),
		Weeks:          []PublicWeek{}}
	if p.ActiveClusters > 0 {
		n := t.round(t.servers)
		p.ActiveServers = &n
	}
	for w := t.firstWeek; w <= t.lastWeek; w++ {
		p.Weeks = append(p.Weeks, PublicWeek{Week: WeekLabel(w), ActiveClusters: t.round(t.activeW[w]), NewClusters: t.round(t.newW[w])})
	}
	return p
}

// round is n rounded down to a multiple of k.
func (t *tally) round(n int64) int64 { return n - n%t.k }

// breakdown names the values of m seen in at least k clusters (the top
// largest), each count rounded down, and counts the rest as Other. In a
// partition (each cluster counted once), Other is the rounded total less
// the named entries as shown; otherwise it is its own count, rounded.
func (t *tally) breakdown(m map[string]int64, top int, partition bool) []PublicEntry {
	type vc struct {
		v string
		n int64
	}
	all := make([]vc, 0, len(m))
	var total int64
	for v, n := range m {
		all = append(all, vc{v, n})
		total += n
	}
	slices.SortFunc(all, func(a, b vc) int { return cmp.Or(cmp.Compare(b.n, a.n), cmp.Compare(a.v, b.v)) })
	out := []PublicEntry{}
	var named, rest int64
	for _, x := range all {
		if x.v == Other || x.n < t.k || len(out) >= top {
			rest += x.n
			continue
		}
		out = append(out, PublicEntry{Value: x.v, Clusters: t.round(x.n)})
		named += t.round(x.n)
	}
	other := t.round(rest)
	if partition {
		other = t.round(total) - named
	}
	// Shown counts only: the true ones would tell apart values shown
	// alike.
	slices.SortFunc(out, func(a, b PublicEntry) int {
		return cmp.Or(cmp.Compare(b.Clusters, a.Clusters), cmp.Compare(a.Value, b.Value))
	})
	if other > 0 {
		out = append(out, PublicEntry{Value: Other, Clusters: other})
	}
	return out
}
