package collector

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/krakend-usage/krakend-usage/collector/store/sqlite"
)

// serveOn runs Serve for a collector of cfg on a loopback port and
// returns the server and its address; it is shut down when the test ends.
func serveOn(t *testing.T, cfg Config) (*Server, string) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "usage.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg.Secret, cfg.Bits, cfg.Logger = testKey, testBits, slog.New(slog.DiscardHandler)
	srv, err := New(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve after Shutdown: got %v, want http.ErrServerClosed", err)
		}
	})
	return srv, ln.Addr().String()
}

// healthzFrom asks /healthz on a new connection from the loopback address
// ip and returns the status, or -1 when the connection is closed unanswered.
func healthzFrom(t *testing.T, ip net.IP, addr string) int {
	t.Helper()
	c, err := dialFrom(ip).Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * ReadHeaderTimeout))
	fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return -1
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestServeLimitsConnectionsPerNetwork: a program that only calls Serve
// gets the per-network connection cap: past it a client network's new
// connection is closed unanswered while another network is served; with
// MaxConns negative it is served.
func TestServeLimitsConnectionsPerNetwork(t *testing.T) {
	greedy, other := net.IPv4(127, 0, 4, 1), net.IPv4(127, 0, 4, 2)
	for _, tc := range []struct {
		name     string
		cfg      Config
		held     int
		wantNext int
	}{
		{"default limits", Config{MaxConns: MinMaxConns}, 8, -1}, // MaxClientConns: at least 8
		{"opted out", Config{MaxConns: -1}, 8, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, addr := serveOn(t, tc.cfg)
			for range tc.held {
				c, err := dialFrom(greedy).Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
			}
			if got := healthzFrom(t, greedy, addr); got != tc.wantNext {
				t.Errorf("one more connection of a network holding %d: got %d, want %d (-1: closed unanswered)", tc.held, got, tc.wantNext)
			}
			if got := healthzFrom(t, other, addr); got != 200 {
				t.Errorf("another network meanwhile: got %d, want 200", got)
			}
		})
	}
}

func TestConnectionLimitConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg   Config
		field string
	}{
		{Config{MaxConns: MinMaxConns - 1}, "MaxConns"},
		{Config{MaxConns: 100, MaxClientConns: -1}, "MaxClientConns"},
	} {
		tc.cfg.Secret = testKey
		_, err := New(nil, tc.cfg)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != tc.field {
			t.Errorf("%+v: got %v, want a ConfigError naming %s", tc.cfg, err, tc.field)
		}
	}
	for _, cfg := range []Config{{}, {MaxConns: -1}, {MaxConns: 100, MaxClientConns: 500}} {
		cfg.Secret = testKey
		if _, err := New(nil, cfg); err != nil {
			t.Errorf("MaxConns %d, MaxClientConns %d: %v", cfg.MaxConns, cfg.MaxClientConns, err)
		}
	}
}
