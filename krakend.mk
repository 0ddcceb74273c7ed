# The KrakenD CE release the handler plugin is built for. The supported
# releases are named once, in targets/releases (release, Go, lura), each with
# its module pins targets/<release>.mod and .sum; this file reads that table
# for the Makefile, as target_test.go does for the tests.
#
#   make plugin                        # the newest release
#   make plugin KRAKEND_VERSION=2.12.1 # another one
RELEASES := $(shell awk '$$1 ~ /^[0-9]/ { print $$1 }' targets/releases)
KRAKEND_VERSION ?= $(lastword $(RELEASES))
KRAKEND_GO := $(shell awk -v r='$(KRAKEND_VERSION)' '$$1 == r { print $$2 }' targets/releases)
ifeq ($(KRAKEND_GO),)
$(error KRAKEND_VERSION=$(KRAKEND_VERSION) is not a supported release; targets/releases names $(RELEASES))
endif
# The release's pins: `go build -modfile=$(MODFILE)`.
MODFILE := targets/$(KRAKEND_VERSION).mod
