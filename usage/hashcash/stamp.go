package hashcash

import (
	"crypto/sha1"
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// DateFormat is the layout of the stamp's date field (YYMMDD, UTC).
const DateFormat = "060102"

// MaxStampLen bounds the stamps Parse accepts. A krakend-usage resource is a
// session token plus a 44-character hash, far below this.
const MaxStampLen = 4096

// Errors returned by [Parse] and [Verify]. Each verification failure wraps
// exactly one of them, so a server can count rejections by reason.
var (
	// ErrMalformed: not seven fields, a non-numeric bit count, a bad date, a
	// field with characters that cannot appear in a stamp.
	ErrMalformed = errors.New("hashcash: malformed stamp")
	// ErrVersion: the version field is not 1.
	ErrVersion = errors.New("hashcash: unsupported version")
	// ErrWeak: the stamp claims fewer bits than required.
	ErrWeak = errors.New("hashcash: stamp claims too few bits")
	// ErrDate: the stamp's date is outside the accepted window.
	ErrDate = errors.New("hashcash: stamp date out of range")
	// ErrResource: the stamp was minted for another resource.
	ErrResource = errors.New("hashcash: resource mismatch")
	// ErrInsufficient: the digest has fewer leading zero bits than the stamp claims.
	ErrInsufficient = errors.New("hashcash: not enough leading zero bits")
)

// Stamp is a parsed hashcash version 1 stamp.
type Stamp struct {
	Version  int
	Bits     uint
	Date     time.Time // midnight UTC of the stamp's date
	Resource string
	Ext      string
	Salt     string
	Counter  string

	raw string
}

// String returns the stamp exactly as it was parsed.
func (s Stamp) String() string { return s.raw }

// ZeroBits returns the number of leading zero bits of the stamp's SHA-1 digest.
func (s Stamp) ZeroBits() int { return LeadingZeroBits(s.raw) }

// LeadingZeroBits returns the number of leading zero bits of the SHA-1
// digest of stamp.
func LeadingZeroBits(stamp string) int {
	sum := sha1.Sum([]byte(stamp))
	return zeroBits(sum[:])
}

func zeroBits(sum []byte) int {
	n := 0
	for _, b := range sum {
		if b != 0 {
			return n + bits.LeadingZeros8(b)
		}
		n += 8
	}
	return n
}

// Parse splits a stamp into its fields and checks their syntax. It does not
// check the proof of work; see [Verify].
func Parse(stamp string) (Stamp, error) {
	if len(stamp) > MaxStampLen {
		return Stamp{}, fmt.Errorf("%w: longer than %d bytes", ErrMalformed, MaxStampLen)
	}
	f := strings.Split(stamp, ":")
	if len(f) != 7 {
		return Stamp{}, fmt.Errorf("%w: %d fields, want 7", ErrMalformed, len(f))
	}
	if f[0] != "1" {
		if _, err := strconv.Atoi(f[0]); err != nil {
			return Stamp{}, fmt.Errorf("%w: version %q", ErrMalformed, f[0])
		}
		return Stamp{}, fmt.Errorf("%w: %q", ErrVersion, f[0])
	}
	b, err := strconv.ParseUint(f[1], 10, 8)
	if err != nil || b > 160 || len(f[1]) > 3 {
		return Stamp{}, fmt.Errorf("%w: bits %q", ErrMalformed, f[1])
	}
	if len(f[2]) != len(DateFormat) {
		return Stamp{}, fmt.Errorf("%w: date %q", ErrMalformed, f[2])
	}
	date, err := time.Parse(DateFormat, f[2])
	if err != nil {
		return Stamp{}, fmt.Errorf("%w: date %q", ErrMalformed, f[2])
	}
	for i, name := range [...]string{3: "resource", 4: "extension", 5: "salt", 6: "counter"} {
		if i < 3 {
			continue
		}
		if !printable(f[i]) {
			return Stamp{}, fmt.Errorf("%w: %s has non-printable characters", ErrMalformed, name)
		}
	}
	if f[6] == "" {
		return Stamp{}, fmt.Errorf("%w: empty counter", ErrMalformed)
	}
	return Stamp{
		Version:  1,
		Bits:     uint(b),
		Date:     date,
		Resource: f[3],
		Ext:      f[4],
		Salt:     f[5],
		Counter:  f[6],
		raw:      stamp,
	}, nil
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// Verify checks that stamp is a version 1 stamp for exactly resource,
// claiming at least bits bits, dated now's UTC date or one day either side,
// and that its digest really has the claimed number of leading zero bits.
// The checks run in that order; the error wraps the sentinel of the first
// one that fails.
func Verify(stamp, resource string, bits uint, now time.Time) (Stamp, error) {
	s, err := Parse(stamp)
	if err != nil {
		return s, err
	}
	if s.Bits < bits {
		return s, fmt.Errorf("%w: claims %d, want at least %d", ErrWeak, s.Bits, bits)
	}
	today := now.UTC().Truncate(24 * time.Hour)
	if d := s.Date.Sub(today); d < -24*time.Hour || d > 24*time.Hour {
		return s, fmt.Errorf("%w: %s, today is %s", ErrDate, s.Date.Format(DateFormat), today.Format(DateFormat))
	}
	if s.Resource != resource {
		return s, ErrResource
	}
	if z := s.ZeroBits(); z < int(s.Bits) {
		return s, fmt.Errorf("%w: %d, claims %d", ErrInsufficient, z, s.Bits)
	}
	return s, nil
}
