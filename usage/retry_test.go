package usage_test

import (
	"bytes"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/krakend-usage/krakend-usage/usage"
	"github.com/krakend-usage/krakend-usage/usage/hashcash"
	"github.com/krakend-usage/krakend-usage/usage/usagetest"
)

// TestRetryResendsIdenticalReport: after a 5xx, a timeout or a 429 the
// collector gets the very same bytes again (stamp, data, token), so a
// report whose answer was lost is stored once; once the data would no
// longer be fresh, a new report.
func TestRetryResendsIdenticalReport(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := usagetest.NewUnstartedCollector(t, 8)
		c.HandleReport = func(n int, w http.ResponseWriter, rr *usage.ReportRequest) bool {
			switch {
			case n == 2: // the answer is lost: the request times out
				time.Sleep(time.Minute)
				return true
			case n == 3:
				w.Header().Set("Retry-After", "2")
				w.WriteHeader(http.StatusTooManyRequests)
				return true
			case n <= 7:
				http.Error(w, "overloaded", http.StatusServiceUnavailable)
				return true
			}
			return false
		}
		startFake(t, c, func(o *usage.Options) { o.ExtraPayload = []byte(`{"endpoints":3}`) })
		time.Sleep(3 * time.Minute)
		synctest.Wait()
		_, got := c.Sessions(), c.Reports()
		// 0s: 503; 1s: times out at 6s; 8s: 429 (Retry-After 2s); 10s, 18s,
		// 34s: 503, all the same request. The data of 0s would be stale
		// before a request at 66s ended (5s timeout), so 66s sends a fresh
		// report (503), and so does 130s, 64s later (accepted).
		wantAt := []time.Duration{0, 1, 8, 10, 18, 34, 66, 130}
		if len(got) != len(wantAt) {
			t.Fatalf("%d attempts, want %d", len(got), len(wantAt))
		}
		start := time.Unix(946684800, 0) // the bubble's epoch
		for i, a := range got {
			if d := a.Time.Sub(start); d != wantAt[i]*time.Second {
				t.Errorf("attempt %d at %s, want %s", i+1, d, wantAt[i]*time.Second)
			}
		}
		for i := 1; i < 6; i++ {
			if !bytes.Equal(got[i].Body, got[0].Body) {
				t.Errorf("attempt %d differs from attempt 1:\n%s\n%s", i+1, got[i].Body, got[0].Body)
			}
		}
		for i, at := range map[int]int64{6: 66, 7: 130} {
			if d := got[i].Data; d.Time != start.Unix()+at || d.Uptime != at || got[i].Token != got[0].Token {
				t.Errorf("attempt %d = %s, want a fresh report of %ds with the same token", i+1, got[i].Body, at)
			}
		}
		if !got[7].Accepted {
			t.Error("attempt 8 not accepted")
		}
		if string(got[7].Data.Extra) != `{"endpoints":3}` {
			t.Errorf("the extra payload was dropped on a retry: %q", got[7].Data.Extra)
		}
	})
}

// TestRetryAfterRefusalIsFresh: a final 4xx or a new session never re-sends
// the refused request.
func TestRetryAfterRefusalIsFresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := usagetest.NewUnstartedCollector(t, 8)
		c.HandleReport = func(n int, w http.ResponseWriter, rr *usage.ReportRequest) bool {
			switch n {
			case 1:
				http.Error(w, "token expired", http.StatusUnauthorized)
				return true
			case 2:
				http.Error(w, "bad stamp", http.StatusBadRequest)
				return true
			}
			return false
		}
		startFake(t, c, func(o *usage.Options) { o.ReportLapse = 10 * time.Second })
		time.Sleep(15 * time.Second)
		synctest.Wait()
		_, got := c.Sessions(), c.Reports()
		if len(got) != 3 {
			t.Fatalf("%d attempts, want 3", len(got))
		}
		if got[1].Token == got[0].Token || got[1].Pow == got[0].Pow {
			t.Errorf("after a 401 the report was not minted for the new session: %s", got[1].Body)
		}
		if got[2].Pow == got[1].Pow || !got[2].Accepted {
			t.Errorf("after a 400 the refused stamp was sent again: %s", got[2].Body)
		}
	})
}

func TestStillFresh(t *testing.T) {
	r := &usage.Reporter{Options: usage.Options{Timeout: 5 * time.Second}}
	now := time.Date(2026, 11, 28, 0, 0, 30, 0, time.UTC)
	stamp := func(d time.Time) string { return "1:8:" + d.Format(hashcash.DateFormat) + ":r::salt:0" }
	for _, tt := range []struct {
		name string
		time time.Time
		pow  string
		want bool
	}{
		{"just sent", now, stamp(now), true},
		{"55s old", now.Add(-55 * time.Second), stamp(now), true},
		{"56s old: stale before a 5s request ends", now.Add(-56 * time.Second), stamp(now), false},
		{"from the future", now.Add(time.Second), stamp(now), false},
		{"stamp of yesterday", now, stamp(now.Add(-24 * time.Hour)), true},
		{"stamp of two days ago", now, stamp(now.Add(-48 * time.Hour)), false},
		{"stamp of two days ahead", now, stamp(now.Add(48 * time.Hour)), false},
		{"not a stamp", now, "x", false},
	} {
		p := &usage.ReportRequest{Pow: tt.pow, Data: usage.UsageData{Time: tt.time.Unix()}}
		if got := r.StillFresh(p, now); got != tt.want {
			t.Errorf("%s: stillFresh = %v, want %v", tt.name, got, tt.want)
		}
	}
}
