package usage

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

	"github.com/krakend-usage/krakend-usage/usage/hashcash"
	"github.com/luraproject/lura/v2/logging"
)

// testCollector is a collector that verifies every report the way a real
// one must (token, stamp for token+hash, freshness) and lets a test script
// its answers.
type testCollector struct {
	t    *testing.T
	srv  *httptest.Server
	bits uint // required difficulty; advertised when advertise is set

	mu        sync.Mutex
	advertise bool
	down      bool // fake collector: refuse connections
	sessions  []time.Time
	attempts  []reportAttempt
	tokens    int
	issued    map[string]bool
	// session and report, when set, may answer a request themselves
	// (returning true); n counts requests to that endpoint from 1.
	session func(n int, w http.ResponseWriter) bool
	report  func(n int, w http.ResponseWriter, rr *ReportRequest) bool
}

type reportAttempt struct {
	answered bool // the collector has decided and written its answer
	at       time.Time
	body     []byte // the request body, as received
	req      ReportRequest
	accepted bool
}

func newTestCollector(t *testing.T, bits uint) *testCollector {
	return newTestCollectorOn(t, bits, nil)
}

// newTestCollectorOn serves on l, or on a new loopback port when l is nil.
func newTestCollectorOn(t *testing.T, bits uint, l net.Listener) *testCollector {
	c := &testCollector{t: t, bits: bits, issued: map[string]bool{}}
	c.srv = httptest.NewUnstartedServer(http.HandlerFunc(c.serve))
	if l != nil {
		c.srv.Listener.Close()
		c.srv.Listener = l
	}
	c.srv.Start()
	t.Cleanup(c.srv.Close)
	return c
}

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

func (c *testCollector) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		c.t.Errorf("%s %s with Content-Type %q", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
	}
	switch r.URL.Path {
	case "/session":
		var in SessionRequest
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.ClusterID == "" || in.ServerID == "" {
			c.t.Errorf("bad session request %+v: %v", in, err)
		}
		c.mu.Lock()
		c.sessions = append(c.sessions, time.Now())
		n, hook := len(c.sessions), c.session
		c.mu.Unlock()
		if hook != nil && hook(n, w) {
			return
		}
		c.mu.Lock()
		c.tokens++
		token, adv := fmt.Sprintf("token%d", c.tokens), c.advertise
		c.issued[token] = true
		c.mu.Unlock()
		reply := SessionReply{Token: token}
		if adv {
			reply.Bits = c.bits
		}
		json.NewEncoder(w).Encode(reply)
	case "/report":
		var rr ReportRequest
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &rr); err != nil {
			c.t.Errorf("bad report body: %v", err)
			http.Error(w, "bad json", http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		c.attempts = append(c.attempts, reportAttempt{at: time.Now(), body: body, req: rr})
		n, hook := len(c.attempts), c.report
		c.mu.Unlock()
		defer func() { // answered: visible to waitReports
			c.mu.Lock()
			c.attempts[n-1].answered = true
			c.mu.Unlock()
		}()
		if hook != nil && hook(n, w, &rr) {
			return
		}
		if msg := c.verify(&rr); msg != "" {
			c.t.Errorf("report %d rejected: %s", n, msg)
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"status":400,"message":%q}`, msg)
			return
		}
		c.mu.Lock()
		c.attempts[n-1].accepted = true
		c.mu.Unlock()
		io.WriteString(w, `{"status":200}`)
	default:
		c.t.Errorf("unexpected path %s", r.URL.Path)
		http.NotFound(w, r)
	}
}

func (c *testCollector) verify(rr *ReportRequest) string {
	c.mu.Lock()
	known := c.issued[rr.Token]
	c.mu.Unlock()
	if !known {
		return "unknown token " + rr.Token
	}
	h, err := rr.Data.Hash()
	if err != nil {
		return err.Error()
	}
	if _, err := hashcash.Verify(rr.Pow, rr.Token+h, c.bits, time.Now()); err != nil {
		return err.Error()
	}
	if rr.Data.Expired() {
		return "expired"
	}
	return ""
}

func (c *testCollector) URL() string {
	if c.srv == nil {
		return fakeURL
	}
	return c.srv.URL
}

func (c *testCollector) snapshot() ([]time.Time, []reportAttempt) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Time(nil), c.sessions...), append([]reportAttempt(nil), c.attempts...)
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

func (c *testCollector) waitReports(t *testing.T, n int, d time.Duration) []reportAttempt {
	t.Helper()
	var got []reportAttempt
	waitFor(t, d, fmt.Sprintf("%d answered report attempts", n), func() bool {
		_, got = c.snapshot()
		if len(got) < n {
			return false
		}
		for _, a := range got[:n] {
			if !a.answered {
				return false
			}
		}
		return true
	})
	return got
}

// logRecorder captures what a user would see in the gateway log: lura's
// own logger, at DEBUG, writing to a buffer.
type logRecorder struct {
	logging.Logger
	mu  sync.Mutex
	buf bytes.Buffer
}

func newLogRecorder() *logRecorder {
	l := &logRecorder{}
	lg, err := logging.NewLogger("DEBUG", (*lockedWriter)(l), "")
	if err != nil {
		panic(err)
	}
	l.Logger = lg
	return l
}

type lockedWriter logRecorder

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

// lines returns the messages logged so far as "LEVEL: message", without
// the date and time lura's logger puts first.
func (l *logRecorder) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, s := range strings.Split(strings.TrimSuffix(l.buf.String(), "\n"), "\n") {
		if s == "" {
			continue
		}
		// "2006/01/02 15:04:05  INFO: message"
		if len(s) > len("2006/01/02 15:04:05") {
			s = s[len("2006/01/02 15:04:05"):]
		}
		out = append(out, strings.TrimSpace(s))
	}
	return out
}

// find reports whether a line of level contains substr.
func (l *logRecorder) find(level, substr string) bool {
	return l.count(level, substr) > 0
}

// count counts the lines of level that contain substr.
func (l *logRecorder) count(level, substr string) int {
	n := 0
	for _, s := range l.lines() {
		if strings.HasPrefix(s, level+": ") && strings.Contains(s, substr) {
			n++
		}
	}
	return n
}

func (l *logRecorder) String() string {
	return strings.Join(l.lines(), "\n")
}
