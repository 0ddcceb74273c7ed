# Every Go module in the repository: the root (library + gateway extension)
# and the nested ones (collector, compat tests and benchmarks).
MODULES := $(patsubst %/go.mod,%,$(shell find . -name go.mod -not -path './build/*' | sort))
GO      ?= go
BUILD   := build
export GOWORK := off

# KRAKEND_VERSION and KRAKEND_GO: the KrakenD release the plugin targets.
include krakend.mk
# A Go plugin loads only into a gateway built with the same Go release:
# the plugin and the example gateway are built with KrakenD's.
TARGET_GO := GOTOOLCHAIN=go$(KRAKEND_GO) CGO_ENABLED=1

.PHONY: all test lint bench plugin plugin-musl gateway collector run clean

all: plugin gateway collector

## test: every module, race detector on
test:
	@[ -n "$$USAGE_TEST_POSTGRES_DSN" ] || echo "note: USAGE_TEST_POSTGRES_DSN is not set: the PostgreSQL tests are skipped (e.g. USAGE_TEST_POSTGRES_DSN='postgres://postgres@127.0.0.1:5432/test?sslmode=disable')"
	@command -v chromium >/dev/null 2>&1 || echo "note: chromium is not installed: the dashboard browser test is skipped (apt-get install chromium)"
	@[ -n "$$KRAKEND_BIN" ] || echo "note: KRAKEND_BIN is not set: the tests in the stock KrakenD are skipped (e.g. KRAKEND_BIN=\$$(../shared/krakend-ce/build.sh))"
	@[ -n "$$KRAKEND_MUSL_BIN" ] || echo "note: KRAKEND_MUSL_BIN is not set: the tests in the musl KrakenD (Docker image) are skipped (e.g. KRAKEND_MUSL_BIN=\$$(../shared/krakend-ce/build.sh musl))"
	@set -e; for m in $(MODULES); do \
		echo "==> go test -race $$m"; \
		(cd $$m && $(GO) test -race -count=1 ./...); \
	done

## lint: gofmt, go mod tidy, go vet and staticcheck in every module
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
lint:
	@bad=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$bad" ]; then echo "gofmt needed:"; echo "$$bad"; exit 1; fi
	@set -e; for m in $(MODULES); do \
		echo "==> tidy + vet + staticcheck $$m"; \
		(cd $$m && $(GO) mod tidy -diff && $(GO) vet ./... && $(GO) run $(STATICCHECK) ./...); \
	done

## bench: the benchmarks quoted in BENCHMARKS.md
bench:
	@set -e; for m in $(MODULES); do \
		echo "==> go test -bench $$m"; \
		(cd $$m && $(GO) test -run '^$$' -bench . -benchmem ./...); \
	done

## plugin: the handler plugin for the stock KrakenD $(KRAKEND_VERSION) (Debian/RPM packages, glibc)
plugin:
	$(TARGET_GO) $(GO) build -buildmode=plugin -o $(BUILD)/krakend-usage.so ./cmd/krakend-usage-plugin

## plugin-musl: the handler plugin for the official Docker image (Alpine, musl libc)
plugin-musl:
	@command -v musl-gcc >/dev/null || { echo "make plugin-musl: musl-gcc not found (Debian: apt-get install musl-tools)" >&2; exit 1; }
	$(TARGET_GO) CC=musl-gcc $(GO) build -buildmode=plugin -o $(BUILD)/krakend-usage-musl.so ./cmd/krakend-usage-plugin

## gateway: the example lura gateway that loads plugins like KrakenD; like
## KrakenD's own build, it stamps its version into lura's core.KrakendVersion,
## which is what the reporter sends as "version"
gateway:
	$(TARGET_GO) $(GO) build -ldflags "-X github.com/luraproject/lura/v2/core.KrakendVersion=$(KRAKEND_VERSION)" -o $(BUILD)/gateway ./examples/gateway

## collector: the usage collector server, its version stamped from git
## (what -version prints)
COLLECTOR_VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
collector:
	cd collector && $(GO) build -ldflags "-X main.version=$(COLLECTOR_VERSION)" -o ../$(BUILD)/usage-collector ./cmd/usage-collector

clean:
	rm -rf $(BUILD)

## run: the collector on :8090 and a gateway on :8080 reporting to it: the stock
## KrakenD when KRAKEND_BIN names its binary, else the example gateway
run: plugin gateway collector
	@BUILD=$(BUILD) examples/run.sh
