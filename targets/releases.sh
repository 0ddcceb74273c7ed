#!/usr/bin/env bash
# targets/releases.sh — the one reader of targets/releases (the KrakenD CE
# releases the plugin is built for, written by internal/cmd/addrelease): the
# Makefile, the scripts, .ci/run and the tests ask it what they need.
#
#   targets/releases.sh                  every release, oldest first, one a line
#   targets/releases.sh newest           the newest release (the default one)
#   targets/releases.sh go RELEASE       the Go release RELEASE is built with
#   targets/releases.sh lura RELEASE     the lura/v2 version RELEASE links
#   targets/releases.sh with-lura V      the newest release that links lura V
#   targets/releases.sh table            "release go lura" of every release
#
# A RELEASE the table does not name is an error (exit 1) that names the
# supported ones; bad arguments exit 2.
set -euo pipefail
table=$(dirname "$0")/releases
usage="usage: targets/releases.sh [newest | go RELEASE | lura RELEASE | with-lura V | table]"

rows() {
	awk '
		$1 ~ /^#/ || NF == 0 { next }
		NF != 3 { printf "targets/releases:%d: %s: want release, Go, lura\n", NR, $0 > "/dev/stderr"; bad = 1; exit }
		{ print $1, $2, $3 }
		END { exit bad }
	' "$table"
}
all=$(rows)
[ -n "$all" ] || { echo "targets/releases names no release" >&2; exit 1; }

# column N RELEASE: that column of RELEASE's row.
column() {
	local v
	v=$(awk -v r="$2" -v n="$1" '$1 == r { print $n }' <<<"$all")
	if [ -z "$v" ]; then
		echo "$2 is not a supported release; targets/releases names" $(cut -d' ' -f1 <<<"$all") >&2
		exit 1
	fi
	echo "$v"
}

case $# in
0) cut -d' ' -f1 <<<"$all" ;;
1)
	case $1 in
	newest) tail -1 <<<"$all" | cut -d' ' -f1 ;;
	table) echo "$all" ;;
	*) echo "$usage" >&2; exit 2 ;;
	esac
	;;
2)
	case $1 in
	go) column 2 "$2" ;;
	lura) column 3 "$2" ;;
	with-lura)
		r=$(awk -v l="$2" '$3 == l { r = $1 } END { print r }' <<<"$all")
		[ -n "$r" ] || { echo "no release in targets/releases links lura $2" >&2; exit 1; }
		echo "$r"
		;;
	*) echo "$usage" >&2; exit 2 ;;
	esac
	;;
*) echo "$usage" >&2; exit 2 ;;
esac
