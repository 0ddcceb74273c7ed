package collector

import (
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/krakend-usage/krakend-usage/usage"
)

func TestSession(t *testing.T) {
	e := newEnv(t, Config{Bits: 12})
	code, m, _ := e.post("/session", usage.SessionRequest{ClusterID: "c", ServerID: "s"})
	if code != 200 || m["token"] == "" || m["bits"] != float64(12) {
		t.Fatalf("got %d %v, want 200 with a token and bits 12", code, m)
	}
	if strings.Contains(m["token"].(string), ":") {
		t.Errorf("token %q has a ':', which would break the stamp", m["token"])
	}
	long := strings.Repeat("a", usage.MaxIDLen)
	if code, m, _ := e.post("/session", usage.SessionRequest{ClusterID: long, ServerID: long}); code != 200 {
		t.Errorf("IDs of %d characters: got %d %v, want 200", usage.MaxIDLen, code, m)
	}
	for name, body := range map[string]any{
		"empty cluster":  usage.SessionRequest{ServerID: "s"},
		"empty server":   usage.SessionRequest{ClusterID: "c"},
		"129 characters": usage.SessionRequest{ClusterID: strings.Repeat("a", usage.MaxIDLen+1), ServerID: "s"},
		"control char":   usage.SessionRequest{ClusterID: "c\x00", ServerID: "s"},
		"newline":        usage.SessionRequest{ClusterID: "c", ServerID: "s\n"},
		"invalid UTF-8":  `{"cluster_id":"\xff","server_id":"s"}`,
		"non-ASCII":      usage.SessionRequest{ClusterID: "clüster", ServerID: "s"},
		"not JSON":       "hello",
		"too large":      `{"cluster_id":"` + strings.Repeat("a", 8<<10) + `"}`,
	} {
		code, m, _ := e.post("/session", body)
		if code != 400 && code != 413 || m["status"] != float64(code) {
			t.Errorf("%s: got %d %v, want 400 or 413 as JSON", name, code, m)
		}
	}
	resp, err := http.Get(e.ts.URL + "/session")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Errorf("GET /session: got %d, want 405", resp.StatusCode)
	}
}

func TestSessionRateLimit(t *testing.T) {
	e := newEnv(t, Config{SessionRate: 0.01, SessionBurst: 3})
	for i := range 3 {
		if code, m, _ := e.post("/session", usage.SessionRequest{ClusterID: "c", ServerID: "s"}); code != 200 {
			t.Fatalf("session %d: got %d %v", i, code, m)
		}
	}
	code, m, h := e.post("/session", usage.SessionRequest{ClusterID: "c", ServerID: "s"})
	if code != 429 || m["status"] != float64(429) {
		t.Fatalf("4th session: got %d %v, want 429", code, m)
	}
	if s, err := strconv.Atoi(h.Get("Retry-After")); err != nil || s < 1 || s > 100 {
		t.Errorf("Retry-After %q, want about 100 seconds", h.Get("Retry-After"))
	}
}

func TestSessionDefaultBurst(t *testing.T) {
	e := newEnv(t, Config{})
	for i := range 200 {
		if code, m, _ := e.post("/session", usage.SessionRequest{ClusterID: "c", ServerID: "s" + strconv.Itoa(i)}); code != 200 {
			t.Fatalf("a fleet of 200 behind one address: session %d got %d %v", i, code, m)
		}
	}
}

func TestLimiterBounded(t *testing.T) {
	l := newLimiter(1, 2, 100)
	now := time.Now()
	for i := range 1000 {
		l.allow(netip.MustParsePrefix("10.0."+strconv.Itoa(i/256)+"."+strconv.Itoa(i%256)+"/32"), now.Add(time.Duration(i)*time.Hour))
	}
	if n := len(l.buckets); n > 100 {
		t.Errorf("limiter remembers %d addresses, want at most 100", n)
	}
}

// TestLimiterEvictsLeastRecent: a flood of new addresses filling the
// limiter never frees a client that is being limited right now: the
// least recently seen address goes first, not an arbitrary one.
func TestLimiterEvictsLeastRecent(t *testing.T) {
	l := newLimiter(0.001, 2, 100)
	now := time.Now()
	greedy := netip.MustParsePrefix("192.0.2.1/32")
	for range 2 {
		l.allow(greedy, now)
	}
	for i := range 10_000 {
		l.allow(netip.MustParsePrefix("10.1."+strconv.Itoa(i/256)+"."+strconv.Itoa(i%256)+"/32"), now)
		if ok, _ := l.allow(greedy, now); ok {
			t.Fatalf("after %d new addresses the limited client got a fresh burst", i+1)
		}
	}
}

func TestTokenRoundTrip(t *testing.T) {
	s := &signer{key: testKey}
	now := time.Unix(1_700_000_000, 0)
	c, err := s.verify(s.issue("clüster", "server", now), now)
	if err != nil || c.cluster != "clüster" || c.server != "server" || !c.issued.Equal(now) {
		t.Errorf("got %+v %v", c, err)
	}
	for _, bad := range []string{"", ".", "a.b", "!!!.###", strings.Repeat("a", 5000)} {
		if _, err := s.verify(bad, now); err == nil {
			t.Errorf("verify(%q) accepted", bad)
		}
	}
}
