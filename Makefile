# Every Go module in the repository: the root (library + gateway extension)
# and the nested ones (usage, lura3, collector, the real-gateway suites of
# e2e, compat tests and benchmarks, the addrelease tool).
MODULES := $(patsubst %/go.mod,%,$(shell find . -name go.mod -not -path './build/*' | sort))
GO      ?= go
BUILD   := build
export GOWORK := off

# KRAKEND_VERSION, KRAKEND_GO, MODFILE: the KrakenD release the plugin is
# built for (default: the newest in targets/releases).
include krakend.mk
# A Go plugin loads only into a gateway built with the same Go release and
# the same version of every shared module: the plugin and the example gateway
# are built with the release's Go and its pins (-modfile).
TARGET_GO := GOTOOLCHAIN=go$(KRAKEND_GO) CGO_ENABLED=1
# Cross-compiling cgo (GOARCH=arm64 on amd64) needs a C compiler for the
# target: the host's gcc cannot assemble runtime/cgo's gcc_arm64.S.
CROSS_CC_arm64 := aarch64-linux-gnu-gcc
ifneq ($(GOARCH),)
ifneq ($(GOARCH),$(shell $(GO) env GOHOSTARCH))
ifeq ($(origin CC),default)
TARGET_GO += CC=$(or $(CROSS_CC_$(GOARCH)),$(error no C cross-compiler known for GOARCH=$(GOARCH): set CC))
endif
endif
endif

# USAGE_GOPROXY_DIR: a local module proxy (a directory laid out as
# GOPROXY=file://… reads it) for the pinned versions the module proxy in use
# refuses; make, like .ci/run, puts it first in GOPROXY. The default is the
# workspace's ../shared/goproxy when it exists; nothing needs it where the
# public proxy serves everything (README, "A local module proxy").
USAGE_GOPROXY_DIR ?= $(wildcard ../shared/goproxy)
ifneq ($(USAGE_GOPROXY_DIR),)
ifeq ($(findstring file://$(abspath $(USAGE_GOPROXY_DIR)),$(GOPROXY)),)
export GOPROXY := file://$(abspath $(USAGE_GOPROXY_DIR)),$(shell $(GO) env GOPROXY)
endif
endif

.PHONY: all help test lint bench plugin plugin-musl plugins check-dist targets check-targets gateway collector krakend-usage binaries dist run clean

all: plugin gateway collector krakend-usage

## help: the targets and what they do
help:
	@awk '/^## [a-z0-9-]+:/ { sub(/^## /, ""); print; next } /^##/ { sub(/^##/, "   "); print }' $(firstword $(MAKEFILE_LIST)) | sed 's/$$(KRAKEND_VERSION)/$(KRAKEND_VERSION)/g'

## test: every module's tests, race detector on (11 minutes on 2 quiet
## cores with every KrakenD binary, image and database ready, up to about 40
## on busy ones; far less without them): a line per package and per slow test as they finish, then
## every skipped test with its reason. One part: make test MODULES=./usage,
## TESTFLAGS='-run TestDryRun' (or go test in that module)
TESTFLAGS ?=
test:
	@[ -n "$$USAGE_TEST_POSTGRES_DSN" ] || echo "note: USAGE_TEST_POSTGRES_DSN is not set: the PostgreSQL tests are skipped (e.g. USAGE_TEST_POSTGRES_DSN='postgres://postgres@127.0.0.1:5432/test?sslmode=disable')"
	@command -v chromium >/dev/null 2>&1 || echo "note: chromium is not installed: the dashboard browser test is skipped (apt-get install chromium)"
	@[ -n "$$KRAKEND_BIN" ] || echo "note: KRAKEND_BIN is not set: the tests in the stock KrakenD $(lastword $(RELEASES)) are skipped (e.g. KRAKEND_BIN=\$$(../shared/krakend-ce/build.sh glibc $(lastword $(RELEASES))))"
	@[ -n "$$KRAKEND_MUSL_BIN" ] || echo "note: KRAKEND_MUSL_BIN is not set: the tests in the musl KrakenD $(lastword $(RELEASES)) (Docker image) are skipped (e.g. KRAKEND_MUSL_BIN=\$$(../shared/krakend-ce/build.sh musl $(lastword $(RELEASES))))"
	@for r in $(filter-out $(lastword $(RELEASES)),$(RELEASES)); do v=$$(echo $$r | tr . _); \
		eval "g=\$${KRAKEND_BIN_$$v:-}; m=\$${KRAKEND_MUSL_BIN_$$v:-}"; \
		[ -n "$$g$$m" ] || echo "note: KRAKEND_BIN_$$v and KRAKEND_MUSL_BIN_$$v are not set: the plugin is not tried in KrakenD $$r"; done
	@[ -n "$$KRAKEND_ARM64_BIN" ] || echo "note: KRAKEND_ARM64_BIN is not set: the arm64 krakend-usage is not run under qemu-user (targets/krakend-arm64.sh glibc $(lastword $(RELEASES)))"
	@[ -n "$$USAGE_TEST_KRAKEND_IMAGE" ] || echo "note: USAGE_TEST_KRAKEND_IMAGE is not set: the container images are not built (e.g. devopsfaith/krakend:$(lastword $(RELEASES)), with podman)"
	@[ -z "$(USAGE_GOPROXY_DIR)" ] || echo "note: modules the default proxy refuses here come from $(USAGE_GOPROXY_DIR) (USAGE_GOPROXY_DIR)"
	@$(GO) build -o $(BUILD)/gotest ./internal/cmd/gotest
	@$(BUILD)/gotest $(MODULES) -- -race -count=1 -timeout 60m $(TESTFLAGS)

## lint: gofmt, go mod tidy, go vet and staticcheck in every module, and
## the release pins up to date (check-targets)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
lint:
	@bad=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$bad" ]; then echo "gofmt needed:"; echo "$$bad"; exit 1; fi
	@set -e; for m in $(MODULES); do \
		echo "==> tidy + vet + staticcheck $$m"; \
		(cd $$m && $(GO) mod tidy -diff && $(GO) vet ./... && $(GO) run $(STATICCHECK) ./...); \
	done
	@$(MAKE) --no-print-directory check-targets

## bench: the benchmarks quoted in BENCHMARKS.md
bench:
	@set -e; for m in $(MODULES); do \
		echo "==> go test -bench $$m"; \
		(cd $$m && $(GO) test -run '^$$' -bench . -benchmem ./...); \
	done

## plugin: the handler plugin for the stock KrakenD $(KRAKEND_VERSION) (Debian/RPM packages, glibc),
## built with this machine's paths (for binaries built here; see plugins)
plugin:
	$(TARGET_GO) $(GO) build -modfile=$(MODFILE) -buildmode=plugin -o $(BUILD)/krakend-usage.so ./cmd/krakend-usage-plugin

## plugin-musl: the handler plugin for KrakenD $(KRAKEND_VERSION) linked against musl (Alpine);
## GOARCH=arm64 cross-compiles it with the specs of Debian's musl-dev:arm64
MUSL_SPECS_arm64 := /usr/lib/aarch64-linux-musl/musl-gcc.specs
MUSL_CC := $(if $(filter arm64,$(GOARCH)),aarch64-linux-gnu-gcc -specs $(MUSL_SPECS_arm64),musl-gcc)
plugin-musl:
ifeq ($(filter arm64,$(GOARCH)),arm64)
	@[ -f $(MUSL_SPECS_arm64) ] || { echo "make plugin-musl: $(MUSL_SPECS_arm64) not found (Debian: dpkg --add-architecture arm64; apt-get update; apt-get install musl-dev:arm64)" >&2; exit 1; }
else
	@command -v musl-gcc >/dev/null || { echo "make plugin-musl: musl-gcc not found (Debian: apt-get install musl-tools)" >&2; exit 1; }
endif
	$(TARGET_GO) CC="$(MUSL_CC)" $(GO) build -modfile=$(MODFILE) -buildmode=plugin -o $(BUILD)/krakend-usage-musl.so ./cmd/krakend-usage-plugin

## plugins: every release's plugins for the published KrakenD binaries and
## images, built in their paths (GOROOT /usr/local/go, GOMODCACHE /go/pkg/mod;
## root, unshare -m): dist/krakend-usage_<release>_linux_<arch>_<libc>.so, SHA256SUMS;
## those this machine lacks a C toolchain for are listed and skipped.
## make dist/krakend-usage_<release>_linux_<arch>_<libc>.so builds that file, or fails.
DIST := dist
plugins:
	@DIST=$(DIST) RELEASES="$(RELEASES)" GO=$(GO) targets/dist.sh
$(DIST)/krakend-usage_%.so: FORCE
	@DIST=$(DIST) GO=$(GO) targets/dist.sh $@
FORCE:

## check-dist: each dist/ file in its release's KrakenD built in the
## images' paths (KRAKEND_CE_PATHS=image; arm64: targets/krakend-arm64.sh,
## run under qemu-aarch64): test-plugin and check-plugin
check-dist:
	@DIST=$(DIST) RELEASES="$(RELEASES)" targets/check-dist.sh

## targets: rewrites every release's pins from the root go.mod (after a
## change there) and the release's go.sum in testdata
targets:
	@$(GO) build -C internal/cmd/addrelease -o $(abspath $(BUILD))/addrelease .
	@set -e; for r in $(RELEASES); do \
		g=$$(targets/releases.sh go $$r); \
		$(BUILD)/addrelease -release $$r -go $$g -sum testdata/krakend-ce-v$$r.go.sum; \
	done

## check-targets: fails when a release's pins are not what make targets
## writes from the root go.mod, that is when a requirement changed there
## without refreshing them; the refreshed pins are left to commit
check-targets:
	@echo "==> release pins (make targets)"
	@$(MAKE) --no-print-directory targets >/dev/null
	@git diff --quiet -- targets testdata || { \
		echo "make check-targets: the release pins were stale; make targets rewrote them, commit these:" >&2; \
		git diff --stat -- targets testdata >&2; exit 1; }

## gateway: the example lura gateway that loads plugins like KrakenD, with
## the pins of KrakenD $(KRAKEND_VERSION); like KrakenD's own build, it stamps
## its version into lura's core.KrakendVersion, which is what the reporter
## sends as "version"
gateway:
	$(TARGET_GO) $(GO) build -modfile=$(MODFILE) -ldflags "-X github.com/luraproject/lura/v2/core.KrakendVersion=$(KRAKEND_VERSION)" -o $(BUILD)/gateway ./examples/gateway

## collector: the usage collector server, its version stamped from git
## (what -version prints)
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
COLLECTOR_VERSION ?= $(VERSION)
collector:
	cd collector && $(GO) build -ldflags "-X main.version=$(COLLECTOR_VERSION)" -o ../$(BUILD)/usage-collector ./cmd/usage-collector

## krakend-usage: the static reporter beside any KrakenD (wrapper, sidecar,
## dry run) for this machine
STATIC_GO := CGO_ENABLED=0 $(GO) build -trimpath -buildvcs=false
krakend-usage:
	$(STATIC_GO) -ldflags "-X main.version=$(VERSION)" -o $(BUILD)/krakend-usage ./cmd/krakend-usage

## binaries: krakend-usage for linux/amd64 and linux/arm64 in dist/,
## reproducible (-trimpath, no cgo, the version from git)
binaries:
	@mkdir -p $(DIST)
	@set -e; for arch in amd64 arm64; do \
		GOOS=linux GOARCH=$$arch $(STATIC_GO) -ldflags "-s -w -X main.version=$(VERSION)" -o $(DIST)/krakend-usage_linux_$$arch ./cmd/krakend-usage; \
		echo "$(DIST)/krakend-usage_linux_$$arch"; \
	done

## collector-dist: usage-collector for each of COLLECTOR_PLATFORMS into
## $(DIST)/usage-collector_<os>_<arch>, static (CGO off), -trimpath, the
## version stamped: the same commit gives the same bytes
COLLECTOR_PLATFORMS ?= linux/amd64 linux/arm64 darwin/arm64
.PHONY: collector-dist
collector-dist:
	@mkdir -p $(DIST)
	@set -e; for p in $(COLLECTOR_PLATFORMS); do \
		out=$(abspath $(DIST))/usage-collector_$${p%/*}_$${p#*/}; echo "==> $$out"; \
		(cd collector && CGO_ENABLED=0 GOOS=$${p%/*} GOARCH=$${p#*/} $(GO) build -trimpath -buildvcs=false \
			-ldflags "-s -w -X main.version=$(COLLECTOR_VERSION)" -o $$out ./cmd/usage-collector); \
	done

## dist: every release file in dist/ (the plugins of every release, the
## krakend-usage binaries, the collector's) and their SHA256SUMS
dist: plugins binaries collector-dist
	@cd $(DIST) && sha256sum $$(ls | grep -v '^SHA256SUMS$$') >SHA256SUMS && echo "$(DIST)/SHA256SUMS"

## clean: removes build/ and dist/
clean:
	rm -rf $(BUILD) $(DIST)

## run: the collector on 127.0.0.1:8090 and a gateway on 127.0.0.1:8080
## reporting to it: the stock KrakenD when KRAKEND_BIN names its binary (the
## plugin is built for its release, or KRAKEND_PLUGIN names the .so to load),
## else the example gateway
ifneq ($(filter run,$(MAKECMDGOALS)),)
# Checked before anything is built: a KRAKEND_BIN set but empty or not a
# KrakenD binary, or a port taken, stops make run with one line.
RUN_CHECK := $(shell BUILD=$(BUILD) examples/run.sh check 2>&1)
ifneq ($(RUN_CHECK),)
$(error $(RUN_CHECK))
endif
RUN_RELEASE := $(if $(KRAKEND_BIN),$(shell examples/run.sh release))
# The plugin and the example gateway are built with the release's pins. When
# the module proxy in use lacks one of them, make run names it, and, for the
# example gateway, builds the release whose pins are the root go.mod's
# (which the public proxy serves) instead.
ifeq ($(and $(KRAKEND_BIN),$(KRAKEND_PLUGIN)),)
RUN_MISSING := $(shell GOPROXY='$(GOPROXY)' GO=$(GO) examples/run.sh missing $(or $(RUN_RELEASE),$(KRAKEND_VERSION)))
endif
ifneq ($(RUN_MISSING),)
ifneq ($(RUN_RELEASE),)
$(error make run: the module proxy (GOPROXY=$(GOPROXY)) does not serve $(RUN_MISSING), a pin of KrakenD $(RUN_RELEASE)'s plugin (targets/$(RUN_RELEASE).mod): put a proxy that has it first (USAGE_GOPROXY_DIR, see README), or name a .so built elsewhere with KRAKEND_PLUGIN)
endif
RUN_FALLBACK := $(shell targets/releases.sh with-lura $$(awk '$$1 == "github.com/luraproject/lura/v2" { print $$2 }' go.mod))
$(info make run: the module proxy does not serve $(RUN_MISSING), a pin of KrakenD $(KRAKEND_VERSION); building the example gateway and its plugin as KrakenD $(RUN_FALLBACK), whose pins are the root go.mod's)
endif
endif
run:
	@$(MAKE) --no-print-directory $(if $(KRAKEND_PLUGIN),,plugin) collector $(if $(RUN_RELEASE),KRAKEND_VERSION=$(RUN_RELEASE),$(if $(RUN_FALLBACK),KRAKEND_VERSION=$(RUN_FALLBACK)) gateway)
	@BUILD=$(BUILD) examples/run.sh
