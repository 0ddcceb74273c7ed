package usage_test

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

	"github.com/krakend-usage/krakend-usage/usage"
	"github.com/krakend-usage/krakend-usage/usage/usagetest"
)

func testOptions(url string) usage.Options {
	return usage.Options{
		ClusterID:   "cluster-1",
		ServerID:    "server-1",
		URL:         url,
		Version:     "v9.9.9",
		HashBits:    8,
		ReportLapse: time.Hour,
		Timeout:     5 * time.Second,
	}
}

func startReport(t *testing.T, opt usage.Options) context.CancelFunc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := usage.Report(ctx, opt, nil); err != nil {
		t.Fatalf("Report: %v", err)
	}
	return cancel
}

// TestReportOverLoopback: the real HTTP path, at the default 20 bits, with
// a 1 MiB extra payload: reports a verifying collector accepts, with our
// User-Agent, on one session. (Timing is tested in a synctest bubble.)
func TestReportOverLoopback(t *testing.T) {
	t.Parallel()
	c := usagetest.NewCollector(t, usage.DefaultHashBits)
	extra := make([]byte, 1<<20)
	rand.Read(extra)
	opt := testOptions(c.URL)
	opt.HashBits = 0 // the default, 20 bits
	opt.ExtraPayload = extra
	opt.ReportLapse = 50 * time.Millisecond
	opt.UserAgent = "usage-test/1"
	c.UserAgent = opt.UserAgent
	startReport(t, opt)

	got := c.WaitReports(t, 2, 20*time.Second)
	for i, a := range got[:2] {
		if !a.Accepted {
			t.Fatalf("report %d not accepted", i+1)
		}
		d := a.Data
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
		if !strings.HasPrefix(a.Pow, "1:20:") {
			t.Errorf("report %d stamp %q, want 20 bits", i+1, a.Pow)
		}
	}
	if sessions, _ := c.Sessions(), c.Reports(); len(sessions) != 1 {
		t.Errorf("%d sessions, want 1", len(sessions))
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestReportInvalidOptions(t *testing.T) {
	t.Parallel()
	base := testOptions("http://127.0.0.1:1")
	tests := []struct {
		field string
		edit  func(*usage.Options)
	}{
		{"ClusterID", func(o *usage.Options) { o.ClusterID = "" }},
		{"ServerID", func(o *usage.Options) { o.ServerID = "" }},
		{"URL", func(o *usage.Options) { o.URL = "" }},
		{"URL", func(o *usage.Options) { o.URL = "ftp://example.com" }},
		{"URL", func(o *usage.Options) { o.URL = "localhost:8090" }},
		{"URL", func(o *usage.Options) { o.URL = "http://" }},
		{"HashBits", func(o *usage.Options) { o.HashBits = 64 }},
		{"ClusterID", func(o *usage.Options) { o.ClusterID = strings.Repeat("c", usage.MaxIDLen+1) }},
		{"ClusterID", func(o *usage.Options) { o.ClusterID = "my cluster" }},
		{"ServerID", func(o *usage.Options) { o.ServerID = "server\x00" }},
		{"ServerID", func(o *usage.Options) { o.ServerID = strings.Repeat("é", 1<<20) }},
		{"Version", func(o *usage.Options) { o.Version = strings.Repeat("v", usage.MaxVersionLen+1) }},
		{"Version", func(o *usage.Options) { o.Version = "2.13.2\n" }},
		{"Version", func(o *usage.Options) { o.Version = "2.13.2-ß" }},
		{"Timeout", func(o *usage.Options) { o.Timeout = -time.Second }},
	}
	for _, tt := range tests {
		opt := base
		tt.edit(&opt)
		err := usage.Report(context.Background(), opt, nil)
		var oe *usage.OptionError
		if !errors.As(err, &oe) || oe.Field != tt.field || !errors.Is(err, usage.ErrInvalidOption) {
			t.Errorf("Report(%s invalid) = %v, want an OptionError for %s", tt.field, err, tt.field)
			continue
		}
		if !strings.Contains(err.Error(), tt.field) || len(err.Error()) > 300 {
			t.Errorf("error %q does not name %s in one short line", err, tt.field)
		}
		if r, err := usage.New(opt, nil); r != nil || err == nil {
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
	c := usagetest.NewUnstartedCollector(t, 8)
	c.StartOn(l)
	// The collector records a report before answering it; the reporter logs
	// it once the answer is in.
	waitFor(t, 15*time.Second, "an accepted report in the log", func() bool { return logs.find("INFO", "Report accepted") })
	if got := c.Reports(); len(got) == 0 || !got[0].Accepted {
		t.Fatal("report after recovery not accepted")
	}
	if !logs.find("INFO", "Session opened") {
		t.Errorf("logs lack the session line:\n%s", logs)
	}
}

func TestRepliesAreCapped(t *testing.T) {
	t.Parallel()
	c := usagetest.NewCollector(t, 8)
	c.HandleSession = func(n int, w http.ResponseWriter) bool {
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
	r, err := usage.New(testOptions(c.URL), nil)
	if !errors.Is(err, usage.ErrReplyTooLarge) {
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

// faultyClient is a UsageClient that fails in the ways a careless
// implementation does.
type faultyClient struct {
	calls atomic.Int32
	mode  string
}

func (f *faultyClient) NewSession(context.Context, *usage.SessionRequest) (*usage.SessionReply, error) {
	f.calls.Add(1)
	switch f.mode {
	case "nil-reply":
		return nil, nil
	case "panic":
		panic("client bug")
	}
	return nil, errors.New("no network")
}

func (f *faultyClient) SendReport(context.Context, *usage.ReportRequest) (*usage.ReportReply, error) {
	return nil, errors.New("no network")
}

// TestReporterLiteral: a Reporter built as a struct literal, as code written
// for the original sometimes does, gets the defaults New would give it.
func TestReporterLiteral(t *testing.T) {
	t.Parallel()
	c := usagetest.NewCollector(t, 8)
	r := &usage.Reporter{Options: usage.Options{ClusterID: "c", ServerID: "s", URL: c.URL + "/", HashBits: 8, Logger: newLogRecorder()}}
	if err := r.SingleReport(context.Background()); err != nil {
		t.Fatalf("SingleReport: %v", err)
	}
	if got := c.Reports(); len(got) != 1 || !got[0].Accepted {
		t.Fatalf("report not accepted: %+v", got)
	}
	if r.SessionEndpoint != "/session" || r.ReportLapse != 12*time.Hour || r.Timeout != 15*time.Second {
		t.Errorf("defaults not applied: %+v", r.Options)
	}
}

// TestAdvertisedBits: the reporter mints at the difficulty a collector asks
// for in its session reply, when above its own, up to MaxHashBits.
func TestAdvertisedBits(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		configured, advertised, want uint
	}{
		{8, 0, 8}, {8, 12, 12}, {16, 12, 16}, {8, 40, usage.MaxHashBits},
	} {
		c := usagetest.NewUnstartedCollector(t, tt.advertised)
		c.AdvertiseBits = true
		opt := testOptions(usagetest.UnstartedURL)
		opt.Client = c.Client()
		opt.HashBits = tt.configured
		r, err := usage.New(opt, nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.Bits() != tt.want {
			t.Errorf("configured %d, advertised %d: minting at %d bits, want %d", tt.configured, tt.advertised, r.Bits(), tt.want)
		}
	}
	c := usagetest.NewUnstartedCollector(t, 12)
	c.AdvertiseBits = true
	opt := testOptions(usagetest.UnstartedURL)
	opt.Client = c.Client()
	r, err := usage.New(opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.SingleReport(context.Background()); err != nil {
		t.Fatalf("report at the advertised 12 bits: %v", err)
	}
	if got := c.Reports(); len(got) != 1 || !got[0].Accepted || !strings.HasPrefix(got[0].Pow, "1:12:") {
		t.Errorf("report at 12 bits not accepted: %+v", got)
	}
}
