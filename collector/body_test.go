package collector

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// holdBody starts a report from client (through the trusted proxy's
// X-Forwarded-For) declaring declared bytes, sends send of them and keeps
// the connection open.
func holdBody(t *testing.T, e *env, client string, declared, send int) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(e.ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "POST /report HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", client, declared)
	if _, err := c.Write([]byte(strings.Repeat(" ", send))); err != nil {
		t.Fatal(err)
	}
	return c
}

// answer reads the reply on c, or gives up after 30 seconds (the
// collector's ReadTimeout, which a test server does not have).
func answer(t *testing.T, c net.Conn) (int, string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return -1, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// noAnswer checks that c has had no reply yet: its body is being read.
func noAnswer(t *testing.T, c net.Conn, what string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, _ := c.Read(make([]byte, 1)); n > 0 {
		t.Fatalf("%s: answered while its body is still coming", what)
	}
}

// TestBodyBudgetShares: one client network holds at most its share of the
// body budget and its excess is told so; the budget full is told
// differently and shown on /healthz; small bodies are read meanwhile.
func TestBodyBudgetShares(t *testing.T) {
	// Large bodies share 300 KiB, one network holds at most 200 KiB.
	e := proxied(t, Config{MaxBody: 200 << 10, BodyMemory: 400 << 10})
	if _, m, _ := e.get("/healthz"); m["intake"] != "ok" {
		t.Fatalf("/healthz before: %v, want intake ok", m)
	}
	a1 := holdBody(t, e, "192.0.2.1", 190<<10, 120<<10) // holds 128 KiB
	noAnswer(t, a1, "first body of A")
	a2 := holdBody(t, e, "192.0.2.1", 190<<10, 120<<10)
	if code, body := answer(t, a2); code != 503 || !strings.Contains(body, "from your network") {
		t.Errorf("second large body of A: got %d %s, want 503 naming the client's network", code, body)
	}
	if _, m, _ := e.get("/healthz"); m["intake"] != "ok" {
		t.Errorf("/healthz after one client's excess: %v, want intake ok (nobody else was refused)", m)
	}
	b := holdBody(t, e, "192.0.2.2", 190<<10, 120<<10)
	noAnswer(t, b, "body of B")
	c := holdBody(t, e, "192.0.2.3", 190<<10, 120<<10)
	if code, body := answer(t, c); code != 503 || !strings.Contains(body, "too many large request bodies") {
		t.Errorf("large body of C with the large budget full: got %d %s, want 503 naming the full budget", code, body)
	}
	if code, m, _ := e.get("/healthz"); code != 200 || m["intake"] != "saturated" || !strings.Contains(fmt.Sprint(m["saturated"]), "large request bodies") {
		t.Errorf("/healthz with the budget full: %d %v, want 200 with intake saturated and the cause", code, m)
	}
	// Small reports have their own quarter: read, and refused for what
	// they are.
	if code, m, _ := e.post("/report", `{"token":"x"}`); code != 401 {
		t.Errorf("small report with large bodies holding the budget: got %d %v, want 401 (read and judged)", code, m)
	}
}

// get fetches path and decodes the JSON reply.
func (e *env) get(path string) (int, map[string]any, http.Header) {
	e.t.Helper()
	resp, err := http.Get(e.ts.URL + path)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	return decode(e.t, resp)
}

// TestSlowSmallBodyRead: a small body that takes longer than the wait for
// room, but arrives faster than the minimum rate, is read and judged, not
// answered 503.
func TestSlowSmallBodyRead(t *testing.T) {
	e := proxied(t, Config{})
	body := `{"token":"bad","pad":"` + strings.Repeat("x", 6000) + `"}`
	c := holdBody(t, e, "192.0.2.1", len(body), 0)
	c.Write([]byte(body[:4500]))
	time.Sleep(smallWait + 500*time.Millisecond)
	c.Write([]byte(body[4500:]))
	if code, b := answer(t, c); code != 401 {
		t.Errorf("a small body arriving over %s: got %d %s, want 401 (read and judged)", smallWait+500*time.Millisecond, code, b)
	}
}

// TestTooSlowBodyCut: a body slower than the minimum rate is cut off with
// 408 (the collector's own answer: a test server has no read timeout)
// once its time is up, and its room given back.
func TestTooSlowBodyCut(t *testing.T) {
	e := proxied(t, Config{})
	c := holdBody(t, e, "192.0.2.1", 1000, 10)
	start := time.Now()
	code, b := answer(t, c)
	t.Logf("a body of 1000 bytes stuck at 10: %d after %s (bodyGrace %s)", code, time.Since(start).Round(time.Millisecond), bodyGrace)
	if code != 408 {
		t.Errorf("a body of 1000 bytes stuck at 10: got %d %s, want 408", code, b)
	}
}

// TestStalledBodyCut: whatever length a body declares, it must keep
// arriving: one that sent a few bytes, or half of itself, and stopped is
// cut off with the collector's 408 (bodyGrace after its last byte; the
// time is logged).
func TestStalledBodyCut(t *testing.T) {
	e := proxied(t, Config{})
	for _, c := range []struct {
		name           string
		declared, sent int
	}{
		{"2 MiB declared, 10 bytes sent", 2 << 20, 10},
		{"2 MiB declared, half sent", 2 << 20, 1 << 20},
		{"64 KiB declared, half sent", 64 << 10, 32 << 10},
	} {
		conn := holdBody(t, e, "192.0.2.1", c.declared, c.sent)
		start := time.Now()
		code, b := answer(t, conn)
		t.Logf("%s, then nothing: %d after %s (bodyGrace %s)", c.name, code, time.Since(start).Round(time.Millisecond), bodyGrace)
		if code != 408 {
			t.Errorf("%s, then nothing: got %d %s, want 408", c.name, code, b)
		}
	}
}

// TestUnreadBodyNotDrained: a request whose body the route does not read
// (an unknown path, a route that takes no body, a refused method) is
// answered with "Connection: close" and the connection closed at once,
// with the body still coming.
func TestUnreadBodyNotDrained(t *testing.T) {
	e := proxied(t, Config{})
	for _, req := range []string{"POST /nothing", "POST /api/stats", "PUT /report", "POST /healthz"} {
		c, err := net.Dial("tcp", strings.TrimPrefix(e.ts.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "%s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200000\r\n\r\n%s", req, strings.Repeat(" ", 100))
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%s: %v", req, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		_, err = br.ReadByte()
		if !resp.Close || err != io.EOF {
			t.Errorf("%s with a body still coming: %d, Connection: close %v, then %v; want Connection: close and the connection closed",
				req, resp.StatusCode, resp.Close, err)
		}
	}
}

// TestIPv6BlocksShareBodyBudget: the /64s of one /56 hold at most two
// networks' share of the body budget between them, those of one /48
// four, however many /64s they are; an IPv4 network still gets its share.
func TestIPv6BlocksShareBodyBudget(t *testing.T) {
	for _, tc := range []struct {
		name   string
		client func(i int) string
		shares int64
	}{
		{"one /56", func(i int) string { return fmt.Sprintf("2001:db8:1:%x::/64", 0x100+i) }, 2},
		{"one /48, each /64 in a /56 of its own", func(i int) string { return fmt.Sprintf("2001:db8:1:%x00::/64", i+1) }, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Large bodies share 24 MiB; a network's share is at least
			// one largest body, 2 MiB, and exactly that once twelve
			// networks hold room.
			g := newBodyGate(32<<20, 2<<20, &saturation{})
			hold := func(client string, n int64) bool {
				rs := &reservation{g: g, client: netip.MustParsePrefix(client), sem: g.large, ctx: context.Background()}
				return rs.grow(n) == nil
			}
			for i := range 12 {
				if !hold(fmt.Sprintf("198.51.100.%d/32", i), 64<<10) {
					t.Fatalf("IPv4 network %d refused 64 KiB", i)
				}
			}
			var held int64
			for i := range 100 {
				if hold(tc.client(i), 1<<20) {
					held += 1 << 20
				}
			}
			share := g.large.share(netip.MustParsePrefix("2001:db8:1:ffff::/64"))
			if held > tc.shares*share {
				t.Errorf("100 /64s, 1 MiB each: %d MiB held, want at most %d shares (%d MiB)", held>>20, tc.shares, tc.shares*share>>20)
			}
			if !hold("192.0.2.1/32", 1<<20) {
				t.Error("an IPv4 network refused meanwhile")
			}
			t.Logf("100 /64s, 1 MiB each: %d MiB held (a network's share: %d MiB)", held>>20, share>>20)
		})
	}
}
