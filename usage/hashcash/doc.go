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
// [Minter] hashes the fixed part of the stamp once, keeps the SHA-1 state
// and, for every attempt, only hashes the final 64-byte block that holds the
// counter. The counter is lower-case hex, left-padded with zeros when that
// keeps it inside a single block. The work is split across
// runtime.GOMAXPROCS workers and can be cancelled with a context.
package hashcash
