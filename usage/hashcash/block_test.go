package hashcash

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding"
	"encoding/binary"
	"testing"
	"time"
)

// TestBlockSHANI compares the interleaved compressions against crypto/sha1 on random
// states and blocks.
func TestBlockSHANI(t *testing.T) {
	if !hasSHANI {
		t.Skip("CPU without SHA extensions: the portable path is used")
	}
	for i := 0; i < 1000; i++ {
		prefix := make([]byte, 64*(1+i%3))
		rand.Read(prefix)
		var block [64]byte
		rand.Read(block[:])
		h := sha1.New()
		h.Write(prefix)
		state, _ := h.(encoding.BinaryMarshaler).MarshalBinary()
		var mid [5]uint32
		for j := range mid {
			mid[j] = binary.BigEndian.Uint32(state[4+4*j:])
		}
		h.Write(block[:])
		after, _ := h.(encoding.BinaryMarshaler).MarshalBinary()
		want := uint64(binary.BigEndian.Uint32(after[4:])) | uint64(binary.BigEndian.Uint32(after[8:]))<<32
		var other [64]byte
		rand.Read(other[:])
		h2 := sha1.New()
		h2.Write(prefix)
		h2.Write(other[:])
		after2, _ := h2.(encoding.BinaryMarshaler).MarshalBinary()
		want2 := uint64(binary.BigEndian.Uint32(after2[4:])) | uint64(binary.BigEndian.Uint32(after2[8:]))<<32
		if a, b := blockSHANI2(&mid, &block, &other); a != want || b != want2 {
			t.Fatalf("blockSHANI2 = %016x %016x, want %016x %016x", a, b, want, want2)
		}
	}
}

// TestPortableMint runs the crypto/sha1 path that CPUs without the SHA
// extensions take.
func TestPortableMint(t *testing.T) {
	saved := hasSHANI
	hasSHANI = false
	defer func() { hasSHANI = saved }()
	for _, bits := range []uint{4, 13, 16} {
		s, err := (&Minter{Bits: bits, Now: func() time.Time { return day }}).Mint("tok")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Verify(s, "tok", bits, day); err != nil || LeadingZeroBits(s) < int((bits+3)/4*4) {
			t.Fatalf("portable %d-bit stamp %q: %v", bits, s, err)
		}
	}
}
