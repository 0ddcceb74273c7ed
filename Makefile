# Every Go module in the repository: the root (library + gateway extension)
# and the nested ones (collector, compat tests and benchmarks).
MODULES := $(patsubst %/go.mod,%,$(shell find . -name go.mod -not -path './build/*' | sort))
GO      ?= go
BUILD   := build
export GOWORK := off

.PHONY: all test lint bench plugin gateway collector run clean

all: plugin gateway collector

## test: every module, race detector on
test:
	@[ -n "$$USAGE_TEST_POSTGRES_DSN" ] || echo "note: USAGE_TEST_POSTGRES_DSN is not set: the PostgreSQL tests are skipped (e.g. USAGE_TEST_POSTGRES_DSN='postgres://postgres@127.0.0.1:5432/test?sslmode=disable')"
	@command -v chromium >/dev/null 2>&1 || echo "note: chromium is not installed: the dashboard browser test is skipped (apt-get install chromium)"
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

## plugin: the handler plugin for a stock gateway
plugin:
	$(GO) build -buildmode=plugin -o $(BUILD)/krakend-usage.so ./cmd/krakend-usage-plugin

## gateway: the example lura gateway that loads plugins like KrakenD; like
## KrakenD's own build, it stamps its version into lura's core.KrakendVersion,
## which is what the reporter sends as "version"
GATEWAY_VERSION ?= 2.14.1
gateway:
	$(GO) build -ldflags "-X github.com/luraproject/lura/v2/core.KrakendVersion=$(GATEWAY_VERSION)" -o $(BUILD)/gateway ./examples/gateway

## collector: the usage collector server
collector:
	cd collector && $(GO) build -o ../$(BUILD)/usage-collector ./cmd/usage-collector

clean:
	rm -rf $(BUILD)

## run: the collector on :8090 and the example gateway on :8080, reporting to it
run: plugin gateway collector
	@echo "collector dashboard: http://localhost:8090/   gateway: http://localhost:8080/   (Ctrl-C stops both)"
	@$(BUILD)/usage-collector -db sqlite:$(BUILD)/usage.db & c=$$!; \
	sleep 1; $(BUILD)/gateway -c examples/krakend.json & g=$$!; \
	trap 'kill $$c $$g 2>/dev/null' INT TERM; \
	wait $$g; kill $$c 2>/dev/null; wait $$c; true
