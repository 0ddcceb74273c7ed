package hashcash_test

import (
	"fmt"
	"time"

	"github.com/krakend-usage/krakend-usage/usage/hashcash"
)

// Minting a stamp for a resource and verifying it the way a collector does.
func Example() {
	resource := "session-token" + "data-hash"
	stamp, err := (&hashcash.Minter{Bits: 16}).Mint(resource)
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := hashcash.Verify(stamp, resource, 16, time.Now())
	fmt.Println(err, s.Bits, s.ZeroBits() >= 16)

	_, err = hashcash.Verify(stamp, "another-resource", 16, time.Now())
	fmt.Println(err)
	// Output:
	// <nil> 16 true
	// hashcash: resource mismatch
}
