// Package hashcash mints and verifies hashcash version 1 stamps, the proof
// of work carried by every krakend-usage report.
//
// # Format
//
// A stamp is seven colon-separated fields:
//
//	1:BITS:YYMMDD:RESOURCE:EXT:SALT:COUNTER
//
// and is valid when the SHA-1 digest of the whole string starts with at
// least BITS zero bits. The date is in UTC.
//
// # Compatibility
//
// The original krakend-usage client verifies with github.com/catalinc/hashcash,
// which counts leading zero hex digits (ceil(BITS/4)) instead of bits. A
// [Minter] therefore always mints to a whole number of nibbles, so that its
// stamps pass both that check and [Verify] at the claimed number of bits.
//
// # Speed
//
// [Minter] hashes the whole 64-byte blocks before the counter once and lays
// out the final block (the rest of the stamp, the counter and SHA-1's
// padding) by hand, so every attempt is a single block compression. The
// counter is lower-case hex, left-padded with zeros when that keeps it
// inside the final block. On amd64 CPUs with the SHA extensions the
// compression runs in assembly, two candidates interleaved per call; elsewhere
// it goes through crypto/sha1 without allocating. The work is split across
// runtime.GOMAXPROCS workers and stops soon after its context is cancelled.
// Build with the purego tag to leave the assembly out.
package hashcash
