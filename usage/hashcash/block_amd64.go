//go:build !purego

package hashcash

func cpuid(leaf, sub uint32) (eax, ebx, ecx, edx uint32)

// hasSHANI reports whether the CPU has the SHA extensions and the SSE
// levels blockSHANI2 uses (SSSE3 for PSHUFB, SSE4.1 for PINSRD).
var hasSHANI = func() bool {
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return false
	}
	_, _, ecx1, _ := cpuid(1, 0)
	_, ebx7, _, _ := cpuid(7, 0)
	ssse3, sse41, sha := ecx1&(1<<9) != 0, ecx1&(1<<19) != 0, ebx7&(1<<29) != 0
	return ssse3 && sse41 && sha
}()

// blockSHANI2 compresses blocks a and b, each from chaining state h (left
// unchanged), with the SHA extensions, interleaving the two streams. Each
// result holds the first two words of the new state: h0 in the low half,
// h1 in the high half. Implemented in block_amd64.s.
//
//go:noescape
func blockSHANI2(h *[5]uint32, a, b *[64]byte) (ra, rb uint64)
