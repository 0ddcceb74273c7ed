#!/usr/bin/env bash
# targets/dist.sh [FILE...] — what `make plugins` runs: the handler plugin for
# every release in targets/releases, for the published KrakenD binaries:
#
#   dist/krakend-usage_<release>_linux_amd64_glibc.so   Debian/RPM packages
#   dist/krakend-usage_<release>_linux_amd64_musl.so    the devopsfaith/krakend image (Alpine)
#   dist/krakend-usage_<release>_linux_arm64_glibc.so   arm64 packages (cross-compiled)
#   dist/krakend-usage_<release>_linux_arm64_musl.so    the arm64 image (Alpine; cross-compiled)
#   dist/SHA256SUMS
#
# Without FILE arguments it builds every file of RELEASES (default: all of
# targets/releases) that this machine has the C toolchain for, and lists
# the others with what is missing; it fails only when it could build none.
# FILE arguments (such names, with or without the dist/ folder; `make
# dist/krakend-usage_2.13.8_linux_arm64_musl.so`) name the files wanted: a
# missing toolchain for one of them is an error, after the others are built.
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
# musl on arm64: the cross compiler with the specs of Debian's musl-dev:arm64,
# what musl-gcc is on amd64.
arm64_musl_specs=${ARM64_MUSL_SPECS:-/usr/lib/aarch64-linux-musl/musl-gcc.specs}

# The files to build, one "release arch libc wanted" line each (wanted=1:
# asked for by name).
jobs=()
if [ $# -gt 0 ]; then
	for f in "$@"; do
		name=$(basename "$f")
		if [[ ! $name =~ ^krakend-usage_([0-9][^_]*)_linux_(amd64|arm64)_(glibc|musl)\.so$ ]]; then
			echo "make plugins: $f: not a plugin file name (krakend-usage_<release>_linux_<amd64|arm64>_<glibc|musl>.so)" >&2
			exit 2
		fi
		jobs+=("${BASH_REMATCH[1]} ${BASH_REMATCH[2]} ${BASH_REMATCH[3]} 1")
	done
else
	for release in ${RELEASES:-$(targets/releases.sh)}; do
		for v in "amd64 glibc" "amd64 musl" "arm64 glibc" "arm64 musl"; do
			jobs+=("$release $v 0")
		done
	done
fi
for job in "${jobs[@]}"; do
	read -r release _ <<<"$job"
	targets/releases.sh go "$release" >/dev/null 2>&1 ||
		{ echo "make plugins: $release is not in targets/releases" >&2; exit 2; }
done
if [ "$(id -u)" != 0 ]; then
	echo "make plugins: needs root, to rebuild the official images' paths with unshare -m and bind mounts (or build in krakend/builder:<release>, see docs/gateway.md)" >&2
	exit 1
fi

# cc_for ARCH LIBC: the C compiler for that platform.
cc_for() {
	case "$1 $2" in
	"amd64 glibc") echo gcc ;;
	"amd64 musl") echo musl-gcc ;;
	"arm64 glibc") echo aarch64-linux-gnu-gcc ;;
	"arm64 musl") echo "aarch64-linux-gnu-gcc -specs $arm64_musl_specs" ;;
	esac
}

# missing ARCH LIBC: what this machine lacks to build for that platform,
# nothing when it has it all.
missing() {
	case "$1 $2" in
	"amd64 glibc") command -v gcc >/dev/null || echo "gcc not found (Debian: apt-get install gcc)" ;;
	"amd64 musl") command -v musl-gcc >/dev/null || echo "musl-gcc not found (Debian: apt-get install musl-tools)" ;;
	"arm64 glibc") command -v aarch64-linux-gnu-gcc >/dev/null || echo "aarch64-linux-gnu-gcc not found (Debian: apt-get install gcc-aarch64-linux-gnu)" ;;
	"arm64 musl")
		if ! command -v aarch64-linux-gnu-gcc >/dev/null; then
			echo "aarch64-linux-gnu-gcc not found (Debian: apt-get install gcc-aarch64-linux-gnu)"
		elif [ ! -f "$arm64_musl_specs" ]; then
			echo "$arm64_musl_specs not found (Debian: dpkg --add-architecture arm64; apt-get update; apt-get install musl-dev:arm64)"
		fi
		;;
	esac
}

modcache=${DIST_GOMODCACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/krakend-usage/dist-gomodcache}
mkdir -p "$dist"
proxy="file://$($go env GOMODCACHE)/cache/download,$($go env GOPROXY)"

built=() skipped=() refused=()
for job in "${jobs[@]}"; do
	read -r release arch libc wanted <<<"$job"
	out=$dist/krakend-usage_${release}_linux_${arch}_$libc.so
	rm -f "$out" # never leave a file of an earlier build beside this build's
	why=$(missing "$arch" "$libc")
	if [ -n "$why" ]; then
		skipped+=("$out: $why")
		[ "$wanted" = 0 ] || refused+=("$out")
		continue
	fi
	goversion=$(targets/releases.sh go "$release")
	goroot=$(GOTOOLCHAIN=go$goversion $go env GOROOT)
	echo "make plugins: KrakenD $release (Go $goversion), $arch $libc, in the images' paths" >&2
	GOPROXY=$proxy GOARCH=$arch CC=$(cc_for "$arch" "$libc") targets/imagepaths.sh "$goroot" "$modcache" . \
		go build -modfile="targets/$release.mod" -buildmode=plugin -o "$out" ./cmd/krakend-usage-plugin
	echo "$out" >&2
	built+=("$out")
done

# Every .so in dist/, also those of releases built by an earlier run
# (make plugins RELEASES=2.13.8).
rm -f "$dist/SHA256SUMS"
if compgen -G "$dist/krakend-usage_*.so" >/dev/null; then
	(cd "$dist" && sha256sum krakend-usage_*.so >SHA256SUMS)
	echo "$dist/SHA256SUMS" >&2
fi
echo "make plugins: built ${#built[@]} of ${#jobs[@]} files" >&2
if [ ${#skipped[@]} -gt 0 ]; then
	echo "make plugins: skipped, this machine cannot build them:" >&2
	printf '  %s\n' "${skipped[@]}" >&2
fi
if [ ${#refused[@]} -gt 0 ]; then
	echo "make plugins: FAILED: asked for by name, not built: ${refused[*]}" >&2
	exit 1
fi
if [ ${#built[@]} = 0 ]; then
	echo "make plugins: FAILED: this machine can build none of the files asked for" >&2
	exit 1
fi
