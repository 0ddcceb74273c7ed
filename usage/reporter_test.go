package usage

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func testOptions(url string) Options {
	return Options{
		ClusterID:   "cluster-1",
		ServerID:    "server-1",
		URL:         url,
		Version:     "v9.9.9",
		HashBits:    8,
		ReportLapse: time.Hour,
		Timeout:     5 * time.Second,
	}
}

func startReport(t *testing.T, opt Options) context.CancelFunc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := Report(ctx, opt, nil); err != nil {
		t.Fatalf("Report: %v", err)
	}
	return cancel
}

func TestReportSendsVerifiableReports(t *testing.T) {
	t.Parallel()
	c := newTestCollector(t, hashBits)
	extra := make([]byte, 1<<20)
	rand.Read(extra)
	opt := testOptions(c.URL())
	opt.HashBits = 0 // the default, 20 bits
	opt.ExtraPayload = extra
	opt.ReportLapse = 200 * time.Millisecond
	opt.UserAgent = "usage-test/1"
	startReport(t, opt)

	got := c.waitReports(t, 5, 20*time.Second)
	for i, a := range got[:5] {
		if !a.accepted {
			t.Fatalf("report %d not accepted", i+1)
		}
		d := a.req.Data
		if d.ClusterID != "cluster-1" || d.ServerID != "server-1" || d.Version != "v9.9.9" ||
			d.OS != runtime.GOOS || d.Arch != runtime.GOARCH {
			t.Errorf("report %d data = %+v", i+1, d)
		}
		if i == 0 && !bytes.Equal(d.Extra, extra) {
			t.Errorf("first report extra: %d bytes, want the 1 MiB payload", len(d.Extra))
		}
		if i > 0 && len(d.Extra) != 0 {
			t.Errorf("report %d carries extra payload again (%d bytes)", i+1, len(d.Extra))
		}
		if !strings.HasPrefix(a.req.Pow, "1:20:") {
			t.Errorf("report %d stamp %q, want 20 bits", i+1, a.req.Pow)
		}
	}
	if sessions, _ := c.snapshot(); len(sessions) != 1 {
		t.Errorf("%d sessions, want 1", len(sessions))
	}
}

func TestReportInvalidOptions(t *testing.T) {
	t.Parallel()
	base := testOptions("http://127.0.0.1:1")
	tests := []struct {
		field string
		edit  func(*Options)
	}{
		{"ClusterID", func(o *Options) { o.ClusterID = "" }},
		{"ServerID", func(o *Options) { o.ServerID = "" }},
		{"URL", func(o *Options) { o.URL = "" }},
		{"URL", func(o *Options) { o.URL = "ftp://example.com" }},
		{"URL", func(o *Options) { o.URL = "localhost:8090" }},
		{"URL", func(o *Options) { o.URL = "http://" }},
		{"HashBits", func(o *Options) { o.HashBits = 64 }},
		{"Timeout", func(o *Options) { o.Timeout = -time.Second }},
	}
	for _, tt := range tests {
		opt := base
		tt.edit(&opt)
		err := Report(context.Background(), opt, nil)
		var oe *OptionError
		if !errors.As(err, &oe) || oe.Field != tt.field || !errors.Is(err, ErrInvalidOption) {
			t.Errorf("Report(%s invalid) = %v, want an OptionError for %s", tt.field, err, tt.field)
			continue
		}
		if !strings.Contains(err.Error(), tt.field) {
			t.Errorf("error %q does not name %s", err, tt.field)
		}
		if r, err := New(opt, nil); r != nil || err == nil {
			t.Errorf("New(%s invalid) = %v, %v; want nil and an error", tt.field, r, err)
		}
	}
}

// TestReportCollectorDownThenUp: Report succeeds with nothing listening and
// reports as soon as the collector comes up.
func TestReportCollectorDownThenUp(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	logs := newLogRecorder()
	opt := testOptions("http://" + addr)
	opt.Logger = logs
	startReport(t, opt)
	waitFor(t, 5*time.Second, "a logged session failure", func() bool { return logs.find("WARNING", "Collector unreachable") })

	l, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port %s taken meanwhile: %v", addr, err)
	}
	c := newTestCollectorOn(t, 8, l)
	// The collector records a report before answering it; the reporter logs
	// it once the answer is in.
	waitFor(t, 15*time.Second, "an accepted report in the log", func() bool { return logs.find("INFO", "Report accepted") })
	if _, got := c.snapshot(); len(got) == 0 || !got[0].accepted {
		t.Fatal("report after recovery not accepted")
	}
	if !logs.find("INFO", "Session opened") {
		t.Errorf("logs lack the session line:\n%s", logs)
	}
}

func TestSessionRetriedWithBackoff(t *testing.T) {
	t.Parallel()
	c := newTestCollector(t, 8)
	c.session = func(n int, w http.ResponseWriter) bool {
		if n <= 3 {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return true
		}
		return false
	}
	startReport(t, testOptions(c.URL()))
	c.waitReports(t, 1, 20*time.Second)
	s, _ := c.snapshot()
	if len(s) != 4 {
		t.Fatalf("%d session attempts, want 4", len(s))
	}
	g1, g2, g3 := s[1].Sub(s[0]), s[2].Sub(s[1]), s[3].Sub(s[2])
	if g1 > 2*time.Second {
		t.Errorf("first retry after %s, want within 2s", g1)
	}
	// Lower bounds of 1s, 2s, 4s minus the 20% jitter: latency can only
	// lengthen a gap, so these hold however loaded the machine is.
	for i, g := range []time.Duration{g1, g2, g3} {
		if lo := time.Second << i * 8 / 10; g < lo {
			t.Errorf("retry %d after %s, want at least %s (doubling backoff)", i+1, g, lo)
		}
	}
}

func TestBackoffBounds(t *testing.T) {
	t.Parallel()
	for n := 0; n < 20; n++ {
		for i := 0; i < 100; i++ {
			want := time.Second << min(n, 10)
			d := backoff(n, time.Hour, nil)
			lo, hi := want*8/10, min(want*12/10, maxRetry)
			if d < lo && d < maxRetry*8/10 || d > hi {
				t.Fatalf("backoff(%d) = %s, want in [%s, %s]", n, d, lo, hi)
			}
		}
	}
	if d := backoff(30, 10*time.Second, nil); d > 10*time.Second {
		t.Errorf("backoff capped by lapse 10s = %s", d)
	}
}

func TestReport401OpensNewSession(t *testing.T) {
	t.Parallel()
	c := newTestCollector(t, 8)
	c.report = func(n int, w http.ResponseWriter, rr *ReportRequest) bool {
		if rr.Token == "token1" {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"status":401,"message":"token expired"}`)
			return true
		}
		return false
	}
	startReport(t, testOptions(c.URL())) // one-hour lapse: only a re-session explains a second report
	got := c.waitReports(t, 2, 5*time.Second)
	if got[1].req.Token != "token2" || !got[1].accepted {
		t.Fatalf("second report token %q accepted %v, want token2 accepted", got[1].req.Token, got[1].accepted)
	}
}

func TestReport403OpensNewSession(t *testing.T) {
	t.Parallel()
	c := newTestCollector(t, 8)
	c.report = func(n int, w http.ResponseWriter, rr *ReportRequest) bool {
		if n == 1 {
			http.Error(w, "forbidden", http.StatusForbidden)
			return true
		}
		return false
	}
	startReport(t, testOptions(c.URL()))
	got := c.waitReports(t, 2, 5*time.Second)
	if got[1].req.Token != "token2" {
		t.Fatalf("report after 403 used token %q, want a new session", got[1].req.Token)
	}
}

func TestReport5xxRetriedWithExtraUntilAck(t *testing.T) {
	t.Parallel()
	c := newTestCollector(t, 8)
	c.report = func(n int, w http.ResponseWriter, rr *ReportRequest) bool {
		if n <= 2 {
			http.Error(w, "boom", http.StatusInternalServerError)
			return true
		}
		return false
	}
	opt := testOptions(c.URL())
	opt.ExtraPayload = []byte(`{"endpoints":3}`)
	opt.ReportLapse = 5 * time.Second
	start := time.Now()
	startReport(t, opt)
	got := c.waitReports(t, 4, 20*time.Second)
	if d := got[2].at.Sub(start); d > 4*time.Second {
		t.Errorf("third attempt %s after start, want retries well before the 5s lapse", d)
	}
	for i, want := range []bool{true, true, true, false} {
		if has := len(got[i].req.Data.Extra) > 0; has != want {
			t.Errorf("attempt %d carries extra = %v, want %v", i+1, has, want)
		}
	}
	if !got[2].accepted || !got[3].accepted {
		t.Errorf("attempts 3 and 4 not accepted")
	}
}

func TestReport429HonoursRetryAfter(t *testing.T) {
	t.Parallel()
	c := newTestCollector(t, 8)
	c.report = func(n int, w http.ResponseWriter, rr *ReportRequest) bool {
		if n == 1 {
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(http.StatusTooManyRequests)
			return true
		}
		return false
	}
	startReport(t, testOptions(c.URL()))
	got := c.waitReports(t, 2, 10*time.Second)
	if gap := got[1].at.Sub(got[0].at); gap < 2900*time.Millisecond {
		t.Errorf("retry after %s, want at least the 3s Retry-After", gap)
	}
}

func TestReport4xxIsFinal(t *testing.T) {
	t.Parallel()
	c := newTestCollector(t, 8)
	c.report = func(n int, w http.ResponseWriter, rr *ReportRequest) bool {
		http.Error(w, `{"status":400,"message":"bad stamp"}`, http.StatusBadRequest)
		return true
	}
	logs := newLogRecorder()
	opt := testOptions(c.URL())
	opt.Logger = logs
	startReport(t, opt)
	c.waitReports(t, 1, 5*time.Second)
	waitFor(t, 5*time.Second, "the rejection in the log", func() bool { return logs.find("WARNING", "bad stamp") })
	time.Sleep(2500 * time.Millisecond) // longer than two backoff retries
	if _, got := c.snapshot(); len(got) != 1 {
		t.Errorf("%d attempts after a 400, want 1 until the next lapse", len(got))
	}
	if !logs.find("WARNING", "next report at") {
		t.Errorf("rejection log lacks the next report time:\n%s", logs)
	}
}

func TestRepliesAreCapped(t *testing.T) {
	t.Parallel()
	c := newTestCollector(t, 8)
	c.session = func(n int, w http.ResponseWriter) bool {
		if n == 1 {
			// Far over the cap; a client without one would take it as a token.
			io.WriteString(w, `{"token":"`+strings.Repeat("x", 4<<20)+`"}`)
			return true
		}
		if n == 2 {
			io.WriteString(w, "<html>garbage</html>")
			return true
		}
		return false
	}
	r, err := New(testOptions(c.URL()), nil)
	if !errors.Is(err, ErrReplyTooLarge) {
		t.Fatalf("New with a 4 MiB token: %v, want ErrReplyTooLarge", err)
	}
	if r.Token != "" {
		t.Fatalf("token of %d bytes accepted", len(r.Token))
	}
	if err := r.SingleReport(context.Background()); err == nil || !strings.Contains(err.Error(), "decoding reply") {
		t.Fatalf("SingleReport with a garbage session reply: %v", err)
	}
	if err := r.SingleReport(context.Background()); err != nil {
		t.Fatalf("SingleReport after the collector recovered: %v", err)
	}
}

func TestTimeoutBoundsRequests(t *testing.T) {
	t.Parallel()
	c := newTestCollector(t, 8)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	c.session = func(n int, w http.ResponseWriter) bool {
		<-release
		return true
	}
	opt := testOptions(c.URL())
	opt.Timeout = 300 * time.Millisecond
	start := time.Now()
	_, err := New(opt, nil)
	if err == nil || time.Since(start) > 3*time.Second {
		t.Fatalf("New against a hanging collector: %v after %s", err, time.Since(start))
	}
}

func TestCancelStopsLoopAndMinting(t *testing.T) {
	c := newTestCollector(t, 28)
	c.advertise = true // 28 bits: seconds of minting, to be interrupted
	before := runtime.NumGoroutine()
	r, err := New(testOptions(c.URL()), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Report(ctx); close(done) }()
	time.Sleep(200 * time.Millisecond) // minting by now, most likely (2^28 hashes take seconds)
	cancel()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("Report still running 1s after cancel")
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines after cancel, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

func TestAdvertisedBits(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		configured, advertised, want uint
	}{
		{8, 0, 8}, {8, 12, 12}, {16, 12, 16}, {8, 40, 28},
	} {
		c := newTestCollector(t, tt.advertised)
		c.advertise = true
		opt := testOptions(c.URL())
		opt.HashBits = tt.configured
		r, err := New(opt, nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.bits != tt.want {
			t.Errorf("configured %d, advertised %d: minting at %d bits, want %d", tt.configured, tt.advertised, r.bits, tt.want)
		}
	}
	c := newTestCollector(t, 12)
	c.advertise = true
	r, err := New(testOptions(c.URL()), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.SingleReport(context.Background()); err != nil {
		t.Fatalf("report at the advertised 12 bits: %v", err)
	}
}

// faultyClient is a UsageClient that fails in the ways a careless
// implementation does.
type faultyClient struct {
	calls atomic.Int32
	mode  string
}

func (f *faultyClient) NewSession(context.Context, *SessionRequest) (*SessionReply, error) {
	f.calls.Add(1)
	switch f.mode {
	case "nil-reply":
		return nil, nil
	case "panic":
		panic("client bug")
	}
	return nil, errors.New("no network")
}

func (f *faultyClient) SendReport(context.Context, *ReportRequest) (*ReportReply, error) {
	return nil, errors.New("no network")
}

func TestNilRepliesNeverPanic(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"nil-error", "nil-reply"} {
		fc := &faultyClient{mode: mode}
		r, err := New(testOptions(""), fc)
		if err == nil || r == nil {
			t.Fatalf("%s: New = %v, %v; want the reporter and the session error", mode, r, err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { r.Report(ctx); close(done) }()
		waitFor(t, 5*time.Second, "a session retry", func() bool { return fc.calls.Load() >= 2 })
		cancel()
		<-done
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

// TestReporterLiteral: a Reporter built as a struct literal, as code written
// for the original sometimes does, gets the defaults New would give it.
func TestReporterLiteral(t *testing.T) {
	t.Parallel()
	c := newTestCollector(t, 8)
	r := &Reporter{Options: Options{ClusterID: "c", ServerID: "s", URL: c.URL() + "/", HashBits: 8, Logger: newLogRecorder()}}
	if err := r.SingleReport(context.Background()); err != nil {
		t.Fatalf("SingleReport: %v", err)
	}
	if _, got := c.snapshot(); len(got) != 1 || !got[0].accepted {
		t.Fatalf("report not accepted: %+v", got)
	}
	if r.SessionEndpoint != "/session" || r.ReportLapse != 12*time.Hour || r.Timeout != 15*time.Second {
		t.Errorf("defaults not applied: %+v", r.Options)
	}
}
