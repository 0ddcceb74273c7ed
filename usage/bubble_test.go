package usage_test

import (
	"testing"
	"time"

	"github.com/krakend-usage/krakend-usage/usage"
	"github.com/krakend-usage/krakend-usage/usage/usagetest"
)

// Most reporter tests run in testing/synctest bubbles against an unstarted
// usagetest collector, served in-process through its Client: time is fake,
// so every wait is exact and costs nothing.

// startFake starts a reporter for the unstarted collector c the way
// usage.Report does, inside the caller's synctest bubble, with the jitter
// pinned to its middle so that every wait is exactly the documented base
// delay. It stops when the bubble's test ends.
func startFake(t *testing.T, c *usagetest.Collector, edit func(*usage.Options)) (*usage.Reporter, *logRecorder) {
	t.Helper()
	logs := newLogRecorder()
	opt := testOptions(usagetest.UnstartedURL)
	opt.Client = c.Client()
	opt.Logger = logs
	if edit != nil {
		edit(&opt)
	}
	r, err := usage.NewIdleReporter(opt, func() float64 { return 0.5 })
	if err != nil {
		t.Fatal(err)
	}
	go r.Run(t.Context())
	return r, logs
}

// epoch is where a bubble's clock starts.
var epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// offsets returns how long after the epoch each time is.
func offsets(ts []time.Time) []time.Duration {
	var out []time.Duration
	for _, t := range ts {
		out = append(out, t.Sub(epoch))
	}
	return out
}

func sessionOffsets(ss []usagetest.Session) []time.Duration {
	var ts []time.Time
	for _, s := range ss {
		ts = append(ts, s.Time)
	}
	return offsets(ts)
}

func attemptOffsets(rs []usagetest.Report) []time.Duration {
	var ts []time.Time
	for _, r := range rs {
		ts = append(ts, r.Time)
	}
	return offsets(ts)
}

func checkOffsets(t *testing.T, what string, got, want []time.Duration) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s at %v, want %v", what, got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("%s at %v, want %v", what, got, want)
		}
	}
}

func secs(s ...float64) []time.Duration {
	var out []time.Duration
	for _, v := range s {
		out = append(out, time.Duration(v*float64(time.Second)))
	}
	return out
}
