package usage

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// The fake collector: the one testCollector, served through an
// http.RoundTripper instead of a socket, for tests in testing/synctest
// bubbles, where time is fake, so every wait is exact and costs nothing.

// fakeURL is the fake collector's URL: no such host exists, its requests
// go through the collector's RoundTripper.
const fakeURL = "http://collector.test"

// newFakeCollector is a testCollector without a network: the client of
// c.httpClient calls its handler in-process. Unlike loopback, it works
// inside a testing/synctest bubble, where time is fake and exact.
func newFakeCollector(t *testing.T, bits uint) *testCollector {
	return &testCollector{t: t, bits: bits, issued: map[string]bool{}}
}

// roundTripFunc is an http.RoundTripper in one function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// httpClient is an http.Client whose requests c serves in-process. While c
// is down, every request fails as a refused connection would.
func (c *testCollector) httpClient() *http.Client {
	return &http.Client{Transport: roundTripFunc(func(req *http.Request) (*http.Response, error) {
		defer req.Body.Close()
		c.mu.Lock()
		down := c.down
		if c.onRequest != nil {
			c.onRequest()
		}
		c.mu.Unlock()
		if down {
			return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
		}
		rec := httptest.NewRecorder()
		done := make(chan struct{})
		go func() {
			defer close(done)
			c.serve(rec, req)
		}()
		select {
		case <-done:
			return rec.Result(), nil
		case <-req.Context().Done():
			return nil, req.Context().Err()
		}
	})}
}

// setDown makes the fake collector unreachable, or reachable again.
func (c *testCollector) setDown(down bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.down = down
}

// startFake starts a reporter for the fake collector c the way [Report]
// does, inside the caller's synctest bubble, with the jitter pinned to its
// middle so that every wait is exactly the documented base delay. It stops
// when the bubble's test ends.
func startFake(t *testing.T, c *testCollector, edit func(*Options)) (*Reporter, *logRecorder) {
	t.Helper()
	logs := newLogRecorder()
	opt := testOptions(fakeURL)
	opt.Client = c.httpClient()
	opt.Logger = logs
	if edit != nil {
		edit(&opt)
	}
	r, err := newReporter(opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.rand = func() float64 { return 0.5 }
	go r.run(t.Context())
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

func attemptOffsets(as []reportAttempt) []time.Duration {
	var ts []time.Time
	for _, a := range as {
		ts = append(ts, a.at)
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
