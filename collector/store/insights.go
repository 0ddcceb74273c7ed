package store

import (
	"sort"
	"strings"
)

// The fleet insights: feature adoption over time and by
// version, install channels and distributions. Like every other field of
// Stats they are read from rollups.

// WeekFeatures is one ISO week of features_weekly.
type WeekFeatures struct {
	Week string `json:"week"` // 2026-W47
	// ActiveClusters reported that week: the denominator of a share.
	ActiveClusters int64 `json:"active_clusters"`
	// Features are the clusters that reported that week whose gateway
	// payload, as of their first report of the week, used each feature:
	// the same names every week (the MaxFeatures largest over the
	// weeks, then Other), by clusters.
	Features []Size `json:"features"`
}

// FeatureVersions is one feature of feature_versions: the clusters active
// in the last PairDays days (or the range, when shorter) using it, by the
// gateway version the cluster last reported.
type FeatureVersions struct {
	Feature  string `json:"feature"`
	Clusters int64  `json:"clusters"`
	// Versions are the TopWeekly largest versions, then Other.
	Versions []Size `json:"versions"`
}

// Channels is how the active servers and clusters run the gateway
// extension, by their latest gateway payload: Mode (wrapper, sidecar, plugin, decorator),
// Libc (glibc, musl, none) and both (plugin/musl). A payload that does not
// say (earlier versions, the original client) counts as Unknown, a word
// usage/krakend does not know as Other.
type Channels struct {
	Mode    []Feature `json:"mode"`
	Libc    []Feature `json:"libc"`
	Channel []Feature `json:"channel"`
}

// Percentiles are the 50th, 90th and 99th percentiles of N values. Each
// is the lower bound of the bucket holding it (see LogLow): exact below
// 100, else rounded down to two significant digits, at most 10% under.
type Percentiles struct {
	Value string `json:"value,omitempty"`
	N     int64  `json:"n"`
	P50   int64  `json:"p50"`
	P90   int64  `json:"p90"`
	P99   int64  `json:"p99"`
}

// Distributions are percentiles of the numbers each report carries.
type Distributions struct {
	// UptimeByVersion: the latest uptime, in seconds, of the servers
	// active in the last PairDays days (or the range), per version (the TopValues largest by
	// servers, then Other). A low p50 is a version that restarts often.
	UptimeByVersion []Percentiles `json:"uptime_by_version"`
	// Per cluster active in the range, from its latest gateway payload
	// (endpoints and backends) and its size (servers, as in
	// servers_per_cluster).
	EndpointsPerCluster Percentiles `json:"endpoints_per_cluster"`
	BackendsPerCluster  Percentiles `json:"backends_per_cluster"`
	ServersPerCluster   Percentiles `json:"servers_per_cluster"`
}

// LogLow is the lower bound of the distribution bucket holding n: n
// itself below 100, else n rounded down to two significant digits (1234 ->
// 1200, 3600 -> 3600, 56789 -> 56000), so a value is at most 10% above its
// bucket's bound and a distribution has at most 90 buckets per power of
// ten.
func LogLow(n int64) int64 {
	if n < 100 {
		return max(n, 0)
	}
	p := int64(1)
	for n/p >= 100 {
		p *= 10
	}
	return n / p * p
}

// Quantiles computes the percentiles of a histogram (bucket lower bound
// -> count).
func Quantiles(h map[int64]int64) Percentiles {
	keys := make([]int64, 0, len(h))
	var n int64
	for k, c := range h {
		if c > 0 {
			keys = append(keys, k)
			n += c
		}
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	out := Percentiles{N: n}
	at := func(q float64) int64 {
		rank := int64(q*float64(n) + 0.999999) // ceil, the nearest-rank method
		var seen int64
		for _, k := range keys {
			if seen += h[k]; seen >= rank {
				return k
			}
		}
		return 0
	}
	if n > 0 {
		out.P50, out.P90, out.P99 = at(0.50), at(0.90), at(0.99)
	}
	return out
}

// Pair joins two rollup values with a space: a version may hold spaces,
// a feature name or a bucket never does, so it goes first.
func Pair(first, second string) string { return first + " " + second }

// Unpair splits a Pair.
func Unpair(v string) (first, second string, ok bool) { return strings.Cut(v, " ") }
