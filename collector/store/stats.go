package store

import (
	"fmt"
	"sort"
	"strconv"
	"time"
)

// The range of days a stats answer covers (GET /api/stats?days=N).
const (
	DefaultDays = 30
	MinDays     = 7
	MaxDays     = 365
)

// StatsDays is the default range, kept for callers of the first API.
const StatsDays = DefaultDays

// Breakdown sizes: a breakdown answers its largest values and folds the
// rest into Other, so an answer stays small whatever is stored.
const (
	TopValues   = 15 // versions, os, arch, os_arch
	MaxFeatures = 40 // features (KrakenD has about 60 namespaces)
	TopMethods  = 10
	TopWeekly   = 8 // versions per week in versions_weekly
	// PairDays bounds the range of feature_versions and of the uptime
	// distribution: the servers and clusters active in the last PairDays
	// days (or the range, when shorter). Their rollups hold a row per
	// pair of values (feature and version, uptime and version): many
	// more rows than the other breakdowns, and the recent fleet is what
	// their questions are about.
	PairDays = 30
	// Weeks is how many ISO weeks versions_weekly covers; growth covers
	// the range, and at least Weeks.
	Weeks = 12
	// ChurnDays is how long a cluster must stay silent after its last
	// report to count as churned in that report's week.
	ChurnDays = 30
	// MaxValues is how many distinct values of a version, an OS, an
	// architecture and an OS/architecture pair the rollups count by name
	// per ISO week; the week's other values count as Other. A reporter
	// chooses these values, so without a bound every new one would be a
	// row of every rollup and of every stats answer. A KrakenD fleet runs
	// a few dozen versions.
	MaxValues int64 = 100
)

// Stats is the summary served by GET /api/stats. Every figure comes from
// rollups kept by Insert, so it stays the same after raw reports are
// pruned by retention. Breakdowns count the servers (or clusters) active
// in the range by the latest value each one reported.
type Stats struct {
	Generated time.Time `json:"generated"`
	// RangeDays is the range the answer covers (?days=N).
	RangeDays int `json:"range_days"`
	// Reports counts every report ever accepted; RetainedReports those
	// still stored raw (see -retention).
	Reports         int64  `json:"reports"`
	RetainedReports int64  `json:"retained_reports"`
	Clusters        int64  `json:"clusters"`
	Servers         int64  `json:"servers"`
	ActiveClusters  Active `json:"active_clusters"`
	ActiveServers   Active `json:"active_servers"`
	// Versions, OS, Arch and OSArch count servers active in the range by
	// their latest value: the TopValues largest, then Other.
	Versions []Count `json:"versions"`
	OS       []Count `json:"os"`
	Arch     []Count `json:"arch"`
	OSArch   []Count `json:"os_arch"`
	// Days is one entry per UTC day, oldest first, the last RangeDays days
	// up to and including today, zero-filled.
	Days []Day `json:"days"`
	// Endpoints is the distribution of endpoint counts among servers
	// active in the range whose latest payload held an endpoint count.
	Endpoints []Bucket `json:"endpoints"`
	// BackendsPerEndpoint is the distribution of backends per endpoint
	// among the same servers, in fixed bucket order.
	BackendsPerEndpoint []Count `json:"backends_per_endpoint"`
	// ServersPerCluster is the distribution of cluster sizes among the
	// clusters active in the range, in fixed bucket order.
	ServersPerCluster []Size `json:"servers_per_cluster"`
	// Features counts the clusters and servers active in the range whose
	// latest gateway payload uses each extra_config namespace (KrakenD
	// component), by clusters. Methods does the same per HTTP method.
	Features []Feature `json:"features"`
	Methods  []Feature `json:"methods"`
	// VersionsWeekly is the last Weeks ISO weeks, oldest first: distinct
	// servers per version that week.
	VersionsWeekly []WeekVersions `json:"versions_weekly"`
	// Growth is one entry per ISO week covering the range (at least
	// Weeks), oldest first.
	Growth []Growth `json:"growth"`
	// ClusterVersions counts the clusters active in the range by the
	// version any of their servers last reported: the TopValues largest,
	// then Other.
	ClusterVersions []Size `json:"cluster_versions"`
	// FeaturesWeekly is the last Weeks ISO weeks, oldest first: clusters
	// using each feature that week.
	FeaturesWeekly []WeekFeatures `json:"features_weekly"`
	// FeatureVersions is, for each feature of Features, its clusters
	// active in the last PairDays days (or the range) by gateway version.
	FeatureVersions []FeatureVersions `json:"feature_versions"`
	// Channels breaks the fleet down by install channel.
	Channels Channels `json:"channels"`
	// Distributions are percentiles of uptime, endpoints, backends and
	// servers.
	Distributions Distributions `json:"distributions"`
}

// Active counts distinct IDs whose last report falls in the last 24
// hours, 7 days, 30 days and the range. Windows are counted in whole UTC
// hours: "24h" starts at the top of the hour 24 hours ago.
type Active struct {
	Day   int64 `json:"24h"`
	Week  int64 `json:"7d"`
	Month int64 `json:"30d"`
	Range int64 `json:"range"`
}

// Count is one value of a breakdown and the number of servers reporting it.
type Count struct {
	Value   string `json:"value"`
	Servers int64  `json:"servers"`
}

// Size is one bucket of servers per cluster.
type Size struct {
	Value    string `json:"value"`
	Clusters int64  `json:"clusters"`
}

// Feature is one component (or method) and how many active clusters and
// servers use it.
type Feature struct {
	Value    string `json:"value"`
	Clusters int64  `json:"clusters"`
	Servers  int64  `json:"servers"`
}

// WeekVersions is one ISO week of versions_weekly.
type WeekVersions struct {
	Week     string  `json:"week"` // 2026-W47
	Versions []Count `json:"versions"`
}

// Growth is one ISO week of the fleet's growth and churn.
type Growth struct {
	Week string `json:"week"`
	// NewClusters were first seen that week.
	NewClusters int64 `json:"new_clusters"`
	// ChurnedClusters sent their last report that week and none in the
	// ChurnDays that followed; a cluster counts once that time has passed.
	ChurnedClusters int64 `json:"churned_clusters"`
	// ActiveClusters reported at least once that week.
	ActiveClusters int64 `json:"active_clusters"`
}

// Day is one UTC day of activity.
type Day struct {
	Date     string `json:"date"` // YYYY-MM-DD
	Reports  int64  `json:"reports"`
	Servers  int64  `json:"servers"`  // distinct servers that reported that day
	Clusters int64  `json:"clusters"` // distinct clusters that reported that day
}

// Bucket is a range of endpoint counts, Min..Max inclusive (Max -1: no upper bound).
type Bucket struct {
	Label   string `json:"label"`
	Min     int64  `json:"min"`
	Max     int64  `json:"max"`
	Servers int64  `json:"servers"`
}

// bucketBounds are the lower bounds of the endpoint-count buckets.
var bucketBounds = []int64{0, 1, 6, 11, 26, 51, 101, 251, 501, 1001}

// sizeBounds are the lower bounds of the servers-per-cluster buckets.
var sizeBounds = []int64{1, 2, 3, 4, 6, 11, 26, 51, 101}

// BucketLow is the lower bound of the endpoint bucket holding n, the
// value the rollups store instead of n.
func BucketLow(n int64) int64 { return low(bucketBounds, n) }

// SizeLow is the lower bound of the servers-per-cluster bucket holding n.
func SizeLow(n int64) int64 { return low(sizeBounds, n) }

func low(bounds []int64, n int64) int64 {
	i := sort.Search(len(bounds), func(i int) bool { return bounds[i] > n }) - 1
	return bounds[max(i, 0)]
}

// Buckets folds endpoint counts (count or bucket lower bound → servers)
// into the fixed buckets, every bucket present.
func Buckets(exact map[int64]int64) []Bucket {
	out := make([]Bucket, len(bucketBounds))
	for i, lo := range bucketBounds {
		hi := int64(-1)
		if i+1 < len(bucketBounds) {
			hi = bucketBounds[i+1] - 1
		}
		out[i] = Bucket{Min: lo, Max: hi, Label: bucketLabel(lo, hi)}
	}
	for n, c := range exact {
		i := sort.Search(len(bucketBounds), func(i int) bool { return bucketBounds[i] > n }) - 1
		out[max(i, 0)].Servers += c
	}
	return out
}

// Sizes folds cluster sizes (bucket lower bound → clusters) into the
// fixed buckets, every bucket present.
func Sizes(got map[int64]int64) []Size {
	out := make([]Size, len(sizeBounds))
	for i, lo := range sizeBounds {
		hi := int64(-1)
		if i+1 < len(sizeBounds) {
			hi = sizeBounds[i+1] - 1
		}
		out[i] = Size{Value: bucketLabel(lo, hi)}
	}
	for n, c := range got {
		i := sort.Search(len(sizeBounds), func(i int) bool { return sizeBounds[i] > n }) - 1
		out[max(i, 0)].Clusters += c
	}
	return out
}

func bucketLabel(lo, hi int64) string {
	switch {
	case hi < 0:
		return itoa(lo) + "+"
	case lo == hi:
		return itoa(lo)
	default:
		return itoa(lo) + "-" + itoa(hi)
	}
}

// RatioBuckets are the labels of backends_per_endpoint, in order.
var RatioBuckets = []string{"0", "under 1", "1", "1-2", "2-3", "3-5", "over 5"}

// RatioBucket is the backends_per_endpoint bucket of a payload, or "" when
// it holds no endpoints or no backend count.
func RatioBucket(p *Payload) string {
	if p == nil || p.Endpoints <= 0 || p.Backends < 0 {
		return ""
	}
	r := float64(p.Backends) / float64(p.Endpoints)
	switch {
	case p.Backends == 0:
		return RatioBuckets[0]
	case r < 1:
		return RatioBuckets[1]
	case r == 1:
		return RatioBuckets[2]
	case r <= 2:
		return RatioBuckets[3]
	case r <= 3:
		return RatioBuckets[4]
	case r <= 5:
		return RatioBuckets[5]
	}
	return RatioBuckets[6]
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// DayKey is the UTC day number of t (days since the Unix epoch), the key
// of the per-day rollups.
func DayKey(t time.Time) int64 {
	return floorDiv(t.Unix(), 86400)
}

// HourKey is the hour number of t since the Unix epoch.
func HourKey(t time.Time) int64 {
	return floorDiv(t.Unix(), 3600)
}

// WeekKey is the ISO week number of day (weeks since the Monday before
// the epoch): the key of the weekly rollups.
func WeekKey(day int64) int64 {
	return floorDiv(day+3, 7) // day 0, 1970-01-01, was a Thursday
}

// WeekLabel formats a week number the ISO way, 2026-W47.
func WeekLabel(week int64) string {
	y, w := time.Unix((week*7-3)*86400, 0).UTC().ISOWeek()
	return fmt.Sprintf("%04d-W%02d", y, w)
}

// WeekDays returns the first and last day numbers of a week.
func WeekDays(week int64) (first, last int64) {
	return week*7 - 3, week*7 + 3
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// DayDate formats a day number as YYYY-MM-DD.
func DayDate(day int64) string {
	return time.Unix(day*86400, 0).UTC().Format(time.DateOnly)
}

// FillDays returns the n days ending with today, oldest first, taking
// counts from got (keyed by day number) and zero elsewhere.
func FillDays(now time.Time, n int, got map[int64]Day) []Day {
	today := DayKey(now)
	out := make([]Day, 0, n)
	for d := today - int64(n) + 1; d <= today; d++ {
		day := got[d]
		day.Date = DayDate(d)
		out = append(out, day)
	}
	return out
}

// SortCounts orders a breakdown by servers, descending, then by value.
func SortCounts(c []Count) []Count {
	sort.Slice(c, func(i, j int) bool {
		if c[i].Servers != c[j].Servers {
			return c[i].Servers > c[j].Servers
		}
		return c[i].Value < c[j].Value
	})
	if c == nil {
		c = []Count{}
	}
	return c
}

// TopCounts sorts c and keeps the n largest values, summing the rest
// (and any existing Other) into a last Other entry.
func TopCounts(c []Count, n int) []Count {
	var other int64
	kept := []Count{}
	for _, x := range SortCounts(c) {
		if x.Value == Other || len(kept) >= n {
			other += x.Servers
			continue
		}
		kept = append(kept, x)
	}
	if other > 0 {
		kept = append(kept, Count{Value: Other, Servers: other})
	}
	return kept
}

// TopFeatures orders f by clusters, then servers, then value, and keeps
// the n largest, summing the rest into Other: its counts are then an
// upper bound (a cluster using two folded components counts twice).
func TopFeatures(f []Feature, n int) []Feature {
	sort.Slice(f, func(i, j int) bool {
		if f[i].Clusters != f[j].Clusters {
			return f[i].Clusters > f[j].Clusters
		}
		if f[i].Servers != f[j].Servers {
			return f[i].Servers > f[j].Servers
		}
		return f[i].Value < f[j].Value
	})
	kept := []Feature{}
	var other Feature
	for _, x := range f {
		if x.Value == Other || len(kept) >= n {
			other.Clusters += x.Clusters
			other.Servers += x.Servers
			continue
		}
		kept = append(kept, x)
	}
	if other.Clusters > 0 || other.Servers > 0 {
		other.Value = Other
		kept = append(kept, other)
	}
	return kept
}

// TopSizes is TopCounts for clusters (value -> clusters).
func TopSizes(m map[string]int64, n int) []Size {
	cs := make([]Count, 0, len(m))
	for v, c := range m {
		cs = append(cs, Count{Value: v, Servers: c})
	}
	out := []Size{}
	for _, c := range TopCounts(cs, n) {
		out = append(out, Size{Value: c.Value, Clusters: c.Servers})
	}
	return out
}
