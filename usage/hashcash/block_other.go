//go:build !amd64 || purego

package hashcash

var hasSHANI = false

func blockSHANI2(h *[5]uint32, a, b *[64]byte) (uint64, uint64) {
	panic("hashcash: no SHA extensions")
}
