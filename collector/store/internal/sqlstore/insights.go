package sqlstore

import (
	"context"
	"strconv"
	"strings"

	"github.com/krakend-usage/krakend-usage/collector/store"
)

// insights gathers the latest kinds behind feature_versions, channels
// and distributions while breakdowns reads the range.
type insights struct {
	fver               map[string]map[string]int64 // feature -> version -> clusters
	channels, cchannel map[string]int64
	cversion           map[string]int64
	uptime             map[string]map[int64]int64 // version -> bucket -> servers
	ep, be, srv        map[int64]int64
}

func (in *insights) add(kind, value string, n int64) {
	if in.fver == nil {
		*in = insights{fver: map[string]map[string]int64{}, channels: map[string]int64{}, cchannel: map[string]int64{},
			cversion: map[string]int64{}, uptime: map[string]map[int64]int64{},
			ep: map[int64]int64{}, be: map[int64]int64{}, srv: map[int64]int64{}}
	}
	bucket := func(m map[int64]int64, v string) {
		if b, err := strconv.ParseInt(v, 10, 64); err == nil {
			m[b] += n
		}
	}
	switch kind {
	case "c.fver":
		if f, v, ok := store.Unpair(value); ok {
			if in.fver[f] == nil {
				in.fver[f] = map[string]int64{}
			}
			in.fver[f][v] += n
		}
	case "channel":
		in.channels[value] += n
	case "c.channel":
		in.cchannel[value] += n
	case "c.version":
		in.cversion[value] += n
	case "up":
		if b, v, ok := store.Unpair(value); ok {
			if in.uptime[v] == nil {
				in.uptime[v] = map[int64]int64{}
			}
			bucket(in.uptime[v], b)
		}
	case "c.ep":
		bucket(in.ep, value)
	case "c.be":
		bucket(in.be, value)
	case "c.srv":
		bucket(in.srv, value)
	}
}

func (in *insights) fill(st *store.Stats) {
	if in.fver == nil {
		in.add("", "", 0) // allocate: every field of the answer is present
	}
	// feature_versions: the features of st.Features, in its order.
	st.FeatureVersions = make([]store.FeatureVersions, 0, len(st.Features))
	for _, f := range st.Features {
		fv := store.FeatureVersions{Feature: f.Value, Versions: []store.Size{}}
		var vs []store.Count
		for v, n := range in.fver[f.Value] {
			vs = append(vs, store.Count{Value: v, Servers: n})
		}
		if f.Value == store.Other { // the folded features' versions
			for name, m := range in.fver {
				if !hasFeature(st.Features, name) {
					for v, n := range m {
						vs = append(vs, store.Count{Value: v, Servers: n})
					}
				}
			}
			vs = sumCounts(vs)
		}
		for _, c := range store.TopCounts(vs, store.TopWeekly) {
			fv.Versions = append(fv.Versions, store.Size{Value: c.Value, Clusters: c.Servers})
			fv.Clusters += c.Servers
		}
		st.FeatureVersions = append(st.FeatureVersions, fv)
	}
	// channels
	mode, libc, both := map[string]*store.Feature{}, map[string]*store.Feature{}, map[string]*store.Feature{}
	get := func(m map[string]*store.Feature, v string) *store.Feature {
		if m[v] == nil {
			m[v] = &store.Feature{Value: v}
		}
		return m[v]
	}
	for ch, n := range in.channels {
		md, lc, _ := strings.Cut(ch, "/")
		get(mode, md).Servers += n
		get(libc, lc).Servers += n
		get(both, ch).Servers += n
	}
	for ch, n := range in.cchannel {
		md, lc, _ := strings.Cut(ch, "/")
		get(mode, md).Clusters += n
		get(libc, lc).Clusters += n
		get(both, ch).Clusters += n
	}
	st.Channels = store.Channels{Mode: sortFeatures(mode), Libc: sortFeatures(libc), Channel: sortFeatures(both)}
	// distributions: uptime per version, the versions of st.Versions.
	ds := store.Distributions{UptimeByVersion: []store.Percentiles{}}
	other := map[int64]int64{}
	for _, v := range st.Versions {
		if v.Value == store.Other {
			continue
		}
		p := store.Quantiles(in.uptime[v.Value])
		p.Value = v.Value
		if p.N > 0 {
			ds.UptimeByVersion = append(ds.UptimeByVersion, p)
		}
	}
	for v, h := range in.uptime {
		if !hasVersion(st.Versions, v) {
			for b, n := range h {
				other[b] += n
			}
		}
	}
	if p := store.Quantiles(other); p.N > 0 {
		p.Value = store.Other
		ds.UptimeByVersion = append(ds.UptimeByVersion, p)
	}
	ds.EndpointsPerCluster = store.Quantiles(in.ep)
	ds.BackendsPerCluster = store.Quantiles(in.be)
	ds.ServersPerCluster = store.Quantiles(in.srv)
	st.Distributions = ds
	st.ClusterVersions = store.TopSizes(in.cversion, store.TopValues)
}

func hasFeature(fs []store.Feature, name string) bool {
	for _, f := range fs {
		if f.Value == name {
			return true
		}
	}
	return false
}

func hasVersion(cs []store.Count, v string) bool {
	for _, c := range cs {
		if c.Value == v && v != store.Other {
			return true
		}
	}
	return false
}

func sumCounts(cs []store.Count) []store.Count {
	m := map[string]int64{}
	for _, c := range cs {
		m[c.Value] += c.Servers
	}
	out := make([]store.Count, 0, len(m))
	for v, n := range m {
		out = append(out, store.Count{Value: v, Servers: n})
	}
	return out
}

func sortFeatures(m map[string]*store.Feature) []store.Feature {
	return store.TopFeatures(values(m), len(m)+1)
}

// featuresWeekly fills features_weekly: the last Weeks ISO weeks.
func (s *DB) featuresWeekly(ctx context.Context, st *store.Stats) error {
	last := store.WeekKey(store.DayKey(st.Generated))
	first := last - store.Weeks + 1
	byWeek := map[int64]map[string]int64{}
	total := map[string]int64{}
	err := s.query(ctx, "r.weekfeat", func(rows interface{ Scan(...any) error }) error {
		var w, n int64
		var f string
		if err := rows.Scan(&w, &f, &n); err != nil {
			return err
		}
		if byWeek[w] == nil {
			byWeek[w] = map[string]int64{}
		}
		byWeek[w][f] += n
		total[f] += n
		return nil
	}, first)
	if err != nil {
		return err
	}
	var all []store.Feature
	for f, n := range total {
		all = append(all, store.Feature{Value: f, Clusters: n})
	}
	var names []string
	for _, f := range store.TopFeatures(all, store.MaxFeatures) {
		names = append(names, f.Value)
	}
	active := map[string]int64{}
	for _, g := range st.Growth {
		active[g.Week] = g.ActiveClusters
	}
	st.FeaturesWeekly = make([]store.WeekFeatures, 0, store.Weeks)
	for w := first; w <= last; w++ {
		wf := store.WeekFeatures{Week: store.WeekLabel(w), Features: make([]store.Size, 0, len(names))}
		wf.ActiveClusters = active[wf.Week]
		var other int64
		for f, n := range byWeek[w] {
			if !contains(names, f) || f == store.Other {
				other += n
			}
		}
		for _, f := range names {
			n := byWeek[w][f]
			if f == store.Other {
				n = other
			}
			wf.Features = append(wf.Features, store.Size{Value: f, Clusters: n})
		}
		st.FeaturesWeekly = append(st.FeaturesWeekly, wf)
	}
	return nil
}

func contains(names []string, f string) bool {
	for _, n := range names {
		if n == f {
			return true
		}
	}
	return false
}
