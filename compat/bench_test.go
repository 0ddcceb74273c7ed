package compat

import (
	"crypto/sha1"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/catalinc/hashcash"

	ours "github.com/krakend-usage/krakend-usage/usage/hashcash"
)

// A resource shaped like a real one: a session token and a data hash.
var benchResource = strings.Repeat("t", 43) + "=" + strings.Repeat("h", 43) + "="

// BenchmarkMint compares, in one run, our default minter (all cores and one
// core) with catalinc/hashcash, the original's minter, and two references
// for one core: crypto/sha1 on one-block messages (sha1-block) and its bare
// compression rate on a long message (sha1-bulk).
// hashes/s counts attempts: catalinc's counter is its attempt count; ours
// counts its own (Minter.Hashes).
func BenchmarkMint(b *testing.B) {
	for _, bits := range []uint{16, 20} {
		b.Run(fmt.Sprintf("bits=%d/ours", bits), func(b *testing.B) {
			benchOurs(b, &ours.Minter{Bits: bits})
		})
		b.Run(fmt.Sprintf("bits=%d/ours-1core", bits), func(b *testing.B) {
			benchOurs(b, &ours.Minter{Bits: bits, Workers: 1})
		})
		b.Run(fmt.Sprintf("bits=%d/catalinc", bits), func(b *testing.B) {
			h := hashcash.New(bits, 40, "")
			var hashes uint64
			for i := 0; i < b.N; i++ {
				s, err := h.Mint(benchResource)
				if err != nil {
					b.Fatal(err)
				}
				n, _ := strconv.ParseUint(s[strings.LastIndexByte(s, ':')+1:], 16, 64)
				hashes += n + 1
			}
			b.ReportMetric(float64(hashes)/b.Elapsed().Seconds(), "hashes/s")
		})
	}
	b.Run("sha1-block", func(b *testing.B) {
		msg := []byte(strings.Repeat("x", 40))
		for i := 0; i < b.N; i++ {
			msg[0] = byte(i)
			sha1.Sum(msg)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "hashes/s")
	})
	// Compression alone: crypto/sha1 over a long message, in blocks per
	// second, without any per-message cost.
	b.Run("sha1-bulk", func(b *testing.B) {
		buf := make([]byte, 64<<10)
		h := sha1.New()
		b.SetBytes(int64(len(buf)))
		for i := 0; i < b.N; i++ {
			h.Write(buf)
		}
		b.ReportMetric(float64(b.N)*float64(len(buf)/sha1.BlockSize)/b.Elapsed().Seconds(), "blocks/s")
	})
}

func benchOurs(b *testing.B, m *ours.Minter) {
	for i := 0; i < b.N; i++ {
		if _, err := m.Mint(benchResource); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(m.Hashes())/b.Elapsed().Seconds(), "hashes/s")
}
