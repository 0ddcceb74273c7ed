package usage

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/krakend-usage/krakend-usage/usage/hashcash"
)

// The tests here run in a testing/synctest bubble against the fake
// collector: time is fake, so every wait is exact and costs nothing.

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

// TestReportEveryLapse: a report at once, then one every lapse, on one
// session; the extra payload only until it is acknowledged.
func TestReportEveryLapse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newFakeCollector(t, 8)
		startFake(t, c, func(o *Options) { o.ExtraPayload = []byte(`{"endpoints":3}`) })
		time.Sleep(3*time.Hour + time.Minute)
		synctest.Wait()
		sessions, got := c.snapshot()
		checkOffsets(t, "reports", attemptOffsets(got), secs(0, 3600, 7200, 10800))
		for i, a := range got {
			if !a.accepted || a.req.Data.Uptime != int64(i)*3600 {
				t.Errorf("report %d: accepted %v uptime %d", i+1, a.accepted, a.req.Data.Uptime)
			}
			if has := len(a.req.Data.Extra) > 0; has != (i == 0) {
				t.Errorf("report %d carries the extra payload: %v", i+1, has)
			}
		}
		if len(sessions) != 1 {
			t.Errorf("%d sessions, want 1", len(sessions))
		}
	})
}

// TestSessionRetriedWithBackoff: a failed session is retried after 1s, 2s,
// 4s (jitter pinned to its middle), and the report follows at once.
func TestSessionRetriedWithBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newFakeCollector(t, 8)
		c.session = func(n int, w http.ResponseWriter) bool {
			if n <= 3 {
				http.Error(w, "down", http.StatusServiceUnavailable)
				return true
			}
			return false
		}
		startFake(t, c, nil)
		time.Sleep(time.Minute)
		synctest.Wait()
		sessions, got := c.snapshot()
		checkOffsets(t, "sessions", offsets(sessions), secs(0, 1, 3, 7))
		checkOffsets(t, "reports", attemptOffsets(got), secs(7))
	})
}

// TestBackoffGrowsToItsCap: while the collector is unreachable, retries
// double from 1s up to 5 minutes, or up to the lapse when shorter.
func TestBackoffGrowsToItsCap(t *testing.T) {
	for _, tt := range []struct {
		lapse time.Duration
		want  []time.Duration
	}{
		{12 * time.Hour, secs(0, 1, 3, 7, 15, 31, 63, 127, 255, 511, 811, 1111)},
		{100 * time.Second, secs(0, 1, 3, 7, 15, 31, 63, 127, 227, 327, 427, 527)},
	} {
		t.Run(tt.lapse.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newFakeCollector(t, 8)
				c.setDown(true)
				var times []time.Time
				c.onRequest = func() { times = append(times, time.Now()) }
				startFake(t, c, func(o *Options) { o.ReportLapse = tt.lapse })
				time.Sleep(tt.want[len(tt.want)-1] + time.Second)
				synctest.Wait()
				checkOffsets(t, "attempts", offsets(times), tt.want)
			})
		})
	}
}

// TestBackoffJitterBounds: the jitter spreads each delay over exactly ±20%,
// at the 5-minute cap too; nothing waits longer than a lapse.
func TestBackoffJitterBounds(t *testing.T) {
	for n := 0; n < 20; n++ {
		base := min(time.Second<<min(n, 10), maxRetry)
		lo := backoff(n, time.Hour, func() float64 { return 0 })
		mid := backoff(n, time.Hour, func() float64 { return 0.5 })
		hi := backoff(n, time.Hour, func() float64 { return 1 - 1e-12 })
		if lo != base*8/10 || mid != base || hi > base*12/10 || hi < base*12/10-time.Millisecond {
			t.Errorf("backoff(%d) spans [%s, %s] around %s, want [%s, %s] around %s", n, lo, hi, mid, base*8/10, base*12/10, base)
		}
	}
	for n := 0; n < 40; n++ {
		if d := backoff(n, 10*time.Second, func() float64 { return 1 - 1e-12 }); d > 10*time.Second {
			t.Errorf("backoff(%d) with a lapse of 10s = %s", n, d)
		}
	}
}

// TestReportRefusedAuthOpensNewSession: a 401 or 403 opens a new session at
// once and reports again with its token.
func TestReportRefusedAuthOpensNewSession(t *testing.T) {
	for _, code := range []int{http.StatusUnauthorized, http.StatusForbidden} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newFakeCollector(t, 8)
				c.report = func(n int, w http.ResponseWriter, rr *ReportRequest) bool {
					if rr.Token == "token1" {
						w.WriteHeader(code)
						return true
					}
					return false
				}
				startFake(t, c, nil)
				synctest.Wait()
				_, got := c.snapshot()
				checkOffsets(t, "reports", attemptOffsets(got), secs(0, 0))
				if got[1].req.Token != "token2" || !got[1].accepted {
					t.Fatalf("report after %d: token %q accepted %v, want token2 accepted", code, got[1].req.Token, got[1].accepted)
				}
			})
		})
	}
}

// TestReport5xxRetriedWithExtraUntilAck: a 5xx is retried with backoff,
// well before the lapse, and the extra payload rides along until acked.
func TestReport5xxRetriedWithExtraUntilAck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newFakeCollector(t, 8)
		c.report = func(n int, w http.ResponseWriter, rr *ReportRequest) bool {
			if n <= 2 {
				http.Error(w, "boom", http.StatusInternalServerError)
				return true
			}
			return false
		}
		startFake(t, c, func(o *Options) {
			o.ExtraPayload = []byte(`{"endpoints":3}`)
			o.ReportLapse = 10 * time.Second
		})
		time.Sleep(15 * time.Second)
		synctest.Wait()
		_, got := c.snapshot()
		checkOffsets(t, "reports", attemptOffsets(got), secs(0, 1, 3, 13))
		for i, want := range []bool{true, true, true, false} {
			if has := len(got[i].req.Data.Extra) > 0; has != want {
				t.Errorf("attempt %d carries extra = %v, want %v", i+1, has, want)
			}
		}
		if !got[2].accepted || !got[3].accepted {
			t.Errorf("attempts 3 and 4 not accepted")
		}
	})
}

// TestReport429RetryAfter: a 429 waits its Retry-After (seconds or a date),
// but never longer than one lapse.
func TestReport429RetryAfter(t *testing.T) {
	for _, tt := range []struct {
		name, header string
		want         time.Duration
	}{
		{"seconds", "3", 3 * time.Second},
		{"date", epoch.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{"a day, capped at the lapse", "86400", time.Hour},
		{"absent: backoff", "", time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newFakeCollector(t, 8)
				c.report = func(n int, w http.ResponseWriter, rr *ReportRequest) bool {
					if n == 1 {
						if tt.header != "" {
							w.Header().Set("Retry-After", tt.header)
						}
						w.WriteHeader(http.StatusTooManyRequests)
						return true
					}
					return false
				}
				startFake(t, c, nil) // a lapse of one hour
				time.Sleep(tt.want + time.Second)
				synctest.Wait()
				_, got := c.snapshot()
				checkOffsets(t, "reports", attemptOffsets(got), []time.Duration{0, tt.want})
			})
		})
	}
}

// TestReport4xxIsFinal: another 4xx is final for that report: nothing is
// sent until the next lapse.
func TestReport4xxIsFinal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newFakeCollector(t, 8)
		c.report = func(n int, w http.ResponseWriter, rr *ReportRequest) bool {
			if n == 1 {
				http.Error(w, `{"status":400,"message":"bad stamp"}`, http.StatusBadRequest)
				return true
			}
			return false
		}
		_, logs := startFake(t, c, nil)
		time.Sleep(time.Hour + time.Minute)
		synctest.Wait()
		_, got := c.snapshot()
		checkOffsets(t, "reports", attemptOffsets(got), secs(0, 3600))
		if !logs.find("WARNING", "Report refused (400): bad stamp; next report at 2000-01-01T01:00:00Z") {
			t.Errorf("refusal not logged with the next report time:\n%s", logs)
		}
	})
}

// TestTimeoutBoundsRequests: a collector that never answers costs exactly
// Options.Timeout per request.
func TestTimeoutBoundsRequests(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newFakeCollector(t, 8)
		c.session = func(n int, w http.ResponseWriter) bool {
			time.Sleep(time.Minute) // an answer nobody waits for
			return true
		}
		opt := testOptions(fakeURL)
		opt.Client = c.httpClient()
		opt.Timeout = 300 * time.Millisecond
		start := time.Now()
		_, err := New(opt, nil)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("New against a hanging collector: %v, want a deadline error", err)
		}
		if d := time.Since(start); d != opt.Timeout {
			t.Errorf("New returned after %s, want the %s timeout", d, opt.Timeout)
		}
		time.Sleep(time.Minute) // let the handler end inside the bubble
	})
}

// signalMinter tells when minting starts, then mints at 28 bits: seconds
// of CPU, to be interrupted.
type signalMinter struct{ started chan struct{} }

func (m *signalMinter) Mint(res string) (string, error) {
	return m.MintContext(context.Background(), res)
}

func (m *signalMinter) MintContext(ctx context.Context, res string) (string, error) {
	close(m.started)
	return (&hashcash.Minter{Bits: hashcash.MaxBits}).MintContext(ctx, res)
}

// TestCancelStopsLoopAndMinting: cancelling the context stops the loop,
// while it waits and while it mints, and leaves no goroutine behind (the
// bubble fails the test if one is left).
func TestCancelStopsLoopAndMinting(t *testing.T) {
	t.Run("waiting", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c := newFakeCollector(t, 8)
			r, _ := New(func() Options { o := testOptions(fakeURL); o.Client = c.httpClient(); return o }(), nil)
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan struct{})
			go func() { r.Report(ctx); close(done) }()
			time.Sleep(30 * time.Minute) // half a lapse
			cancel()
			<-done
			if d := time.Since(epoch); d != 30*time.Minute {
				t.Errorf("Report returned at %s, want at the cancel, 30m", d)
			}
		})
	})
	t.Run("minting", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c := newFakeCollector(t, 8)
			opt := testOptions(fakeURL)
			opt.Client = c.httpClient()
			m := &signalMinter{started: make(chan struct{})}
			opt.Minter = m
			r, err := New(opt, nil)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan struct{})
			go func() { r.Report(ctx); close(done) }()
			<-m.started
			cancel()
			<-done
			if _, got := c.snapshot(); len(got) != 0 {
				t.Errorf("%d reports sent after cancel", len(got))
			}
		})
	})
}

// TestNilRepliesNeverPanic: a UsageClient answering nil, nil, or failing
// every call, is retried with backoff, never panics.
func TestNilRepliesNeverPanic(t *testing.T) {
	for _, mode := range []string{"nil-error", "nil-reply"} {
		t.Run(mode, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fc := &faultyClient{mode: mode}
				r, err := New(testOptions(""), fc)
				if err == nil || r == nil {
					t.Fatalf("New = %v, %v; want the reporter and the session error", r, err)
				}
				go r.Report(t.Context())
				time.Sleep(4 * time.Second)
				synctest.Wait()
				if n := fc.calls.Load(); n != 3 { // New, then 1s and 3s later (±20%)
					t.Errorf("%d session attempts in 4s, want 3", n)
				}
			})
		})
	}
	r, _ := New(testOptions(""), &faultyClient{mode: "nil-error"})
	r.Client = &faultyClient{mode: "panic"}
	if err := r.SingleReport(context.Background()); err == nil || !strings.Contains(err.Error(), "panic") {
		t.Errorf("SingleReport with a panicking client = %v, want the panic as an error", err)
	}
	var zero Reporter
	zero.Client = &faultyClient{}
	if err := zero.SingleReport(context.Background()); err == nil {
		t.Error("SingleReport on a zero Reporter succeeded")
	}
}
