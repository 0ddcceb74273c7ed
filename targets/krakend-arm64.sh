#!/usr/bin/env bash
# targets/krakend-arm64.sh LIBC RELEASE — the stock KrakenD CE RELEASE for
# linux/arm64, glibc (the arm64 Debian/RPM packages) or musl (the arm64
# Alpine image), built from its release sources in the official images' paths, the way the workspace's
# krakend-ce/build.sh builds the amd64 ones with KRAKEND_CE_PATHS=image:
# the tag's Go (its Makefile's GOLANG_VERSION), the tag's go.sum checked,
# the lint schema embedded, the same -X version stamps, GOROOT /usr/local/go
# and module cache /go/pkg/mod in a private mount namespace (unshare -m;
# root only), cross-compiled with aarch64-linux-gnu-gcc (for musl with
# the specs of Debian's musl-dev:arm64, as musl-gcc does on amd64). It prints the
# binary's path; the binary is cached beside build.sh's and checked by
# running `krakend version` under qemu-user (qemu-aarch64, Debian's
# qemu-user), which is how make check-dist runs it.
#
# Sources: KRAKEND_CE_SRC (default: the krakend-ce/src folder beside the
# build script, ../shared/krakend-ce/src), modules the default proxy refuses
# from KRAKEND_CE_GOPROXY (default ../shared/goproxy).
set -euo pipefail
usage="usage: $0 glibc|musl RELEASE (one of targets/releases)"
[ $# -eq 2 ] || { echo "$usage" >&2; exit 2; }
libc=$1 release=$2
cd "$(dirname "$0")/.."
case $libc in glibc|musl) ;; *) echo "$usage" >&2; exit 2 ;; esac
targets/releases.sh go "$release" >/dev/null 2>&1 || { echo "$usage" >&2; exit 2; }
cc=aarch64-linux-gnu-gcc
if [ "$libc" = musl ]; then
	specs=/usr/lib/aarch64-linux-musl/musl-gcc.specs
	[ -f "$specs" ] || { echo "krakend-arm64.sh: $specs not found (Debian: dpkg --add-architecture arm64; apt-get update; apt-get install musl-dev:arm64)" >&2; exit 1; }
	cc="$cc -specs $specs"
fi

qemu() { qemu-aarch64 -L /usr/aarch64-linux-gnu "$@"; }
command -v qemu-aarch64 >/dev/null || { echo "krakend-arm64.sh: qemu-aarch64 not found (Debian: apt-get install qemu-user)" >&2; exit 1; }
command -v aarch64-linux-gnu-gcc >/dev/null || { echo "krakend-arm64.sh: aarch64-linux-gnu-gcc not found (Debian: apt-get install gcc-aarch64-linux-gnu)" >&2; exit 1; }

root=${KRAKEND_CE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/krakend-ce}
cache=$root/$release-$libc-image-arm64
bin=$cache/krakend
if [ -x "$bin" ] && qemu "$bin" version >/dev/null 2>&1; then
	echo "$bin"
	exit 0
fi
[ "$(id -u)" = 0 ] || { echo "krakend-arm64.sh: needs root, to rebuild the official images' paths with unshare -m and bind mounts" >&2; exit 1; }

src_dir=${KRAKEND_CE_SRC:-}
proxy_dir=${KRAKEND_CE_GOPROXY:-}
for s in ../shared /work/shared; do
	if [ -z "$src_dir" ] && [ -d "$s/krakend-ce/src" ]; then src_dir=$s/krakend-ce/src; fi
	if [ -z "$proxy_dir" ] && [ -d "$s/goproxy" ]; then proxy_dir=$s/goproxy; fi
done
tarball=$src_dir/krakend-ce-v$release.tar.gz
[ -f "$tarball" ] || { echo "krakend-arm64.sh: $tarball not found (set KRAKEND_CE_SRC)" >&2; exit 1; }
proxy=$(go env GOPROXY)
[ -z "$proxy_dir" ] || proxy="file://$(cd "$proxy_dir" && pwd),$proxy"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar -xzf "$tarball" -C "$work"
src=$work/krakend-ce
if [ -f "$src_dir/krakend-ce-v$release.go.sum" ]; then
	cmp -s "$src/go.sum" "$src_dir/krakend-ce-v$release.go.sum" || { echo "krakend-arm64.sh: the tarball's go.sum is not krakend-ce-v$release.go.sum" >&2; exit 1; }
fi
goversion=$(sed -n 's/^GOLANG_VERSION := *//p' "$src/Makefile")
mkdir -p "$src/cmd/krakend-ce/schema"
gzip -dc "$src_dir/krakend-schema-v${release%.*}.json.gz" >"$src/cmd/krakend-ce/schema/schema.json"
goroot=$(GOTOOLCHAIN=go$goversion go env GOROOT)
modcache=$root/image-gomodcache # build.sh's, for the same paths
ldflags="-X github.com/krakend/krakend-ce/v2/pkg.Version=$release -X github.com/luraproject/lura/v2/core.KrakendVersion=$release"
echo "krakend-arm64.sh: building KrakenD CE $release (arm64, $libc, go$goversion, images' paths); this takes a few minutes" >&2
GOPROXY=$proxy GOARCH=arm64 CC=$cc targets/imagepaths.sh "$goroot" "$modcache" "$src" \
	go build -ldflags="$ldflags" -o "$work/krakend" ./cmd/krakend-ce >&2
mkdir -p "$cache"
mv "$work/krakend" "$bin"
qemu "$bin" version >&2
echo "$bin"
