package collector

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
)

// TestIPv6BlocksShareConnections: the /64s of one IPv6 /48 hold no more
// connections between them than four networks' shares, however many /64s
// they are, while a network elsewhere is admitted.
func TestIPv6BlocksShareConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	l := newFairListener(ln, 1024, 256)
	// The client network of each connection, by its address as the
	// listener sees it: the test says which /64 each one comes from.
	var mu sync.Mutex
	nets := map[string]netip.Prefix{}
	l.network = func(remote string) (netip.Prefix, bool, bool) {
		mu.Lock()
		defer mu.Unlock()
		p, ok := nets[remote]
		return p, false, ok
	}
	from := func(p netip.Prefix) bool {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		mu.Lock()
		nets[c.LocalAddr().String()] = p
		mu.Unlock()
		sc, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		fc := l.admit(sc)
		if fc != nil {
			t.Cleanup(func() { fc.Close() })
		}
		return fc != nil
	}
	admitted := 0
	for i := range 100 {
		p := netip.MustParsePrefix(fmt.Sprintf("2001:db8:1:%x::/64", i))
		for range 8 {
			if from(p) {
				admitted++
			}
		}
	}
	share := l.share(netip.MustParsePrefix("2001:db8:1::/64"))
	if admitted > 4*share {
		t.Errorf("100 /64s of one /48, 8 connections each: %d admitted, want at most 4 shares (%d)", admitted, 4*share)
	}
	if !from(netip.MustParsePrefix("2001:db8:2::/64")) || !from(netip.MustParsePrefix("192.0.2.1/32")) {
		t.Error("a network of another /48, and an IPv4 one, refused meanwhile")
	}
	t.Logf("100 /64s of one /48, 8 connections each: %d admitted (a network's share: %d)", admitted, share)
}
