#!/usr/bin/env bash
# Plugin overhead: times workloads under loom and qemu-x86_64, each bare and
# with the benchmark plugin bench/plugins/bcount.c counting instructions
# three ways (an inline add per TB, as plugins/bb does; an inline add per
# instruction; a callback per instruction), and prints the times and the
# slowdown of each against the same emulator without a plugin.
#
#   bench/plugins.sh LOOM [WORKLOAD...]
#
# Workloads: lz, sieve and strops from bench/src (as bench/run.sh builds
# them).  QEMU (default: qemu-x86_64 on the PATH; empty to leave it out)
# gets the API-version-1 build of the same plugin.  Every run's stdout is
# compared with the native run's and its instruction count with the other
# runs' of the same emulator: a mismatch prints FAIL instead of a time.
# Each time is the best of RUNS (default 3) after one warm-up.  Outputs go
# to build/bench/plugins/.  Never part of `make test`.
set -uo pipefail

if [ $# -lt 1 ]; then
	echo "usage: $0 LOOM [WORKLOAD...]" >&2
	exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
loom=$1
shift
case $loom in /*) ;; *) [ -e "$loom" ] && loom=$(cd "$(dirname "$loom")" && pwd)/$(basename "$loom") ;; esac
workloads=("$@")
[ ${#workloads[@]} -eq 0 ] && workloads=(lz sieve strops)
qemu=${QEMU-$(command -v qemu-x86_64 || true)}
runs=${RUNS:-3}
out=$root/build/bench/plugins
mkdir -p "$out/bin" "$out/runs"

# ---- build ------------------------------------------------------------------
cflags=(-O2 -fPIC -shared -fvisibility=hidden -Wall -Wextra -Wno-unused-parameter)
gcc "${cflags[@]}" -I"$root/include" $(pkg-config --cflags glib-2.0) \
	-o "$out/bcount.so" "$root/bench/plugins/bcount.c" || exit 1
gcc "${cflags[@]}" -I"$root/bench/plugins/v1" \
	-o "$out/bcount-v1.so" "$root/bench/plugins/bcount.c" || exit 1
for w in "${workloads[@]}"; do
	src=$root/bench/src/$w.c
	[ -f "$src" ] || { echo "bench: no workload $w (bench/src/$w.c)" >&2; exit 2; }
	bin=$out/bin/$w
	if [ ! -x "$bin" ] || [ "$src" -nt "$bin" ]; then
		gcc -static -O2 -o "$bin" "$src" || exit 1
	fi
done

# ---- runners ------------------------------------------------------------
# name, then the command prefix; the plugin rows log to $log.
modes=(tb insn-inline insn-cb)
runners=(native loom)
declare -A cmd=([native]="" [loom]="$loom")
for m in "${modes[@]}"; do
	runners+=("loom+$m")
	cmd[loom+$m]="$loom -d plugin -D @LOG@ -plugin $out/bcount.so,mode=$m"
done
if [ -n "$qemu" ]; then
	runners+=(qemu)
	cmd[qemu]=$qemu
	for m in "${modes[@]}"; do
		runners+=("qemu+$m")
		cmd[qemu+$m]="$qemu -d plugin -D @LOG@ -plugin $out/bcount-v1.so,mode=$m"
	done
fi

now() { date +%s.%N; }

# time_run W RUNNER: prints the best time, or FAIL.
time_run() {
	local w=$1 r=$2 bin=$out/bin/$1 log=$out/runs/$1.$2.log best="" i t0 t1
	local c=${cmd[$r]//@LOG@/$log}
	# shellcheck disable=SC2086  # the prefix is words without spaces
	$c "$bin" >"$out/runs/$w.$r.out" 2>"$out/runs/$w.$r.err" || { echo FAIL; return; }
	cmp -s "$out/runs/$w.$r.out" "$out/runs/$w.native.out" || { echo FAIL; return; }
	if [[ $r == *+* ]]; then
		local n
		n=$(sed -n 's/^bcount: insns //p' "$log")
		[ -n "$n" ] || { echo FAIL; return; }
		echo "$n" >"$out/runs/$w.$r.count"
	fi
	for ((i = 0; i < runs; i++)); do
		t0=$(now)
		# shellcheck disable=SC2086
		$c "$bin" >/dev/null 2>&1
		t1=$(now)
		best=$(echo "$t1 $t0 $best" | awk '{ d = $1 - $2; if ($3 == "" || d < $3) print d; else print $3 }')
	done
	echo "$best"
}

printf '%-8s' workload
for r in "${runners[@]}"; do printf ' %15s' "$r"; done
echo
declare -A secs
for w in "${workloads[@]}"; do
	rm -f "$out/runs/$w".*.count	# a previous run's (with qemu, say)
	"$out/bin/$w" >"$out/runs/$w.native.out" 2>/dev/null
	printf '%-8s' "$w"
	for r in "${runners[@]}"; do
		secs[$w.$r]=$(time_run "$w" "$r")
		printf ' %14ss' "${secs[$w.$r]}"
	done
	echo
	# the three loom counts agree, and so do qemu's
	for e in loom qemu; do
		[ -f "$out/runs/$w.$e+tb.count" ] || continue
		c=$(cat "$out/runs/$w.$e"+*.count | sort -u | wc -l)
		[ "$c" -eq 1 ] || echo "  $w: $e's instruction counts differ between modes: $(cat "$out/runs/$w.$e"+*.count | tr '\n' ' ')"
	done
done
echo
echo "slowdown against the same emulator without a plugin:"
printf '%-8s' workload
for r in "${runners[@]}"; do [[ $r == *+* ]] && printf ' %15s' "$r"; done
echo
for w in "${workloads[@]}"; do
	printf '%-8s' "$w"
	for r in "${runners[@]}"; do
		[[ $r == *+* ]] || continue
		base=${secs[$w.${r%%+*}]} t=${secs[$w.$r]}
		if [ "$t" = FAIL ] || [ "$base" = FAIL ]; then
			printf ' %15s' FAIL
		else
			printf ' %14.2fx' "$(echo "$t $base" | awk '{ print $1 / $2 }')"
		fi
	done
	echo
done
echo
echo "loom against qemu (same plugin mode):"
for w in "${workloads[@]}"; do
	[ -n "$qemu" ] || break
	printf '%-8s' "$w"
	for r in loom "${modes[@]/#/loom+}"; do
		q=${r/loom/qemu} t=${secs[$w.$r]} base=${secs[$w.$q]}
		if [ "$t" = FAIL ] || [ "$base" = FAIL ]; then
			printf ' %s FAIL' "$r"
		else
			printf ' %s %.2fx' "$r" "$(echo "$t $base" | awk '{ print $1 / $2 }')"
		fi
	done
	echo
done
