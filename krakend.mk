# The KrakenD CE release the handler plugin is built for. The supported
# releases are named once, in targets/releases (release, Go, lura), each with
# its module pins targets/<release>.mod and .sum; targets/releases.sh reads
# that table for the Makefile, the scripts, .ci/run and the tests.
#
#   make plugin                        # the newest release
#   make plugin KRAKEND_VERSION=2.12.1 # another one
RELEASES := $(shell targets/releases.sh)
KRAKEND_VERSION ?= $(lastword $(RELEASES))
KRAKEND_GO := $(shell targets/releases.sh go '$(KRAKEND_VERSION)' 2>/dev/null)
ifeq ($(KRAKEND_GO),)
$(error KRAKEND_VERSION=$(KRAKEND_VERSION) is not a supported release; targets/releases names $(RELEASES))
endif
# The release's pins: `go build -modfile=$(MODFILE)`.
MODFILE := targets/$(KRAKEND_VERSION).mod
