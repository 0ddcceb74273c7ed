package hashcash

import (
	"crypto/sha1"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

var day = time.Date(2026, 11, 27, 13, 0, 0, 0, time.UTC)

// solve brute-forces a counter so that stamp prefix+counter has at least
// bits leading zero bits, independently of Minter.
func solve(t testing.TB, prefix string, bits int) string {
	t.Helper()
	for i := 0; i < 1<<26; i++ {
		s := fmt.Sprintf("%s%x", prefix, i)
		if LeadingZeroBits(s) >= bits {
			return s
		}
	}
	t.Fatalf("no solution for %q", prefix)
	return ""
}

func TestLeadingZeroBits(t *testing.T) {
	for _, bits := range []int{0, 1, 3, 7, 8, 9, 13, 16} {
		s := solve(t, "1:0:261127:r::salt:", bits)
		sum := sha1.Sum([]byte(s))
		got := LeadingZeroBits(s)
		if got < bits {
			t.Fatalf("LeadingZeroBits(%q) = %d, want >= %d", s, got, bits)
		}
		// The bit right after the counted zeros must be a one.
		if got < 160 && sum[got/8]&(0x80>>(got%8)) == 0 {
			t.Fatalf("LeadingZeroBits(%q) = %d but bit %d is zero too (digest %x)", s, got, got, sum)
		}
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		stamp string
		err   error
	}{
		{"1:20:261127:token+hash::c2FsdA==:00ff", nil},
		{"1:20:261127:res:ext:salt:a", nil},
		{"1:20:261127:res::salt", ErrMalformed},
		{"1:20:261127:res::salt:1:2", ErrMalformed},
		{"0:20:261127:res::salt:1", ErrVersion},
		{"2:20:261127:res::salt:1", ErrVersion},
		{"x:20:261127:res::salt:1", ErrMalformed},
		{"1:-1:261127:res::salt:1", ErrMalformed},
		{"1:abc:261127:res::salt:1", ErrMalformed},
		{"1:161:261127:res::salt:1", ErrMalformed},
		{"1:20:2611:res::salt:1", ErrMalformed},
		{"1:20:261327:res::salt:1", ErrMalformed},
		{"1:20:26112a:res::salt:1", ErrMalformed},
		{"1:20:261127:res::salt:", ErrMalformed},
		{"1:20:261127:re s::salt:1", ErrMalformed},
		{"1:20:261127:res::sa\x00lt:1", ErrMalformed},
		{"1:20:261127:" + strings.Repeat("r", MaxStampLen) + "::salt:1", ErrMalformed},
		{"", ErrMalformed},
	}
	for _, tt := range tests {
		s, err := Parse(tt.stamp)
		if !errors.Is(err, tt.err) {
			t.Errorf("Parse(%.40q) error = %v, want %v", tt.stamp, err, tt.err)
			continue
		}
		if err == nil && s.String() != tt.stamp {
			t.Errorf("Parse(%q).String() = %q", tt.stamp, s.String())
		}
	}
	s, err := Parse("1:20:261127:res:ext:salt:0a")
	if err != nil {
		t.Fatal(err)
	}
	want := Stamp{Version: 1, Bits: 20, Date: time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC),
		Resource: "res", Ext: "ext", Salt: "salt", Counter: "0a", raw: s.raw}
	if s != want {
		t.Errorf("Parse fields = %+v, want %+v", s, want)
	}
}

func TestVerify(t *testing.T) {
	const res = "tokenHASH"
	stamp := func(bits int, date, resource string, work int) string {
		return solve(t, fmt.Sprintf("1:%d:%s:%s::salt:", bits, date, resource), work)
	}
	good := stamp(12, "261127", res, 12)
	tests := []struct {
		name  string
		stamp string
		bits  uint
		now   time.Time
		err   error
	}{
		{"valid", good, 12, day, nil},
		{"valid at fewer required bits", good, 8, day, nil},
		{"claims fewer bits than required", good, 16, day, ErrWeak},
		{"yesterday", stamp(8, "261126", res, 8), 8, day, nil},
		{"tomorrow", stamp(8, "261128", res, 8), 8, day, nil},
		{"two days ago", stamp(8, "261125", res, 8), 8, day, ErrDate},
		{"two days ahead", stamp(8, "261129", res, 8), 8, day, ErrDate},
		{"date checked in UTC", good, 8, time.Date(2026, 11, 28, 23, 30, 0, 0, time.FixedZone("X", -2*3600)), ErrDate},
		{"other resource", stamp(8, "261127", "tokenOTHER", 8), 8, day, ErrResource},
		{"resource prefix only", stamp(8, "261127", "token", 8), 8, day, ErrResource},
		{"claims more than it has", strings.Replace(stamp(8, "261127", res, 8), "1:8:", "1:30:", 1), 8, day, ErrInsufficient},
		{"malformed", "1:8:261127:" + res + "::salt", 8, day, ErrMalformed},
		{"version 0", "0:8:261127:" + res + "::salt:1", 8, day, ErrVersion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Verify(tt.stamp, res, tt.bits, tt.now)
			if !errors.Is(err, tt.err) {
				t.Fatalf("Verify(%q) error = %v, want %v", tt.stamp, err, tt.err)
			}
		})
	}
}

// TestVerifyCountsBitsNotNibbles: a digest with 13 zero bits satisfies a
// 13-bit claim even though it has only three zero hex digits.
func TestVerifyCountsBitsNotNibbles(t *testing.T) {
	for i := 0; ; i++ {
		s := solve(t, fmt.Sprintf("1:13:261127:r::s%d:", i), 13)
		if LeadingZeroBits(s) > 15 {
			continue // want exactly 13..15 bits: not a whole fourth nibble
		}
		if _, err := Verify(s, "r", 13, day); err != nil {
			t.Fatalf("Verify(%q) = %v, want nil (%d zero bits)", s, err, LeadingZeroBits(s))
		}
		return
	}
}
