package usagetest

import "testing"

// TestFreePortOutsideEphemeralRange: the ports handed out are distinct and
// lie below the kernel's ephemeral range, where no listener on port 0 can
// take one while a gateway restarts on it.
func TestFreePortOutsideEphemeralRange(t *testing.T) {
	lo, hi := fixedPortRange()
	if hi <= lo {
		t.Skip("the kernel's ephemeral port range is not known here (/proc/sys/net/ipv4/ip_local_port_range)")
	}
	seen := map[int]bool{}
	for range 200 {
		p := FreePort(t)
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		if p < lo || p >= hi {
			t.Fatalf("port %d outside [%d, %d), below the ephemeral range", p, lo, hi)
		}
		seen[p] = true
	}
}
