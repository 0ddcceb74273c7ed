package store

import (
	"encoding/json"
	"sort"
	"strconv"
	"time"
)

// StatsDays is how many days of history Stats returns in Days.
const StatsDays = 30

// Stats is the summary served by GET /api/stats. Breakdowns count servers
// by the latest value each server reported.
type Stats struct {
	Generated      time.Time `json:"generated"`
	Reports        int64     `json:"reports"`
	Clusters       int64     `json:"clusters"`
	Servers        int64     `json:"servers"`
	ActiveClusters Active    `json:"active_clusters"`
	ActiveServers  Active    `json:"active_servers"`
	Versions       []Count   `json:"versions"`
	OS             []Count   `json:"os"`
	Arch           []Count   `json:"arch"`
	OSArch         []Count   `json:"os_arch"`
	// Days is one entry per UTC day, oldest first, the last StatsDays days
	// up to and including today, zero-filled.
	Days []Day `json:"days"`
	// Endpoints is the distribution of endpoint counts among servers whose
	// extra payload was a gateway JSON object with an "endpoints" number.
	Endpoints []Bucket `json:"endpoints"`
}

// Active counts distinct IDs seen in the last 24 hours, 7 and 30 days.
type Active struct {
	Day   int64 `json:"24h"`
	Week  int64 `json:"7d"`
	Month int64 `json:"30d"`
}

// Count is one value of a breakdown and the number of servers reporting it.
type Count struct {
	Value   string `json:"value"`
	Servers int64  `json:"servers"`
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

// Buckets folds exact endpoint counts (endpoints → servers) into the
// fixed buckets, every bucket present.
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
		if i < 0 {
			i = 0
		}
		out[i].Servers += c
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

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// Endpoints extracts the endpoint count from an extra payload written by
// the krakend-usage gateway extension: a JSON object with a numeric
// "endpoints" field. Anything else (not JSON, not an object, no such field,
// a negative or non-integer number) yields ok false.
func Endpoints(extra []byte) (n int64, ok bool) {
	if len(extra) == 0 || len(extra) > 1<<20 {
		return 0, false
	}
	var v struct {
		Endpoints json.Number `json:"endpoints"`
	}
	// A payload that is not an object fails here, and so does one whose
	// "endpoints" is not a number.
	if json.Unmarshal(extra, &v) != nil || v.Endpoints == "" {
		return 0, false
	}
	if i, err := v.Endpoints.Int64(); err == nil && i >= 0 {
		return i, true
	}
	if f, err := v.Endpoints.Float64(); err == nil && f >= 0 && f < 1e12 && f == float64(int64(f)) {
		return int64(f), true
	}
	return 0, false
}

// DayKey is the UTC day number of t (days since the Unix epoch), the key
// of the per-day rollups.
func DayKey(t time.Time) int64 {
	return t.Unix() / 86400
}

// DayDate formats a day number as YYYY-MM-DD.
func DayDate(day int64) string {
	return time.Unix(day*86400, 0).UTC().Format(time.DateOnly)
}

// FillDays returns the StatsDays days ending with today, oldest first,
// taking counts from got (keyed by day number) and zero elsewhere.
func FillDays(now time.Time, got map[int64]Day) []Day {
	today := DayKey(now)
	out := make([]Day, 0, StatsDays)
	for d := today - StatsDays + 1; d <= today; d++ {
		day := got[d]
		day.Date = DayDate(d)
		out = append(out, day)
	}
	return out
}

// Windows returns the lower bounds of the 24h, 7d and 30d activity windows.
func Windows(now time.Time) (day, week, month time.Time) {
	return now.Add(-24 * time.Hour), now.Add(-7 * 24 * time.Hour), now.Add(-30 * 24 * time.Hour)
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
