#!/usr/bin/env bash
# examples/run.sh — what `make run` runs: the usage collector on :8090 and a
# gateway on :8080 with examples/krakend.json, whose krakend-usage plugin
# reports to that collector. The gateway is the stock KrakenD when KRAKEND_BIN
# names its binary, else the example gateway (build/gateway). Ctrl-C stops both.
#
# It refuses to start when a port is taken: a gateway without its collector
# (or reporting to somebody else's) would only show confusing retries.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
collector_port=8090
gateway_port=8080

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

for port in $collector_port $gateway_port; do
	if listening "$port"; then
		echo "make run: port $port is already in use; stop whatever listens there (an earlier make run?) and try again" >&2
		exit 1
	fi
done

if [ -n "${KRAKEND_BIN:-}" ]; then
	gateway=("$KRAKEND_BIN" run -c examples/krakend.json)
	echo "make run: gateway is KrakenD: $KRAKEND_BIN ($("$KRAKEND_BIN" version 2>/dev/null | head -1))"
else
	gateway=("$build/gateway" run -c examples/krakend.json)
	echo "make run: gateway is the example gateway (set KRAKEND_BIN to run the stock KrakenD instead)"
fi

"$build/usage-collector" -listen ":$collector_port" -db "sqlite:$build/usage.db" &
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

echo "collector dashboard: http://localhost:$collector_port/   gateway: http://localhost:$gateway_port/   (Ctrl-C stops both)"
"${gateway[@]}" &
gw=$!
rc=0
wait "$gw" || rc=$?
[ "$rc" -eq 0 ] || echo "make run: the gateway exited with status $rc" >&2
exit "$rc"
