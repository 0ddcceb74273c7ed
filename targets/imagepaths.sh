#!/usr/bin/env bash
# targets/imagepaths.sh GOROOT MODCACHE DIR COMMAND [ARG...] — runs COMMAND
# in DIR with the paths of KrakenD's official images, which are part of
# every compiled package's identity: the Go toolchain GOROOT bound on
# /usr/local/go and the module cache MODCACHE bound on /go/pkg/mod, in a
# private mount namespace (unshare -m; root only), so nothing outside it
# sees the mounts; /go/pkg/mod and /usr/local/go are created as mount points
# when missing. The go command there uses that toolchain alone
# (GOTOOLCHAIN=local), the pinned modules (-mod=readonly), no workspace and
# cgo; GOPROXY, GOARCH and CC come from the caller's environment. Used by
# dist.sh (the plugins) and krakend-arm64.sh (the arm64 KrakenD).
set -euo pipefail
[ $# -ge 4 ] || { echo "usage: $0 GOROOT MODCACHE DIR COMMAND [ARG...]" >&2; exit 2; }
mkdir -p "$2" /go/pkg/mod /usr/local/go
exec unshare -m bash -euc '
	mount --bind "$1" /usr/local/go
	mount --bind "$2" /go/pkg/mod
	cd "$3"
	shift 3
	export PATH=/usr/local/go/bin:$PATH GOROOT=/usr/local/go GOPATH=/go GOMODCACHE=/go/pkg/mod GOTOOLCHAIN=local
	export GOFLAGS="-mod=readonly -buildvcs=false" GOWORK=off CGO_ENABLED=1
	exec "$@"
' _ "$@"
