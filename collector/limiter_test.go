package collector

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"testing"

	"github.com/krakend-usage/krakend-usage/usage"
)

// proxied is a collector behind a trusted proxy on the loopback address,
// so that a test can speak for any client address through
// X-Forwarded-For.
func proxied(t *testing.T, cfg Config) *env {
	cfg.ClientIPHeader = "X-Forwarded-For"
	cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	return newEnv(t, cfg)
}

// sessionFrom opens a session as client and returns the status.
func (e *env) sessionFrom(client string) int {
	e.t.Helper()
	b, _ := json.Marshal(usage.SessionRequest{ClusterID: "c", ServerID: "s"})
	req, _ := http.NewRequest("POST", e.ts.URL+"/session", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", client)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestSessionLimitPerIPv6Network: the addresses of one IPv6 /64 share one
// bucket.
func TestSessionLimitPerIPv6Network(t *testing.T) {
	e := proxied(t, Config{SessionRate: 0.001, SessionBurst: 5})
	issued := 0
	for i := range 50 {
		if e.sessionFrom(fmt.Sprintf("2001:db8:1:2::%x", i+1)) == 200 {
			issued++
		}
	}
	if issued != 5 {
		t.Errorf("50 addresses of one /64 got %d sessions, want the burst, 5", issued)
	}
	// Another /64 has a bucket of its own.
	if code := e.sessionFrom("2001:db8:1:3::1"); code != 200 {
		t.Errorf("a client of another /64: got %d, want 200", code)
	}
}

// TestSessionLimitSpellings: every spelling of one address is one client.
func TestSessionLimitSpellings(t *testing.T) {
	for _, tc := range []struct {
		name      string
		spellings []string
	}{
		{"IPv6", []string{"2001:DB8:1:2::1", "2001:0db8:0001:0002:0000:0000:0000:0001", "[2001:db8:1:2::1]", "[2001:db8:1:2::1]:4321", "2001:db8:1:2::1%eth0"}},
		{"IPv4", []string{"192.0.2.1", "::ffff:192.0.2.1", "192.0.2.1:80", "[::ffff:192.0.2.1]:80", " 192.0.2.1 "}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := proxied(t, Config{SessionRate: 0.001, SessionBurst: 2})
			issued := 0
			for _, s := range tc.spellings {
				if e.sessionFrom(s) == 200 {
					issued++
				}
			}
			if issued != 2 {
				t.Errorf("spellings %q got %d sessions, want the burst, 2", tc.spellings, issued)
			}
		})
	}
}

// TestLimiterEvictionKeepsLimited: MaxClients other addresses arriving
// after a client was limited do not hand it a fresh bucket.
func TestLimiterEvictionKeepsLimited(t *testing.T) {
	e := proxied(t, Config{SessionRate: 0.001, SessionBurst: 2, MaxClients: 10})
	for range 2 {
		e.sessionFrom("192.0.2.1")
	}
	if code := e.sessionFrom("192.0.2.1"); code != 429 {
		t.Fatalf("third session: got %d, want 429", code)
	}
	for i := range 100 {
		e.sessionFrom(fmt.Sprintf("198.51.100.%d", i))
	}
	if code := e.sessionFrom("192.0.2.1"); code != 429 {
		t.Errorf("the limited client after 100 others: got %d, want 429 still", code)
	}
}

// TestSessionLimitIPv6PrefixConfigurable: with IPv6Prefix 128 every
// address of a /64 is a client of its own (the blocks that bound the
// clients' sum are then 256 and 65,536 addresses wide: these addresses
// are in blocks of their own).
func TestSessionLimitIPv6PrefixConfigurable(t *testing.T) {
	e := proxied(t, Config{SessionRate: 0.001, SessionBurst: 1, IPv6Prefix: 128})
	for i := range 5 {
		if code := e.sessionFrom(fmt.Sprintf("2001:db8:1:2::%x:1", i+1)); code != 200 {
			t.Errorf("address %d of one /64 with IPv6Prefix 128: got %d, want 200", i, code)
		}
	}
}

// TestLimiterFullSharesOverflow: while every remembered client is still
// limited, new clients share one bucket instead of evicting anyone.
func TestLimiterFullSharesOverflow(t *testing.T) {
	e := proxied(t, Config{SessionRate: 0.001, SessionBurst: 2, MaxClients: 10})
	for i := range 10 {
		e.sessionFrom(fmt.Sprintf("192.0.2.%d", i))
	}
	issued := 0
	for i := range 20 {
		if e.sessionFrom(fmt.Sprintf("198.51.100.%d", i)) == 200 {
			issued++
		}
	}
	if issued != 2 {
		t.Errorf("20 newcomers to a full limiter got %d sessions, want one shared burst, 2", issued)
	}
}

// TestSessionLimitPerIPv6Block: the /64s of one /56 share two networks'
// burst, those of one /48 four, however many /64s a client spreads its
// sessions over; another /48 keeps a bucket of its own.
func TestSessionLimitPerIPv6Block(t *testing.T) {
	for _, tc := range []struct {
		name   string
		client func(i int) string
		want   int
	}{
		{"one /56", func(i int) string { return fmt.Sprintf("2001:db8:1:%x::1", 0x100+i) }, 2 * 5},
		{"one /48, each /64 in a /56 of its own", func(i int) string { return fmt.Sprintf("2001:db8:1:%x00::1", i+1) }, 4 * 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := proxied(t, Config{SessionRate: 0.001, SessionBurst: 5})
			issued := 0
			for i := range 50 {
				if e.sessionFrom(tc.client(i)) == 200 {
					issued++
				}
			}
			if issued != tc.want {
				t.Errorf("50 /64s got %d sessions, want %d", issued, tc.want)
			}
			if code := e.sessionFrom("2001:db8:2::1"); code != 200 {
				t.Errorf("a client of another /48: got %d, want 200", code)
			}
		})
	}
}
