package ui

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/store"
)

// What the public view publishes, from the stats: the fleet's aggregates
// and nothing that tells one cluster from another:
//
//   - no cluster or server ID, no per-cluster row, no server counts of an
//     entry (a cluster's size could single it out);
//   - a breakdown entry seen in fewer than k clusters
//     (Config.MinClusters) is folded into "other";
//   - a total below k is shown as "< k", never as its value, and the
//     servers of fewer than k clusters not at all.

// publicCount is a public number: its value when 0 or at least k, else
// "< k".
type publicCount struct {
	n, k int64
	// hidden: not shown at all (null), e.g. the servers of fewer than k
	// clusters, which would tell one cluster's size.
	hidden bool
}

func (c publicCount) small() bool { return c.n > 0 && c.n < c.k }

func (c publicCount) MarshalJSON() ([]byte, error) {
	switch {
	case c.hidden:
		return []byte("null"), nil
	case c.small():
		return json.Marshal(c.String())
	}
	return strconv.AppendInt(nil, c.n, 10), nil
}

func (c publicCount) String() string {
	if c.hidden {
		return "–"
	}
	if c.small() {
		return "< " + strconv.FormatInt(c.k, 10)
	}
	return strconv.FormatInt(c.n, 10)
}

// publicEntry is one value of a public breakdown and its clusters.
type publicEntry struct {
	Value    string      `json:"value"`
	Clusters publicCount `json:"clusters"`
}

// publicWeek is one ISO week of the public growth series.
type publicWeek struct {
	Week           string      `json:"week"`
	ActiveClusters publicCount `json:"active_clusters"`
	NewClusters    publicCount `json:"new_clusters"`
}

// PublicStats is /public/stats.json.
type publicStats struct {
	Generated      time.Time     `json:"generated"`
	RangeDays      int           `json:"range_days"`
	MinClusters    int           `json:"min_clusters"`
	ActiveClusters publicCount   `json:"active_clusters"`
	ActiveServers  publicCount   `json:"active_servers"`
	Versions       []publicEntry `json:"versions"`
	Features       []publicEntry `json:"features"`
	Methods        []publicEntry `json:"methods"`
	Mode           []publicEntry `json:"mode"`
	Libc           []publicEntry `json:"libc"`
	Weeks          []publicWeek  `json:"weeks"`
}

// fold keeps the entries seen in at least k clusters, in order, and sums
// the others (and any "other" already there) into a last "other".
func fold(values []string, clusters []int64, k int64) []publicEntry {
	out := []publicEntry{}
	var other int64
	for i, v := range values {
		if v == store.Other || clusters[i] < k {
			other += clusters[i]
			continue
		}
		out = append(out, publicEntry{Value: v, Clusters: publicCount{n: clusters[i], k: k}})
	}
	if other > 0 {
		out = append(out, publicEntry{Value: store.Other, Clusters: publicCount{n: other, k: k}})
	}
	return out
}

func foldFeatures(fs []store.Feature, k int64) []publicEntry {
	vs, cs := make([]string, len(fs)), make([]int64, len(fs))
	for i, f := range fs {
		vs[i], cs[i] = f.Value, f.Clusters
	}
	return fold(vs, cs, k)
}

func foldSizes(ss []store.Size, k int64) []publicEntry {
	vs, cs := make([]string, len(ss)), make([]int64, len(ss))
	for i, s := range ss {
		vs[i], cs[i] = s.Value, s.Clusters
	}
	return fold(vs, cs, k)
}

// publicOf derives the public answer from the stats.
func publicOf(st *store.Stats, k int) *publicStats {
	kk := int64(k)
	p := &publicStats{Generated: st.Generated, RangeDays: st.RangeDays, MinClusters: k,
		ActiveClusters: publicCount{n: st.ActiveClusters.Range, k: kk},
		ActiveServers:  publicCount{n: st.ActiveServers.Range, k: kk, hidden: st.ActiveClusters.Range < kk},
		Versions:       foldSizes(st.ClusterVersions, kk), Features: foldFeatures(st.Features, kk),
		Methods: foldFeatures(st.Methods, kk), Mode: foldFeatures(st.Channels.Mode, kk), Libc: foldFeatures(st.Channels.Libc, kk),
		Weeks: []publicWeek{}}
	for _, g := range st.Growth {
		p.Weeks = append(p.Weeks, publicWeek{Week: g.Week, ActiveClusters: publicCount{n: g.ActiveClusters, k: kk},
			NewClusters: publicCount{n: g.NewClusters, k: kk}})
	}
	return p
}
