#!/usr/bin/env bash
# targets/check-dist.sh — what `make check-dist` runs: each amd64 file of
# dist/ (make plugins) in its release's KrakenD built in the official images'
# paths (KRAKEND_CE_PATHS=image ../shared/krakend-ce/build.sh LIBC RELEASE,
# cached after the first build): `krakend test-plugin` loads it, and
# `krakend check-plugin` finds no module of targets/<release>.sum at another
# version than the binary's. (-l undefined: build.sh does not stamp glibc.)
# The arm64 files go the same way into the arm64 KrakenD of each release,
# built in the images' paths too (targets/krakend-arm64.sh) and run under
# qemu-user; without qemu-aarch64 they are skipped, with a note.
set -euo pipefail
cd "$(dirname "$0")/.."
dist=${DIST:-dist}
releases=${RELEASES:-$(targets/releases.sh)}
build_sh=
for c in "${KRAKEND_CE_BUILD:-}" ../shared/krakend-ce/build.sh /work/shared/krakend-ce/build.sh; do
	if [ -n "$c" ] && [ -f "$c" ]; then build_sh=$c; break; fi
done
[ -n "$build_sh" ] || { echo "make check-dist: KrakenD CE build script not found (../shared/krakend-ce/build.sh); set KRAKEND_CE_BUILD" >&2; exit 1; }

arm64=1
if ! command -v qemu-aarch64 >/dev/null; then
	arm64=0
	echo "make check-dist: note: qemu-aarch64 not found (Debian: apt-get install qemu-user): the arm64 files are not run" >&2
fi

failed=0
# check SO RELEASE GOVERSION KRAKEND...: test-plugin and check-plugin.
check() {
	local so=$1 release=$2 goversion=$3 out
	shift 3
	if ! out=$("$@" test-plugin -s "$so" 2>&1) || ! grep -q "^\[OK\] SERVER" <<<"$out"; then failed=1; fi
	echo "\$ krakend test-plugin -s $so"
	echo "$out"
	if ! out=$("$@" check-plugin -g "$goversion" -s "targets/$release.sum" -l undefined 2>&1) || ! grep -q "No incompatibilities found!" <<<"$out"; then failed=1; fi
	echo "\$ krakend check-plugin -g $goversion -s targets/$release.sum -l undefined"
	echo "$out"
}
for release in $releases; do
	goversion=$(targets/releases.sh go "$release")
	for libc in glibc musl; do
		so=$dist/krakend-usage_${release}_linux_amd64_$libc.so
		[ -f "$so" ] || { echo "make check-dist: $so is missing (make plugins)" >&2; exit 1; }
		bin=$(KRAKEND_CE_PATHS=image bash "$build_sh" "$libc" "$release")
		echo "== $so in KrakenD $release $libc, images' paths ($bin)"
		check "$so" "$release" "$goversion" "$bin"
	done
	[ "$arm64" = 1 ] || continue
	for libc in glibc musl; do
		so=$dist/krakend-usage_${release}_linux_arm64_$libc.so
		[ -f "$so" ] || { echo "make check-dist: $so is missing (make plugins)" >&2; exit 1; }
		bin=$(targets/krakend-arm64.sh "$libc" "$release")
		echo "== $so in KrakenD $release arm64 $libc, images' paths, under qemu-aarch64 ($bin)"
		check "$so" "$release" "$goversion" qemu-aarch64 -L /usr/aarch64-linux-gnu "$bin"
	done
done
if [ "$failed" != 0 ]; then
	echo "make check-dist: FAILED (see above)" >&2
	exit 1
fi
what="every amd64 and arm64 plugin"
[ "$arm64" = 1 ] || what="every amd64 plugin"
echo "make check-dist: $what in $dist loads into its release's KrakenD (images' paths)"
