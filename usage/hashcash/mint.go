package hashcash

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of a zero [Minter], the same as krakend-usage v2.
const (
	DefaultBits      uint = 20
	DefaultSaltChars uint = 40
	// MaxBits is the most a Minter will mint. Every extra bit doubles the
	// expected work: 28 bits is about 2^28 hashes, seconds on one core.
	MaxBits uint = 40
)

// counterDigits is the width of the varying part of the counter: 16 hex
// digits, a 64-bit counter that never runs out.
const counterDigits = 16

// checkEvery is how many attempts a worker makes between looks at the
// context and at the other workers: a fraction of a millisecond.
const checkEvery = 1 << 12

// ErrTooHard is returned for a Minter asked to mint more than MaxBits bits.
var ErrTooHard = errors.New("hashcash: too many bits to mint")

// Minter mints hashcash stamps. The zero value mints 20-bit stamps with a
// 40-character salt on every available core. A Minter is safe for
// concurrent use.
type Minter struct {
	// Bits is the number of leading zero bits claimed by the stamp. The
	// digest always gets a whole number of zero hex digits (ceil(Bits/4)),
	// so stamps also pass nibble-counting verifiers.
	Bits uint
	// SaltChars is the length of the random salt.
	SaltChars uint
	// Ext is the extension field, empty for krakend-usage. It must not
	// contain ':'.
	Ext string
	// Workers is the number of goroutines searching for a counter.
	// Zero means runtime.GOMAXPROCS(0).
	Workers int
	// Now returns the minting time; nil means time.Now. The stamp is dated
	// in UTC.
	Now func() time.Time
}

// New returns a Minter with the given bits and salt length (zero means the default).
func New(bits, saltChars uint) *Minter {
	return &Minter{Bits: bits, SaltChars: saltChars}
}

// Mint returns a stamp for resource. It implements usage.Minter.
func (m *Minter) Mint(resource string) (string, error) {
	return m.MintContext(context.Background(), resource)
}

// MintContext is Mint that gives up, with the context's error, soon after
// ctx is done. No goroutine outlives the call.
func (m *Minter) MintContext(ctx context.Context, resource string) (string, error) {
	bits, saltChars := m.Bits, m.SaltChars
	if bits == 0 {
		bits = DefaultBits
	}
	if saltChars == 0 {
		saltChars = DefaultSaltChars
	}
	if bits > MaxBits {
		return "", fmt.Errorf("%w: %d > %d", ErrTooHard, bits, MaxBits)
	}
	for _, c := range []byte(resource + m.Ext) {
		if c == ':' {
			return "", fmt.Errorf("%w: ':' in resource or extension", ErrMalformed)
		}
	}
	salt, err := newSalt(saltChars)
	if err != nil {
		return "", err
	}
	now := time.Now
	if m.Now != nil {
		now = m.Now
	}
	prefix := fmt.Sprintf("1:%d:%s:%s:%s:%s:", bits, now().UTC().Format(DateFormat), resource, m.Ext, salt)
	workers := m.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if workers > 256 {
		workers = 256
	}
	return search(ctx, prefix, (bits+3)/4, workers)
}

func newSalt(n uint) (string, error) {
	buf := make([]byte, n)
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("hashcash: salt: %w", err)
	}
	return base64.StdEncoding.EncodeToString(buf)[:n], nil
}

// search runs workers over disjoint counter ranges until one finds a digest
// with nibbles leading zero hex digits.
//
// The stamp is split into the whole 64-byte blocks before the counter,
// hashed once, and one final block holding the rest of the stamp, the
// counter and SHA-1's padding, laid out here by hand. Every attempt then
// restores the saved state, compresses that single block and reads the
// digest straight out of the hash state: one block compression and no
// allocation per attempt.
func search(ctx context.Context, prefix string, nibbles uint, workers int) (string, error) {
	head := len(prefix) % sha1.BlockSize
	pad := 0
	if head+counterDigits > sha1.BlockSize-9 {
		// Pad the counter with zeros so its digits start a new block,
		// leaving room for the 0x80 byte and the 8-byte length.
		pad = sha1.BlockSize - head
	}
	full := len(prefix) + pad - (head+pad)%sha1.BlockSize // bytes hashed once
	msg := []byte(prefix + strings.Repeat("0", pad))
	tail := msg[full:] // before the counter, inside the final block
	bitLen := uint64(len(msg)+counterDigits) * 8

	var block [sha1.BlockSize]byte
	n := copy(block[:], tail)
	block[n+counterDigits] = 0x80
	binary.BigEndian.PutUint64(block[sha1.BlockSize-8:], bitLen)

	base := sha1.New()
	base.Write(msg[:full])
	state, err := base.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return "", fmt.Errorf("hashcash: %w", err)
	}

	var (
		found  atomic.Bool
		once   sync.Once
		result string
		wg     sync.WaitGroup
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(start uint64) {
			defer wg.Done()
			b := block
			if ctr, ok := work(ctx, &found, state, b[:], n, start, nibbles); ok {
				once.Do(func() {
					found.Store(true)
					result = string(msg) + string(ctr)
				})
			}
		}(uint64(w) << 56)
	}
	wg.Wait()
	if result == "" {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		return "", errors.New("hashcash: minting failed")
	}
	if LeadingZeroBits(result) < int(nibbles*4) {
		// Only possible if the hash state layout changed under us.
		return "", fmt.Errorf("hashcash: internal error: minted stamp %q does not verify", result)
	}
	return result, nil
}

// work tries counters from start upwards in the final block (the counter
// sits at block[at:at+counterDigits]) and returns the winning counter.
func work(ctx context.Context, found *atomic.Bool, state, block []byte, at int, start uint64, nibbles uint) ([]byte, bool) {
	h := sha1.New()
	un := h.(encoding.BinaryUnmarshaler)
	ap, ok := h.(encoding.BinaryAppender)
	if !ok {
		return nil, false
	}
	ctr := block[at : at+counterDigits]
	setHex(ctr, start)
	out := make([]byte, 0, 128)
	for {
		for i := 0; i < checkEvery; i++ {
			if err := un.UnmarshalBinary(state); err != nil {
				return nil, false
			}
			h.Write(block)
			// The marshalled state is "sha\x01" then the five chaining
			// words big-endian: after the padded final block, the digest.
			out, _ = ap.AppendBinary(out[:0])
			if hasZeroNibbles(out[4:4+sha1.Size], nibbles) {
				return ctr, true
			}
			incHex(ctr)
		}
		if found.Load() || ctx.Err() != nil {
			return nil, false
		}
	}
}

func hasZeroNibbles(sum []byte, n uint) bool {
	i := uint(0)
	for ; i+2 <= n; i += 2 {
		if sum[i/2] != 0 {
			return false
		}
	}
	return i == n || sum[i/2]&0xf0 == 0
}

const hexDigits = "0123456789abcdef"

func setHex(dst []byte, v uint64) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = hexDigits[v&0xf]
		v >>= 4
	}
}

// incHex adds one to a fixed-width lower-case hex number in place.
func incHex(d []byte) {
	for i := len(d) - 1; i >= 0; i-- {
		switch d[i] {
		case '9':
			d[i] = 'a'
			return
		case 'f':
			d[i] = '0'
		default:
			d[i]++
			return
		}
	}
}
