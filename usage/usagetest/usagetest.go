// Package usagetest provides a collector for tests of programs that report
// with package usage, as net/http/httptest provides servers for tests of
// HTTP clients.
//
// A [Collector] answers sessions and reports the way a real collector
// must: it issues tokens, checks that each report carries a known token
// and a proof of work of the required difficulty for token + data hash,
// and refuses expired data. It records every request it receives, raw, so
// that a test can check what a reporter sends (and what it never sends),
// and it can be scripted: answer a session or a report itself, be down
// behind a reverse proxy, be unreachable, or relay to a real collector.
//
// A request that breaks the protocol (a wrong method or content type, a
// body that is not the expected JSON, an unknown token, a stamp that does
// not verify, an unexpected path) fails the test that made the collector.
//
// A [Log] records what a reporter, or a program around it, logs, and
// [FreePort] picks a loopback port for a program that must be told its
// port before it listens.
//
// The package uses the standard library and package usage only.
package usagetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/krakend-usage/krakend-usage/usage"
	"github.com/krakend-usage/krakend-usage/usage/hashcash"
)

// UnstartedURL is the URL of a collector that is not started: no such host
// exists, its requests reach the collector only through [Collector.Client].
const UnstartedURL = "http://collector.test"

// A Collector is a collector for tests. Its exported fields other than URL
// may be set before the first request it serves, and not after.
type Collector struct {
	// URL is the collector's base URL, for usage.Options.URL:
	// http://127.0.0.1:PORT once started, UnstartedURL before.
	URL string
	// Bits is the proof of work (hashcash bits) a report must carry.
	Bits uint

	// AdvertiseBits makes the session reply name Bits (usage.SessionReply),
	// as a collector that requires a difficulty of its own does.
	AdvertiseBits bool
	// UserAgent, when set, is the User-Agent every request must carry.
	UserAgent string
	// Upstream, when set, is the base URL of a real collector: sessions
	// and reports are recorded, then relayed to it, and its answer is the
	// answer; a report counts as accepted when it answered 200.
	Upstream string
	// HandleSession, when set, may answer the n-th session request (from
	// 1) itself, returning true; returning false lets the collector answer.
	HandleSession func(n int, w http.ResponseWriter) bool
	// HandleReport, when set, may answer the n-th report (from 1) itself,
	// returning true; returning false lets the collector verify and answer
	// it. It may change the report before the collector verifies it.
	HandleReport func(n int, w http.ResponseWriter, r *usage.ReportRequest) bool
	// OnRequest, when set, is called for every request made through
	// Client, also while the collector is unreachable.
	OnRequest func()

	t   testing.TB
	srv *httptest.Server

	mu          sync.Mutex
	unreachable bool
	outage      int // requests still answered with a reverse proxy's error page
	tokens      map[string]bool
	requests    []Request
	sessions    []Session
	reports     []Report
}

// Request is one request as the collector received it.
type Request struct {
	Time   time.Time
	Method string
	URL    string // the request URI: path and query
	Header http.Header
	Body   []byte
}

// Session is one session request the collector received.
type Session struct {
	usage.SessionRequest
	Time time.Time
}

// Report is one report the collector received.
type Report struct {
	usage.ReportRequest
	Time time.Time
	Body []byte // the request body, as received
	// Answered: the collector has written its answer. Accepted: the answer
	// was 200 (the proof of work verified, or the upstream accepted it).
	Answered, Accepted bool
}

// NewCollector starts a collector on a loopback port requiring bits of
// proof of work. It is closed when the test ends.
func NewCollector(t testing.TB, bits uint) *Collector {
	c := NewUnstartedCollector(t, bits)
	c.Start()
	return c
}

// NewUnstartedCollector returns a collector requiring bits of proof of work
// that serves only through [Collector.Client] until it is started. Unlike
// one on a loopback port, it works inside a testing/synctest bubble.
func NewUnstartedCollector(t testing.TB, bits uint) *Collector {
	return &Collector{t: t, URL: UnstartedURL, Bits: bits, tokens: map[string]bool{}}
}

// Start serves the collector on a new loopback port.
func (c *Collector) Start() {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		c.t.Fatalf("usagetest: %v", err)
	}
	c.StartOn(l)
}

// StartOn serves the collector on l. It is closed when the test ends.
func (c *Collector) StartOn(l net.Listener) {
	if c.srv != nil {
		panic("usagetest: Collector started twice")
	}
	c.srv = httptest.NewUnstartedServer(c)
	c.srv.Listener.Close()
	c.srv.Listener = l
	c.srv.Start()
	c.URL = c.srv.URL
	c.t.Cleanup(c.srv.Close)
}

// Client returns an HTTP client whose requests the collector serves
// in-process, whatever their host. While the collector is unreachable,
// each request fails as a refused connection does.
func (c *Collector) Client() *http.Client {
	return &http.Client{Transport: roundTripFunc(func(req *http.Request) (*http.Response, error) {
		if req.Body != nil {
			defer req.Body.Close()
		}
		if c.OnRequest != nil {
			c.OnRequest()
		}
		c.mu.Lock()
		unreachable := c.unreachable
		c.mu.Unlock()
		if unreachable {
			return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
		}
		rec := httptest.NewRecorder()
		done := make(chan struct{})
		go func() {
			defer close(done)
			c.ServeHTTP(rec, req)
		}()
		select {
		case <-done:
			return rec.Result(), nil
		case <-req.Context().Done():
			return nil, req.Context().Err()
		}
	})}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// SetUnreachable makes the requests made through Client fail as a refused
// connection does, or (false) reach the collector again.
func (c *Collector) SetUnreachable(unreachable bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.unreachable = unreachable
}

// SetOutage makes the next n requests answered with a reverse proxy's
// 502 error page (HTML), as a collector behind a load balancer that is
// down; they are recorded as requests only.
func (c *Collector) SetOutage(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.outage = n
}

// OutagePage is what the collector answers during an outage (SetOutage).
const OutagePage = `<!DOCTYPE html>
<html>
<head><title>502 Bad Gateway</title></head>
<body>
<center><h1>502 Bad Gateway</h1></center>
<hr><center>nginx</center>
</body>
</html>
`

// ServeHTTP serves one request: POST /session or POST /report.
func (c *Collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		c.t.Errorf("usagetest: reading %s %s: %v", r.Method, r.URL.Path, err)
		return
	}
	c.mu.Lock()
	c.requests = append(c.requests, Request{Time: time.Now(), Method: r.Method, URL: r.URL.RequestURI(), Header: r.Header.Clone(), Body: body})
	down := c.outage > 0
	if down {
		c.outage--
	}
	c.mu.Unlock()
	if down {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		io.WriteString(w, OutagePage)
		return
	}
	if r.URL.Path != "/session" && r.URL.Path != "/report" {
		c.t.Errorf("usagetest: unexpected request %s %s", r.Method, r.URL.Path)
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		c.t.Errorf("usagetest: %s %s with Content-Type %q, want POST with application/json", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
	}
	if c.UserAgent != "" && r.UserAgent() != c.UserAgent {
		c.t.Errorf("usagetest: %s with User-Agent %q, want %q", r.URL.Path, r.UserAgent(), c.UserAgent)
	}
	if r.URL.Path == "/session" {
		c.session(w, r, body)
	} else {
		c.report(w, r, body)
	}
}

func (c *Collector) session(w http.ResponseWriter, r *http.Request, body []byte) {
	var in usage.SessionRequest
	if err := json.Unmarshal(body, &in); err != nil || in.ClusterID == "" || in.ServerID == "" {
		c.t.Errorf("usagetest: bad session request %q: %v", body, err)
		http.Error(w, `{"message":"bad request"}`, http.StatusBadRequest)
		return
	}
	s := Session{SessionRequest: in, Time: time.Now()}
	if c.Upstream != "" {
		if c.relay(w, r, body) {
			c.mu.Lock()
			c.sessions = append(c.sessions, s)
			c.mu.Unlock()
		}
		return
	}
	c.mu.Lock()
	c.sessions = append(c.sessions, s)
	n := len(c.sessions)
	c.mu.Unlock()
	if c.HandleSession != nil && c.HandleSession(n, w) {
		return
	}
	c.mu.Lock()
	token := fmt.Sprintf("token%d", len(c.tokens)+1)
	c.tokens[token] = true
	c.mu.Unlock()
	reply := usage.SessionReply{Token: token}
	if c.AdvertiseBits {
		reply.Bits = c.Bits
	}
	json.NewEncoder(w).Encode(reply)
}

func (c *Collector) report(w http.ResponseWriter, r *http.Request, body []byte) {
	var in usage.ReportRequest
	if err := json.Unmarshal(body, &in); err != nil {
		c.t.Errorf("usagetest: bad report body %q: %v", body, err)
		http.Error(w, `{"status":400,"message":"bad json"}`, http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	c.reports = append(c.reports, Report{ReportRequest: in, Time: time.Now(), Body: body})
	n := len(c.reports)
	c.mu.Unlock()
	accepted := false
	defer func() {
		c.mu.Lock()
		c.reports[n-1].Answered, c.reports[n-1].Accepted = true, accepted
		c.mu.Unlock()
	}()
	if c.Upstream != "" {
		accepted = c.relay(w, r, body)
		return
	}
	if c.HandleReport != nil && c.HandleReport(n, w, &in) {
		return
	}
	if msg := c.verify(&in); msg != "" {
		c.t.Errorf("usagetest: report %d refused: %s", n, msg)
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"status":400,"message":%q}`, msg)
		return
	}
	accepted = true
	io.WriteString(w, `{"status":200}`)
}

// verify returns why a real collector would refuse rr, or "".
func (c *Collector) verify(rr *usage.ReportRequest) string {
	c.mu.Lock()
	known := c.tokens[rr.Token]
	c.mu.Unlock()
	if !known {
		return "unknown token " + rr.Token
	}
	h, err := rr.Data.Hash()
	if err != nil {
		return err.Error()
	}
	if _, err := hashcash.Verify(rr.Pow, rr.Token+h, c.Bits, time.Now()); err != nil {
		return "proof of work: " + err.Error()
	}
	if rr.Data.Expired() {
		return "expired"
	}
	return ""
}

// relay forwards body to the upstream collector and copies its answer to
// w. It reports whether the upstream accepted it (200).
func (c *Collector) relay(w http.ResponseWriter, r *http.Request, body []byte) bool {
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, c.Upstream+r.URL.Path, bytes.NewReader(body))
	if err != nil {
		c.t.Errorf("usagetest: relay: %v", err)
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", r.UserAgent())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Errorf("usagetest: relay: %v", err)
		http.Error(w, `{"message":"relay failed"}`, http.StatusBadGateway)
		return false
	}
	defer resp.Body.Close()
	w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		c.t.Errorf("usagetest: the upstream collector answered %s %d", r.URL.Path, resp.StatusCode)
	}
	return resp.StatusCode == http.StatusOK
}

// Requests returns every request received so far, in order.
func (c *Collector) Requests() []Request {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Request(nil), c.requests...)
}

// Sessions returns the session requests received so far, in order (with
// Upstream set, those the upstream collector accepted).
func (c *Collector) Sessions() []Session {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Session(nil), c.sessions...)
}

// Reports returns the reports received so far, in order, accepted or not.
func (c *Collector) Reports() []Report {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Report(nil), c.reports...)
}

// WaitReports waits until the collector has answered n reports and
// returns every report received by then; it fails the test after timeout.
func (c *Collector) WaitReports(t testing.TB, n int, timeout time.Duration) []Report {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		reports := c.Reports()
		answered := 0
		for _, r := range reports {
			if r.Answered {
				answered++
			}
		}
		if answered >= n {
			return reports
		}
		if time.Now().After(deadline) {
			t.Fatalf("usagetest: %d reports answered after %s, want %d", answered, timeout, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// String returns the request as text: its method and URL, its header
// lines and its body, for a test that checks that something never reaches
// a collector, and for failure messages.
func (r Request) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", r.Method, r.URL)
	r.Header.Write(&b)
	b.WriteString("\n")
	b.Write(r.Body)
	return b.String()
}
