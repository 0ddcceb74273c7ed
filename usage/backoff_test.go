package usage_test

import (
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/krakend-usage/krakend-usage/usage"
	"github.com/krakend-usage/krakend-usage/usage/usagetest"
)

// Backoff and Retry-After, in testing/synctest bubbles against the fake
// collector: time is fake, so every wait is exact and costs nothing.

// TestSessionRetriedWithBackoff: a failed session is retried after 1s, 2s,
// 4s (jitter pinned to its middle), and the report follows at once.
func TestSessionRetriedWithBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := usagetest.NewUnstartedCollector(t, 8)
		c.HandleSession = func(n int, w http.ResponseWriter) bool {
			if n <= 3 {
				http.Error(w, "down", http.StatusServiceUnavailable)
				return true
			}
			return false
		}
		startFake(t, c, nil)
		time.Sleep(time.Minute)
		synctest.Wait()
		sessions, got := c.Sessions(), c.Reports()
		checkOffsets(t, "sessions", sessionOffsets(sessions), secs(0, 1, 3, 7))
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
				c := usagetest.NewUnstartedCollector(t, 8)
				c.SetUnreachable(true)
				var times []time.Time
				c.OnRequest = func() { times = append(times, time.Now()) }
				startFake(t, c, func(o *usage.Options) { o.ReportLapse = tt.lapse })
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
		base := min(time.Second<<min(n, 10), usage.MaxRetry)
		lo := usage.Backoff(n, time.Hour, func() float64 { return 0 })
		mid := usage.Backoff(n, time.Hour, func() float64 { return 0.5 })
		hi := usage.Backoff(n, time.Hour, func() float64 { return 1 - 1e-12 })
		if lo != base*8/10 || mid != base || hi > base*12/10 || hi < base*12/10-time.Millisecond {
			t.Errorf("usage.Backoff(%d) spans [%s, %s] around %s, want [%s, %s] around %s", n, lo, hi, mid, base*8/10, base*12/10, base)
		}
	}
	for n := 0; n < 40; n++ {
		if d := usage.Backoff(n, 10*time.Second, func() float64 { return 1 - 1e-12 }); d > 10*time.Second {
			t.Errorf("usage.Backoff(%d) with a lapse of 10s = %s", n, d)
		}
	}
}

// TestReport5xxRetriedWithExtraUntilAck: a 5xx is retried with backoff,
// well before the lapse, and the extra payload rides along until acked.
func TestReport5xxRetriedWithExtraUntilAck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := usagetest.NewUnstartedCollector(t, 8)
		c.HandleReport = func(n int, w http.ResponseWriter, rr *usage.ReportRequest) bool {
			if n <= 2 {
				http.Error(w, "boom", http.StatusInternalServerError)
				return true
			}
			return false
		}
		startFake(t, c, func(o *usage.Options) {
			o.ExtraPayload = []byte(`{"endpoints":3}`)
			o.ReportLapse = 10 * time.Second
		})
		time.Sleep(15 * time.Second)
		synctest.Wait()
		_, got := c.Sessions(), c.Reports()
		checkOffsets(t, "reports", attemptOffsets(got), secs(0, 1, 3, 13))
		for i, want := range []bool{true, true, true, false} {
			if has := len(got[i].Data.Extra) > 0; has != want {
				t.Errorf("attempt %d carries extra = %v, want %v", i+1, has, want)
			}
		}
		if !got[2].Accepted || !got[3].Accepted {
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
				c := usagetest.NewUnstartedCollector(t, 8)
				c.HandleReport = func(n int, w http.ResponseWriter, rr *usage.ReportRequest) bool {
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
				_, got := c.Sessions(), c.Reports()
				checkOffsets(t, "reports", attemptOffsets(got), []time.Duration{0, tt.want})
			})
		})
	}
}
