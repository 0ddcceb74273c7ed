package store

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"
)

// fakeStates is a Store that only lists cluster states.
type fakeStates struct {
	Store
	states []ClusterState
}

func (f fakeStates) ClusterStates(_ context.Context, since time.Time, fn func(ClusterState) error) error {
	for _, c := range f.states {
		if !c.Last.Before(since) {
			if err := fn(c); err != nil {
				return err
			}
		}
	}
	return nil
}

// dayAt is noon of day d.
func dayAt(d int64) time.Time { return time.Unix(d*86400+12*3600, 0).UTC() }

// TestPublicFigures: only established clusters count, every count is
// rounded down to a multiple of k, values of fewer than k clusters are
// "other", and a breakdown of one value per cluster adds up to the total.
func TestPublicFigures(t *testing.T) {
	const day = 20400 // a Wednesday
	var states []ClusterState
	add := func(n int, first, last int64, version string, p *Payload) {
		for range n {
			states = append(states, ClusterState{First: dayAt(first), Last: dayAt(last), Version: version, Payload: p, Servers: 2})
		}
	}
	router := &Payload{Present: true, Features: []string{"router"}, Methods: []string{"GET"}, Mode: "plugin", Libc: "musl"}
	rare := &Payload{Present: true, Features: []string{"router", "rare"}, Methods: []string{"GET"}, Mode: "decorator", Libc: "glibc"}
	add(12, day-40, day, "2.13.2", router)
	add(7, day-10, day-1, "2.13.1", router)
	add(2, day-10, day-2, "2.12.0", rare)
	add(1, day-10, day, "2.11.0", rare)
	// Not established: first seen too late, or reports spanning too few
	// days; and one silent since before the range.
	add(4, day-1, day, "2.11.0", rare)
	add(4, day-9, day-8, "2.11.0", rare)
	add(1, day-60, day-PublicDays, "2.10.0", rare)
	p, err := PublicFigures(context.Background(), fakeStates{states: states}, day, PublicOptions{})
	if err != nil {
		t.Fatal(err)
	}
	servers := int64(40)
	want := &Public{Day: DayDate(day), Generated: time.Unix((day+1)*86400, 0).UTC(), RangeDays: PublicDays,
		MinClusters: 5, Rounding: 5, EstablishedDays: 3, ActiveClusters: 20, ActiveServers: &servers,
		Versions: []PublicEntry{{"2.13.2", 10}, {"2.13.1", 5}, {Other, 5}},
		Features: []PublicEntry{{"router", 20}},
		Methods:  []PublicEntry{{"GET", 20}},
		Mode:     []PublicEntry{{"plugin", 15}, {Other, 5}},
		Libc:     []PublicEntry{{"musl", 15}, {Other, 5}},
	}
	p.Weeks = nil
	if !reflect.DeepEqual(p, want) {
		t.Errorf("got  %+v\nwant %+v", p, want)
	}
}

// TestPublicFiguresFew: with fewer than k established clusters nothing
// is named and the servers are not shown.
func TestPublicFiguresFew(t *testing.T) {
	const day = 20400
	states := []ClusterState{{First: dayAt(day - 5), Last: dayAt(day), Version: "2.13.2", Servers: 7}}
	p, err := PublicFigures(context.Background(), fakeStates{states: states}, day, PublicOptions{MinClusters: 3, EstablishedDays: 1})
	if err != nil {
		t.Fatal(err)
	}
	if p.ActiveClusters != 0 || p.ActiveServers != nil || len(p.Versions) != 0 {
		t.Errorf("one cluster: got %d clusters, servers %v, versions %v; want 0, nil, none", p.ActiveClusters, p.ActiveServers, p.Versions)
	}
}

// TestPublicNoExactSmallCount: for every fleet of three versions of up
// to 14 clusters each, beside any number of other versions of fewer than
// k clusters each (up to 14 clusters in all: the reader does not know how
// many values a breakdown can take), no count in 1..k-1 of one of the
// three, of any set of them, or of the clusters of the values not named,
// is the same in every fleet showing the same figures: no sum or
// difference of public numbers gives it away.
func TestPublicNoExactSmallCount(t *testing.T) {
	for _, k := range []int64{2, 3, 5} {
		t.Run(fmt.Sprint("k=", k), func(t *testing.T) {
			// figures -> for each set of the three versions, the counts seen
			seen := map[string]*[9]map[int64]bool{}
			for a := range int64(15) {
				for b := range int64(15) {
					for c := range int64(15) {
						for tail := range int64(15) {
							counts := [3]int64{a, b, c}
							tl := &tally{k: k}
							m := map[string]int64{}
							for i, n := range counts {
								if n > 0 {
									m[fmt.Sprint("v", i)] = n
								}
							}
							// The tail: values of one cluster each.
							for i := range tail {
								m[fmt.Sprint("t", i)] = 1
							}
							total := tl.round(a + b + c + tail)
							if total+k-1 > 14 {
								// Some fleets of these figures have a count
								// past 14: not all of them are enumerated.
								continue
							}
							key := fmt.Sprint(total, tl.breakdown(m, TopValues, true))
							if seen[key] == nil {
								seen[key] = &[9]map[int64]bool{}
							}
							// Set 8: the clusters of the values not named.
							for set := 1; set < 9; set++ {
								var sum int64
								for i := range 3 {
									named := counts[i] >= k
									if set&(1<<i) != 0 || (set == 8 && !named) {
										sum += counts[i]
									}
								}
								if set == 8 {
									sum += tail
								}
								if seen[key][set] == nil {
									seen[key][set] = map[int64]bool{}
								}
								seen[key][set][sum] = true
							}
						}
					}
				}
			}
			for key, sets := range seen {
				for set := 1; set < 9; set++ {
					if len(sets[set]) == 1 {
						for n := range sets[set] {
							if n > 0 && n < k {
								t.Errorf("figures %s give away that versions %04b have exactly %d clusters (1000: those not named)", key, set, n)
							}
						}
					}
				}
			}
		})
	}
}
