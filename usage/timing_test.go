package usage_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/krakend-usage/krakend-usage/usage"
	"github.com/krakend-usage/krakend-usage/usage/hashcash"
	"github.com/krakend-usage/krakend-usage/usage/usagetest"
)

// Lapse, timeouts and cancellation, in testing/synctest bubbles against
// the fake collector.

// TestReportEveryLapse: a report at once, then one every lapse, on one
// session; the extra payload only until it is acknowledged.
func TestReportEveryLapse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := usagetest.NewUnstartedCollector(t, 8)
		startFake(t, c, func(o *usage.Options) { o.ExtraPayload = []byte(`{"endpoints":3}`) })
		time.Sleep(3*time.Hour + time.Minute)
		synctest.Wait()
		sessions, got := c.Sessions(), c.Reports()
		checkOffsets(t, "reports", attemptOffsets(got), secs(0, 3600, 7200, 10800))
		for i, a := range got {
			if !a.Accepted || a.Data.Uptime != int64(i)*3600 {
				t.Errorf("report %d: accepted %v uptime %d", i+1, a.Accepted, a.Data.Uptime)
			}
			if has := len(a.Data.Extra) > 0; has != (i == 0) {
				t.Errorf("report %d carries the extra payload: %v", i+1, has)
			}
		}
		if len(sessions) != 1 {
			t.Errorf("%d sessions, want 1", len(sessions))
		}
	})
}

// TestReportRefusedAuthOpensNewSession: a 401 or 403 opens a new session at
// once and reports again with its token.
func TestReportRefusedAuthOpensNewSession(t *testing.T) {
	for _, code := range []int{http.StatusUnauthorized, http.StatusForbidden} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := usagetest.NewUnstartedCollector(t, 8)
				c.HandleReport = func(n int, w http.ResponseWriter, rr *usage.ReportRequest) bool {
					if rr.Token == "token1" {
						w.WriteHeader(code)
						return true
					}
					return false
				}
				startFake(t, c, nil)
				synctest.Wait()
				_, got := c.Sessions(), c.Reports()
				checkOffsets(t, "reports", attemptOffsets(got), secs(0, 0))
				if got[1].Token != "token2" || !got[1].Accepted {
					t.Fatalf("report after %d: token %q accepted %v, want token2 accepted", code, got[1].Token, got[1].Accepted)
				}
			})
		})
	}
}

// TestReport4xxIsFinal: another 4xx is final for that report: nothing is
// sent until the next lapse.
func TestReport4xxIsFinal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := usagetest.NewUnstartedCollector(t, 8)
		c.HandleReport = func(n int, w http.ResponseWriter, rr *usage.ReportRequest) bool {
			if n == 1 {
				http.Error(w, `{"status":400,"message":"bad stamp"}`, http.StatusBadRequest)
				return true
			}
			return false
		}
		_, logs := startFake(t, c, nil)
		time.Sleep(time.Hour + time.Minute)
		synctest.Wait()
		_, got := c.Sessions(), c.Reports()
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
		c := usagetest.NewUnstartedCollector(t, 8)
		c.HandleSession = func(n int, w http.ResponseWriter) bool {
			time.Sleep(time.Minute) // an answer nobody waits for
			return true
		}
		opt := testOptions(usagetest.UnstartedURL)
		opt.Client = c.Client()
		opt.Timeout = 300 * time.Millisecond
		start := time.Now()
		_, err := usage.New(opt, nil)
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
			c := usagetest.NewUnstartedCollector(t, 8)
			r, _ := usage.New(func() usage.Options { o := testOptions(usagetest.UnstartedURL); o.Client = c.Client(); return o }(), nil)
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
			c := usagetest.NewUnstartedCollector(t, 8)
			opt := testOptions(usagetest.UnstartedURL)
			opt.Client = c.Client()
			m := &signalMinter{started: make(chan struct{})}
			opt.Minter = m
			r, err := usage.New(opt, nil)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan struct{})
			go func() { r.Report(ctx); close(done) }()
			<-m.started
			cancel()
			<-done
			if got := c.Reports(); len(got) != 0 {
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
				r, err := usage.New(testOptions(""), fc)
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
	r, _ := usage.New(testOptions(""), &faultyClient{mode: "nil-error"})
	r.Client = &faultyClient{mode: "panic"}
	if err := r.SingleReport(context.Background()); err == nil || !strings.Contains(err.Error(), "panic") {
		t.Errorf("SingleReport with a panicking client = %v, want the panic as an error", err)
	}
	var zero usage.Reporter
	zero.Client = &faultyClient{}
	if err := zero.SingleReport(context.Background()); err == nil {
		t.Error("SingleReport on a zero Reporter succeeded")
	}
}
