package usagetest

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"testing"
)

// ports are the ports FreePort handed out in this test binary.
var (
	portsMu sync.Mutex
	ports   = map[int]bool{}
)

// FreePort returns a loopback port nobody listens on at the moment, and
// that it has not returned before in this test binary: parallel tests
// that each start a gateway between choosing its port and binding it get
// different ones. The port lies below the kernel's ephemeral range where
// it can, so that no listener on port 0 (a test collector, an upstream)
// takes it while a gateway restarts on it.
//
// It is for a program under test that must be told its port before it
// listens (a gateway's config, a flag), and may restart on it.
func FreePort(t testing.TB) int {
	t.Helper()
	if lo, hi := fixedPortRange(); hi > lo {
		n := hi - lo
		start := rand.IntN(n)
		for i := range n {
			if p := lo + (start+i)%n; claimPort(p) {
				return p
			}
		}
	}
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		portsMu.Lock()
		fresh := !ports[p]
		ports[p] = true
		portsMu.Unlock()
		if fresh {
			return p
		}
	}
	t.Fatal("no loopback port that was not handed out already")
	return 0
}

// fixedPortRange is [lo, hi): up to 10,000 ports just below the kernel's
// ephemeral range (net.ipv4.ip_local_port_range), or an empty range where
// that is unknown or starts too low.
func fixedPortRange() (lo, hi int) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0, 0
	}
	var first, last int
	if _, err := fmt.Sscan(string(b), &first, &last); err != nil || first < 12000 {
		return 0, 0
	}
	return max(first-10000, 10000), first
}

// claimPort reports whether p was free on loopback and not handed out
// before, and marks it handed out.
func claimPort(p int) bool {
	portsMu.Lock()
	defer portsMu.Unlock()
	if ports[p] {
		return false
	}
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
	if err != nil {
		return false
	}
	l.Close()
	ports[p] = true
	return true
}
