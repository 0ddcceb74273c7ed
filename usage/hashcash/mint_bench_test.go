package hashcash

import (
	"context"
	"crypto/sha1"
	"encoding"
	"strings"
	"sync/atomic"
	"testing"
)

// BenchmarkMint reports the default Minter's speed at 20 bits: ns per
// stamp, and hashes per second over every attempt made.
func BenchmarkMint(b *testing.B) {
	resource := strings.Repeat("t", 44) + strings.Repeat("h", 44)
	for _, w := range []int{1, 0} {
		name := "workers=all"
		if w == 1 {
			name = "workers=1"
		}
		b.Run(name, func(b *testing.B) {
			m := &Minter{Bits: 20, Workers: w}
			for i := 0; i < b.N; i++ {
				if _, err := m.Mint(resource); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(m.Hashes())/b.Elapsed().Seconds(), "hashes/s")
		})
	}
}

// BenchmarkAttempt measures one worker's inner loop, SHA extensions or
// portable, without stopping at a solution.
func BenchmarkAttempt(b *testing.B) {
	for _, shani := range []bool{true, false} {
		name := "portable"
		if shani {
			name = "shani"
			if !hasSHANI {
				continue
			}
		}
		b.Run(name, func(b *testing.B) {
			saved := hasSHANI
			hasSHANI = shani
			defer func() { hasSHANI = saved }()
			var found atomic.Bool
			found.Store(true) // stop after one round of checkEvery attempts
			state, _ := sha1.New().(encoding.BinaryMarshaler).MarshalBinary()
			var block [sha1.BlockSize]byte
			n := uint64(0)
			for n < uint64(b.N) {
				_, _, tried := work(context.Background(), &found, state, &block, 0, 0, 16)
				n += tried
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "hashes/s")
		})
	}
}

// BenchmarkSHA1Block is sha1.Sum of a message that fits one block: the
// rate of crypto/sha1 one message at a time.
func BenchmarkSHA1Block(b *testing.B) {
	msg := make([]byte, 40)
	for i := 0; i < b.N; i++ {
		msg[0] = byte(i)
		sha1.Sum(msg)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "hashes/s")
}
