package hashcash

import (
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"1:20:261127:tok::salt:00ff",
		"1:20:161203:abc::avJyJVH5PBXhq2Xc:000000000000002fBB",
		"1:::::::", "", "1:20:999999:r::s:c",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		if err != nil {
			return
		}
		if p.String() != s {
			t.Fatalf("round trip: %q != %q", p.String(), s)
		}
		if p.Version != 1 || p.Counter == "" {
			t.Fatalf("accepted %q with version %d counter %q", s, p.Version, p.Counter)
		}
	})
}

func FuzzVerify(f *testing.F) {
	f.Add("1:4:261127:r::salt:0", "r", uint(4))
	f.Add("1:0:261127:r::salt:0", "r", uint(0))
	f.Fuzz(func(t *testing.T, stamp, resource string, bits uint) {
		p, err := Verify(stamp, resource, bits%64, day)
		if err != nil {
			return
		}
		// Anything accepted must meet every rule on its own.
		if p.Resource != resource || p.Bits < bits%64 || LeadingZeroBits(stamp) < int(p.Bits) {
			t.Fatalf("accepted %q for %q at %d bits", stamp, resource, bits%64)
		}
	})
}
