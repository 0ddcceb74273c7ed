package usage

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/krakend-usage/krakend-usage/usage/hashcash"
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
	down      bool   // fake collector: refuse connections
	onRequest func() // fake collector: called for every request, under mu
	userAgent string // when set, every request must carry it
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

func (c *testCollector) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		c.t.Errorf("%s %s with Content-Type %q", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
	}
	c.mu.Lock()
	ua := c.userAgent
	c.mu.Unlock()
	if ua != "" && r.Header.Get("User-Agent") != ua {
		c.t.Errorf("User-Agent %q, want %q", r.Header.Get("User-Agent"), ua)
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
