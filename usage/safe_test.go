package usage_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/krakend-usage/krakend-usage/usage"
	"github.com/krakend-usage/krakend-usage/usage/hashcash"
	"github.com/krakend-usage/krakend-usage/usage/usagetest"
)

// panickyClient is a UsageClient with bugs: it panics on the calls named,
// and otherwise forwards to next.
type panickyClient struct {
	next            usage.UsageClient
	session, report atomic.Int32 // calls that panic, counted down
}

func (p *panickyClient) NewSession(ctx context.Context, in *usage.SessionRequest) (*usage.SessionReply, error) {
	if p.session.Add(-1) >= 0 {
		panic("client bug in NewSession")
	}
	return p.next.NewSession(ctx, in)
}

func (p *panickyClient) SendReport(ctx context.Context, in *usage.ReportRequest) (*usage.ReportReply, error) {
	if p.report.Add(-1) >= 0 {
		panic(errors.New("client bug in SendReport"))
	}
	return p.next.SendReport(ctx, in)
}

func fakeUsageClient(c *usagetest.Collector) usage.UsageClient {
	return &usage.Client{
		HTTPClient:      &usage.BasicClient{Client: c.Client(), URL: usagetest.UnstartedURL},
		SessionEndpoint: "/session",
		ReportEndpoint:  "/report",
	}
}

// TestNewWithPanickingClient: a UsageClient whose NewSession panics makes
// New return an error, not crash the host.
func TestNewWithPanickingClient(t *testing.T) {
	pc := &panickyClient{}
	pc.session.Store(1)
	logs := newLogRecorder()
	opt := testOptions("")
	opt.Logger = logs
	r, err := usage.New(opt, pc)
	var pe *usage.PanicError
	if r == nil || !errors.As(err, &pe) || !strings.Contains(err.Error(), "client bug in NewSession") {
		t.Fatalf("New = %v, %v; want the reporter and the recovered panic as the error", r, err)
	}
	if !logs.find("ERROR", "Recovered from panic in UsageClient.NewSession: client bug in NewSession") {
		t.Errorf("panic not logged:\n%s", logs)
	}
}

// TestReportSurvivesPanics: Report's goroutine recovers from a panicking
// NewSession, SendReport, Minter and Logger, logs each and goes on until a
// report is accepted.
func TestReportSurvivesPanics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := usagetest.NewUnstartedCollector(t, 8)
		pc := &panickyClient{next: fakeUsageClient(c)}
		pc.session.Store(2)
		pc.report.Store(1)
		logs := newLogRecorder()
		var mints atomic.Int32
		opt := testOptions("")
		opt.Logger = logs
		opt.Minter = minterFunc(func(res string) (string, error) {
			if mints.Add(1) == 1 {
				var none []string
				_ = none[len(res)] // a runtime panic: index out of range
			}
			return (&hashcash.Minter{Bits: 8}).Mint(res)
		})
		if err := usage.Report(t.Context(), opt, pc); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if got := c.Reports(); len(got) != 1 || !got[0].Accepted {
			t.Fatalf("%d reports reached the collector, want 1 accepted:\n%s", len(got), logs)
		}
		for _, where := range []string{
			"UsageClient.NewSession: client bug in NewSession",
			"Minter: runtime error: index out of range",
			"UsageClient.SendReport: client bug in SendReport",
		} {
			if !logs.find("ERROR", "Recovered from panic in "+where) {
				t.Errorf("no ERROR line for the panic in %s:\n%s", where, logs)
			}
		}
		// Panics are bugs of the host, not an unreachable collector.
		if logs.find("WARNING", "") {
			t.Errorf("a panic logged as a WARNING:\n%s", logs)
		}
		checkLogStyle(t, logs)
	})
}

// TestPanickingLoggerIsHarmless: a Logger that panics loses its lines; the
// reports still go out.
func TestPanickingLoggerIsHarmless(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := usagetest.NewUnstartedCollector(t, 8)
		startFake(t, c, func(o *usage.Options) { o.Logger = panickyLogger{} })
		synctest.Wait()
		if got := c.Reports(); len(got) != 1 || !got[0].Accepted {
			t.Fatalf("%d reports with a panicking logger, want 1 accepted", len(got))
		}
	})
}

type panickyLogger struct{}

func (panickyLogger) Debug(...interface{})   { panic("logger bug") }
func (panickyLogger) Info(...interface{})    { panic("logger bug") }
func (panickyLogger) Warning(...interface{}) { panic("logger bug") }
func (panickyLogger) Error(...interface{})   { panic("logger bug") }

type minterFunc func(string) (string, error)

func (f minterFunc) Mint(res string) (string, error) { return f(res) }

// TestReportLoopRecovers: a panic in the loop itself, outside any call
// into the host's code, is logged and the loop goes on with backoff.
func TestReportLoopRecovers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := usagetest.NewUnstartedCollector(t, 8)
		logs := newLogRecorder()
		opt := testOptions(usagetest.UnstartedURL)
		opt.Client = c.Client()
		opt.Logger = logs
		r, err := usage.New(opt, nil)
		if err != nil {
			t.Fatal(err)
		}
		r.SetRand(func() float64 { panic("jitter source bug") }) // after each report
		go r.Report(t.Context())
		time.Sleep(4 * time.Second)
		synctest.Wait()
		if got := c.Reports(); len(got) != 3 { // at 0, 1 and 3s
			t.Errorf("%d reports in 4s, want 3 (the loop goes on with backoff):\n%s", len(got), logs)
		}
		if n := logs.count("ERROR", "Recovered from panic in the report loop: jitter source bug"); n != 3 {
			t.Errorf("%d ERROR lines for the loop's panics, want 3:\n%s", n, logs)
		}
	})
}
