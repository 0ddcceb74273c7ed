# The stock KrakenD release the handler plugin targets, named once.
# The Makefile includes this file; the tests read it (target_test.go); the
# copy of that release's go.sum is testdata/krakend-ce-v$(KRAKEND_VERSION).go.sum.
# To retarget another release, see docs/gateway.md ("Another KrakenD release").
KRAKEND_VERSION := 2.13.2
KRAKEND_GO := 1.25.8
