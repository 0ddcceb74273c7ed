#!/usr/bin/env bash
# targets/dist.sh — what `make plugins` runs: the handler plugin for every
# release in targets/releases, for the published KrakenD binaries:
#
#   dist/krakend-usage_<release>_linux_amd64_glibc.so   Debian/RPM packages
#   dist/krakend-usage_<release>_linux_amd64_musl.so    the devopsfaith/krakend image (Alpine)
#   dist/krakend-usage_<release>_linux_arm64_glibc.so   arm64 packages (cross-compiled)
#   dist/krakend-usage_<release>_linux_arm64_musl.so    the arm64 image (Alpine; cross-compiled)
#   dist/SHA256SUMS
#
# KrakenD's release binaries are built in golang:<go> images without
# -trimpath: GOROOT /usr/local/go, module cache /go/pkg/mod. Those paths are
# part of every compiled package's identity, so a plugin built with other
# paths is refused ("plugin was built with a different version of package
# github.com/google/uuid"). This script rebuilds that layout in a private
# mount namespace (targets/imagepaths.sh; root only): the release's Go
# toolchain bound on /usr/local/go, a module cache of its own bound on
# /go/pkg/mod (filled from this machine's module cache first, then GOPROXY).
set -euo pipefail
cd "$(dirname "$0")/.."
dist=${DIST:-dist}
go=${GO:-go}
releases=${RELEASES:-$(awk '$1 ~ /^[0-9]/ { print $1 }' targets/releases)}
if [ "$(id -u)" != 0 ]; then
	echo "make plugins: needs root, to rebuild the official images' paths with unshare -m and bind mounts (or build in krakend/builder:<release>, see docs/gateway.md)" >&2
	exit 1
fi
for cc in musl-gcc aarch64-linux-gnu-gcc; do
	command -v "$cc" >/dev/null || { echo "make plugins: $cc not found (Debian: apt-get install musl-tools gcc-aarch64-linux-gnu)" >&2; exit 1; }
done
# musl on arm64: the cross compiler with the specs of Debian's musl-dev:arm64,
# what musl-gcc is on amd64.
arm64_musl_specs=/usr/lib/aarch64-linux-musl/musl-gcc.specs
[ -f "$arm64_musl_specs" ] || { echo "make plugins: $arm64_musl_specs not found (Debian: dpkg --add-architecture arm64; apt-get update; apt-get install musl-dev:arm64)" >&2; exit 1; }
modcache=${DIST_GOMODCACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/krakend-usage/dist-gomodcache}
mkdir -p "$dist"
proxy="file://$($go env GOMODCACHE)/cache/download,$($go env GOPROXY)"

for release in $releases; do
	goversion=$(awk -v r="$release" '$1 == r { print $2 }' targets/releases)
	[ -n "$goversion" ] || { echo "make plugins: $release is not in targets/releases" >&2; exit 1; }
	goroot=$(GOTOOLCHAIN=go$goversion $go env GOROOT)
	rm -f "$dist/krakend-usage_${release}_"*.so "$dist/SHA256SUMS"
	echo "make plugins: KrakenD $release (Go $goversion) in the images' paths: amd64 glibc, amd64 musl, arm64 glibc, arm64 musl" >&2
	for v in amd64:glibc:gcc amd64:musl:musl-gcc arm64:glibc:aarch64-linux-gnu-gcc "arm64:musl:aarch64-linux-gnu-gcc -specs $arm64_musl_specs"; do
		IFS=: read -r arch libc cc <<<"$v"
		out=$dist/krakend-usage_${release}_linux_${arch}_$libc.so
		GOPROXY=$proxy GOARCH=$arch CC=$cc targets/imagepaths.sh "$goroot" "$modcache" . \
			go build -modfile="targets/$release.mod" -buildmode=plugin -o "$out" ./cmd/krakend-usage-plugin
		echo "$out" >&2
	done
done
# Every .so in dist/, also those of releases built by an earlier run
# (make plugins RELEASES=2.13.8).
(cd "$dist" && sha256sum krakend-usage_*.so >SHA256SUMS)
echo "$dist/SHA256SUMS" >&2
