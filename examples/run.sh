#!/usr/bin/env bash
# examples/run.sh — what `make run` runs: the usage collector on
# 127.0.0.1:8090 and a gateway on 127.0.0.1:8080 with examples/krakend.json,
# whose krakend-usage plugin reports to that collector. The gateway is the
# stock KrakenD when KRAKEND_BIN names its binary, else the example gateway
# (build/gateway). Ctrl-C stops both.
#
#   examples/run.sh check    checks KRAKEND_BIN and the ports, starts nothing
#   examples/run.sh release  prints KRAKEND_BIN's KrakenD release (2.13.8)
#   examples/run.sh missing RELEASE
#                            prints the first of RELEASE's pins
#                            (targets/RELEASE.mod) the module proxy in use
#                            does not serve, nothing when it serves them all
#
# It refuses to start when a port is taken: a gateway without its collector
# (or reporting to somebody else's) would only show confusing retries.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
collector_port=8090
gateway_port=8080

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# krakend version prints to stderr.
krakend_version() { "$KRAKEND_BIN" version 2>&1 | sed -n 's/^KrakenD Version: *//p' | head -1; }

# A KRAKEND_BIN that is set must name a KrakenD binary: set but empty (a
# failed $(...)) or not executable, it is a mistake, not "no KrakenD".
if [ -n "${KRAKEND_BIN+set}" ]; then
	if [ -z "$KRAKEND_BIN" ]; then
		echo "make run: KRAKEND_BIN is set but empty; name a KrakenD binary, or unset it to run the example gateway" >&2
		exit 1
	elif [ ! -f "$KRAKEND_BIN" ] || [ ! -x "$KRAKEND_BIN" ]; then
		echo "make run: KRAKEND_BIN=$KRAKEND_BIN is not an executable file" >&2
		exit 1
	elif [ -z "$(krakend_version)" ]; then
		echo "make run: KRAKEND_BIN=$KRAKEND_BIN does not answer \"krakend version\" as KrakenD does" >&2
		exit 1
	fi
fi
if [ -n "${KRAKEND_PLUGIN:-}" ] && [ ! -f "$KRAKEND_PLUGIN" ]; then
	echo "make run: KRAKEND_PLUGIN=$KRAKEND_PLUGIN is not a file" >&2
	exit 1
fi

case ${1:-} in
release)
	krakend_version
	exit 0
	;;
missing)
	[ $# -eq 2 ] || { echo "usage: examples/run.sh missing RELEASE" >&2; exit 2; }
	# go mod download names what it cannot fetch as module@version.
	if ! out=$(GOFLAGS= "${GO:-go}" mod download -modfile="targets/$2.mod" 2>&1); then
		m=$(grep -o '[^ :]*@v[^ :]*' <<<"$out" | head -1)
		echo "${m:-one of them ($(head -1 <<<"$out"))}"
	fi
	exit 0
	;;
check | "") ;;
*)
	echo "usage: examples/run.sh [check|release]" >&2
	exit 2
	;;
esac

for port in $collector_port $gateway_port; do
	if listening "$port"; then
		echo "make run: port $port is already in use; stop whatever listens there (an earlier make run?) and try again" >&2
		exit 1
	fi
done
[ "${1:-}" = check ] && exit 0

# KRAKEND_PLUGIN: a .so built elsewhere (dist/, the builder image) for a
# KrakenD from a package or an image, loaded instead of make plugin's.
if [ -n "${KRAKEND_PLUGIN:-}" ]; then
	cp "$KRAKEND_PLUGIN" "$build/krakend-usage.so"
	echo "make run: plugin is $KRAKEND_PLUGIN"
fi

# The demo listens on loopback only.
export KRAKEND_LISTEN_IP=127.0.0.1
if [ -n "${KRAKEND_BIN:-}" ]; then
	gateway=("$KRAKEND_BIN" run -c examples/krakend.json)
	echo "make run: gateway is KrakenD $(krakend_version): $KRAKEND_BIN"
	# Stock KrakenD's own reporter would call https://usage.krakend.io;
	# the demo sends its HTTPS requests to a proxy that refuses them, as
	# the tests do (USAGE_DISABLE=1 would stop the plugin too).
	export HTTPS_PROXY=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9
	echo "make run: KrakenD's own usage reporter is blocked (HTTPS_PROXY=$HTTPS_PROXY); this demo sends nothing beyond this machine"
else
	gateway=("$build/gateway" run -c examples/krakend.json)
	echo "make run: gateway is the example gateway (set KRAKEND_BIN to run the stock KrakenD instead)"
fi

"$build/usage-collector" -listen "127.0.0.1:$collector_port" -db "sqlite:$build/usage.db" &
collector=$!
gw=
trap 'kill $collector $gw 2>/dev/null || true' EXIT
trap 'exit 130' INT TERM

# The gateway starts only once its collector serves.
for _ in $(seq 100); do
	listening "$collector_port" && break
	if ! kill -0 "$collector" 2>/dev/null; then
		echo "make run: the collector did not start (see above)" >&2
		exit 1
	fi
	sleep 0.1
done
listening "$collector_port" || { echo "make run: the collector is not listening on :$collector_port after 10s" >&2; exit 1; }

echo "collector dashboard: http://127.0.0.1:$collector_port/   gateway: http://127.0.0.1:$gateway_port/   (Ctrl-C stops both)"
"${gateway[@]}" &
gw=$!
rc=0
wait "$gw" || rc=$?
[ "$rc" -eq 0 ] || echo "make run: the gateway exited with status $rc" >&2
exit "$rc"
