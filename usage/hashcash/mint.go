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

// testHookWorker, when set by a test, runs at the start of every worker.
var testHookWorker func(start uint64)

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

	hashes atomic.Uint64
}

// Hashes returns how many candidate stamps this Minter has hashed so far,
// over all calls: the measure of its speed, and of the work it was asked
// to do.
func (m *Minter) Hashes() uint64 { return m.hashes.Load() }

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
	return search(ctx, prefix, (bits+3)/4, workers, &m.hashes)
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
func search(ctx context.Context, prefix string, nibbles uint, workers int, hashes *atomic.Uint64) (string, error) {
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
		found   atomic.Bool
		once    sync.Once
		result  string
		wg      sync.WaitGroup
		failure atomic.Pointer[string] // a worker's recovered panic
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(start uint64) {
			defer wg.Done()
			// A worker never takes down the host: its panic stops the
			// search and becomes the error.
			defer func() {
				if p := recover(); p != nil {
					msg := fmt.Sprint(p)
					failure.CompareAndSwap(nil, &msg)
					found.Store(true)
				}
			}()
			if testHookWorker != nil {
				testHookWorker(start)
			}
			b := block
			ctr, ok, tried := work(ctx, &found, state, &b, n, start, nibbles)
			hashes.Add(tried)
			if ok {
				once.Do(func() {
					found.Store(true)
					result = string(msg) + string(ctr)
				})
			}
		}(uint64(w) << 56)
	}
	wg.Wait()
	if p := failure.Load(); p != nil {
		return "", fmt.Errorf("hashcash: recovered from panic in a worker: %s", *p)
	}
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
// sits at block[at:at+counterDigits]). It returns the winning counter, and
// how many candidates it hashed.
func work(ctx context.Context, found *atomic.Bool, state []byte, block *[sha1.BlockSize]byte, at int, start uint64, nibbles uint) ([]byte, bool, uint64) {
	if hasSHANI {
		return workSHANI(ctx, found, state, block, at, start, nibbles)
	}
	h := sha1.New()
	un := h.(encoding.BinaryUnmarshaler)
	ap := h.(encoding.BinaryAppender)
	out := make([]byte, 0, 128)
	ctr := block[at : at+counterDigits]
	setHex(ctr, start)
	var tried uint64
	for {
		for i := 0; i < checkEvery; i++ {
			// Restore the state before the final block, compress it, and
			// read the digest out of the marshalled state: "sha\x01" then
			// the five chaining words big-endian, which after the padded
			// final block are the digest.
			if un.UnmarshalBinary(state) != nil {
				return nil, false, tried
			}
			h.Write(block[:])
			out, _ = ap.AppendBinary(out[:0])
			if hasZeroNibbles(out[4:4+sha1.Size], nibbles) {
				return ctr, true, tried + uint64(i) + 1
			}
			incHex(ctr)
		}
		tried += checkEvery
		if found.Load() || ctx.Err() != nil {
			return nil, false, tried
		}
	}
}

// workSHANI is work with the SHA extensions: two candidates per call,
// compressed in one interleaved instruction stream, with no hash.Hash
// bookkeeping. The second candidate's counter runs 2^52 ahead of the first.
func workSHANI(ctx context.Context, found *atomic.Bool, state []byte, block *[sha1.BlockSize]byte, at int, start uint64, nibbles uint) ([]byte, bool, uint64) {
	var mid [5]uint32
	for i := range mid {
		mid[i] = binary.BigEndian.Uint32(state[4+4*i:]) // after the "sha\x01" magic
	}
	a, b := *block, *block
	ca, cb := a[at:at+counterDigits], b[at:at+counterDigits]
	setHex(ca, start)
	setHex(cb, start+1<<52)
	shift := 64 - 4*nibbles
	var tried uint64
	for {
		for i := 0; i < checkEvery; i += 2 {
			ra, rb := blockSHANI2(&mid, &a, &b) // h0 in the low half, h1 high
			if (ra<<32|ra>>32)>>shift == 0 {
				return ca, true, tried + uint64(i) + 1
			}
			if (rb<<32|rb>>32)>>shift == 0 {
				return cb, true, tried + uint64(i) + 2
			}
			incHex(ca)
			incHex(cb)
		}
		tried += checkEvery
		if found.Load() || ctx.Err() != nil {
			return nil, false, tried
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
