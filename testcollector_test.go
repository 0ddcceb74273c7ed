package krakendusage

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/krakend-usage/krakend-usage/usage"
	"github.com/krakend-usage/krakend-usage/usage/hashcash"
)

// testCollector is a collector that checks reports the way a real one
// must (token, proof of work for token + data hash) and records every
// request body it receives, raw, for the privacy checks.
type testCollector struct {
	*httptest.Server
	bits uint

	mu       sync.Mutex
	sessions []usage.SessionRequest
	reports  []usage.ReportRequest
	raw      []string
	agents   []string // User-Agent of each request
	errs     []string
	tokens   map[string]bool
	// down is how many requests are still answered with a proxy's HTML
	// error page, as a collector behind a load balancer that is down.
	down int
	// upstream, when set, is a real collector: sessions and reports are
	// recorded, then relayed to it, and its answer is the answer.
	upstream string
}

// relay forwards body to the upstream collector's path and copies its
// answer to w. It reports whether the upstream accepted it (200).
func (c *testCollector) relay(w http.ResponseWriter, r *http.Request, body []byte) bool {
	req, _ := http.NewRequestWithContext(r.Context(), http.MethodPost, c.upstream+r.URL.Path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", r.UserAgent())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.fail("relay: " + err.Error())
		http.Error(w, `{"message":"relay failed"}`, http.StatusBadGateway)
		return false
	}
	defer resp.Body.Close()
	w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		c.fail(fmt.Sprintf("the collector answered %s %d", r.URL.Path, resp.StatusCode))
	}
	return resp.StatusCode == http.StatusOK
}

func newTestCollector(t testing.TB, bits uint) *testCollector {
	c := &testCollector{bits: bits, tokens: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /session", c.whenUp(c.session))
	mux.HandleFunc("POST /report", c.whenUp(c.report))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		c.record(r, nil)
		c.fail(fmt.Sprintf("unexpected request %s %s", r.Method, r.URL.Path))
		http.NotFound(w, r)
	})
	c.Server = httptest.NewServer(mux)
	t.Cleanup(c.Close)
	return c
}

func (c *testCollector) record(r *http.Request, body []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.raw = append(c.raw, r.URL.String()+"\n"+fmt.Sprint(r.Header)+"\n"+string(body))
	c.agents = append(c.agents, r.UserAgent())
}

// outagePage is what a reverse proxy answers for a collector that is down.
const outagePage = `<!DOCTYPE html>
<html>
<head><title>502 Bad Gateway</title></head>
<body>
<center><h1>502 Bad Gateway</h1></center>
<hr><center>nginx</center>
</body>
</html>
`

// setDown makes the next n requests fail with outagePage.
func (c *testCollector) setDown(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.down = n
}

func (c *testCollector) whenUp(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		down := c.down > 0
		if down {
			c.down--
		}
		c.mu.Unlock()
		if down {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			io.WriteString(w, outagePage)
			return
		}
		h(w, r)
	}
}

func (c *testCollector) fail(msg string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errs = append(c.errs, msg)
}

func (c *testCollector) session(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	c.record(r, body)
	var in usage.SessionRequest
	if err := json.Unmarshal(body, &in); err != nil {
		c.fail("session: " + err.Error())
		http.Error(w, `{"message":"bad request"}`, http.StatusBadRequest)
		return
	}
	if c.upstream != "" {
		if c.relay(w, r, body) {
			c.mu.Lock()
			c.sessions = append(c.sessions, in)
			c.mu.Unlock()
		}
		return
	}
	c.mu.Lock()
	token := fmt.Sprintf("token-%d", len(c.sessions))
	c.sessions = append(c.sessions, in)
	c.tokens[token] = true
	c.mu.Unlock()
	json.NewEncoder(w).Encode(usage.SessionReply{Token: token})
}

func (c *testCollector) report(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	c.record(r, body)
	var in usage.ReportRequest
	if err := json.Unmarshal(body, &in); err != nil {
		c.fail("report: " + err.Error())
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if c.upstream != "" {
		if c.relay(w, r, body) {
			c.mu.Lock()
			c.reports = append(c.reports, in)
			c.mu.Unlock()
		}
		return
	}
	c.mu.Lock()
	known := c.tokens[in.Token]
	c.mu.Unlock()
	if !known {
		c.fail("report with unknown token " + in.Token)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	hash, err := in.Data.Hash()
	if err == nil {
		_, err = hashcash.Verify(in.Pow, in.Token+hash, c.bits, time.Now())
	}
	if err != nil {
		c.fail("report: proof of work: " + err.Error())
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	c.reports = append(c.reports, in)
	c.mu.Unlock()
	json.NewEncoder(w).Encode(usage.ReportReply{Status: 200})
}

// snapshot returns copies of what was received so far.
func (c *testCollector) userAgents() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.agents...)
}

func (c *testCollector) snapshot() (sessions []usage.SessionRequest, reports []usage.ReportRequest, raw, errs []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append(sessions, c.sessions...), append(reports, c.reports...), append(raw, c.raw...), append(errs, c.errs...)
}

// waitReports polls until n reports arrived or the deadline passes.
func (c *testCollector) waitReports(t testing.TB, n int, d time.Duration) []usage.ReportRequest {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		_, reports, _, errs := c.snapshot()
		if len(errs) > 0 {
			t.Fatalf("collector errors: %v", errs)
		}
		if len(reports) >= n {
			return reports
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d reports after %s, want %d", len(reports), d, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
