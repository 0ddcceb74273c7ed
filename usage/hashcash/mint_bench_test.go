package hashcash

import (
	"context"
	"crypto/sha1"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
)

// BenchmarkMint reports the default Minter's attempts per second at 20 bits.
// Each op is one whole stamp; hashes/s counts every attempt made.
func BenchmarkMint(b *testing.B) {
	resource := strings.Repeat("t", 36) + strings.Repeat("h", 44)
	for _, w := range []int{1, 0} {
		name := "workers=all"
		if w == 1 {
			name = "workers=1"
		}
		b.Run(name, func(b *testing.B) {
			m := &Minter{Bits: 20, Workers: w}
			workers := w
			if workers == 0 {
				workers = runtime.GOMAXPROCS(0)
			}
			var hashes uint64
			for i := 0; i < b.N; i++ {
				s, err := m.Mint(resource)
				if err != nil {
					b.Fatal(err)
				}
				hashes += attempts(s) * uint64(workers)
			}
			b.ReportMetric(float64(hashes)/b.Elapsed().Seconds(), "hashes/s")
		})
	}
}

// BenchmarkAttempt measures one worker's inner loop without stopping at a
// solution, the figure to compare with BenchmarkSHA1Block.
func BenchmarkAttempt(b *testing.B) {
	var found atomic.Bool
	found.Store(true) // stop after one round of checkEvery attempts
	st := sha1.New()
	state, _ := st.(interface{ MarshalBinary() ([]byte, error) }).MarshalBinary()
	block := make([]byte, sha1.BlockSize)
	b.ResetTimer()
	n := 0
	for n < b.N {
		work(context.Background(), &found, state, block, 0, 0, 40)
		n += checkEvery
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "hashes/s")
}

// BenchmarkSHA1Block is the ceiling: sha1.Sum of a message that fits one block.
func BenchmarkSHA1Block(b *testing.B) {
	msg := make([]byte, 40)
	for i := 0; i < b.N; i++ {
		msg[0] = byte(i)
		sha1.Sum(msg)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "hashes/s")
}

// attempts estimates the attempts behind a stamp from its counter: the
// counter's low 56 bits count attempts of one worker, and with several
// workers running in step the total is about workers times that.
func attempts(stamp string) uint64 {
	c := stamp[strings.LastIndexByte(stamp, ':')+1:]
	c = c[len(c)-14:]
	var v uint64
	for _, ch := range c {
		v <<= 4
		if ch >= 'a' {
			v += uint64(ch-'a') + 10
		} else {
			v += uint64(ch - '0')
		}
	}
	return v + 1
}
