#!/usr/bin/env bash
# Check that loom's layers point one way: no file includes a header of a
# layer above its own (docs/design.md, "Layers").
#
#   scripts/check-layers.sh [SRCDIR]     (default: src/ of this checkout)
#
# A layer is a directory under SRCDIR (guest/x86/ belongs to guest/);
# src/main.c is the layer "main".  Includes without a directory
# ("cpu.h", "loom-plugin.h") name a file of the same directory or a public
# header and are not checked.  Prints a PASS or FAIL line per layer, one
# line per include that crosses the layers the wrong way, and ends with
# "N passed, N failed"; the exit status is non-zero iff some check failed.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
src=${1:-$root/src}

# The one table of allowed includes: each layer and the layers it may
# include.  Bottom to top: util, ir, host, exec, guest, instrument, then
# the two environments (linux, system: neither includes the other), then
# the user-mode front door.
declare -A allowed=(
	[util]=""
	[ir]="util"
	[host]="ir util"
	[exec]="host ir util"
	[guest]="exec host ir util"
	[instrument]="guest exec ir util"
	[linux]="instrument guest exec ir util"
	[system]="instrument guest exec ir util"
	[main]="linux instrument guest exec ir util"
)

passed=0
failed=0
declare -A bad_in=()

layer_of() {	# path relative to $src -> layer
	case $1 in
	*/*) echo "${1%%/*}" ;;
	main.c) echo main ;;
	*) echo "" ;;
	esac
}

while IFS= read -r file; do
	rel=${file#"$src"/}
	from=$(layer_of "$rel")
	if [ -z "$from" ] || [ -z "${allowed[$from]+set}" ]; then
		echo "FAIL: $rel: not in any layer of scripts/check-layers.sh's table"
		bad_in[unknown]=1
		continue
	fi
	while IFS=: read -r line inc; do
		case $inc in */*) ;; *) continue ;; esac
		to=${inc%%/*}
		[ "$to" = "$from" ] && continue
		case " ${allowed[$from]} " in
		*" $to "*) ;;
		*)
			echo "FAIL: $rel:$line includes \"$inc\": $from may not include $to"
			bad_in[$from]=1
			;;
		esac
	done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$file" |
		 sed 's/^\([0-9]*\):[^"]*"\([^"]*\)".*/\1:\2/')
done < <(find "$src" -name '*.[ch]' | sort)

for l in util ir host exec guest instrument linux system main unknown; do
	if [ -n "${bad_in[$l]+set}" ]; then
		echo "FAIL: layer $l includes across the layers the wrong way"
		failed=$((failed + 1))
	elif [ "$l" != unknown ]; then
		echo "PASS: layer $l"
		passed=$((passed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
