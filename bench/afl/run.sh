#!/usr/bin/env bash
# afl-fuzz executions per second on one small target (tests/afl/target.c)
# built three ways:
#   clang-fast   afl-clang-fast's own instrumentation and fork server (the ceiling)
#   loom         plain gcc build run under loom as afl-fuzz's -Q target
#   loom-persist the same binary under loom in persistent mode
#                (AFL_QEMU_PERSISTENT_ADDR = target(), _GPR: its argument is
#                restored each time; its return loops)
#
#   bench/afl/run.sh [LOOM] [SECONDS]      default build/release/loom, 20 s each
#
# Prints one line per build with exec/s (execs_done / run time from
# fuzzer_stats) and the ratios the issue asks about.  Each afl-fuzz runs on
# its own output directory under /tmp/afl-bench, removed at the end.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
loom=$(realpath "${1:-$root/build/release/loom}")
secs=${2:-20}
work=/tmp/afl-bench.$$
mkdir -p "$work/in"
trap 'rm -rf "$work"' EXIT
printf 'hello fuzzer\n' >"$work/in/seed"

gcc -O2 -include stdint.h -o "$work/target" "$root/tests/afl/target.c"
AFL_QUIET=1 afl-clang-fast -O2 -include stdint.h -o "$work/target.afl" \
	"$root/tests/afl/target.c" >/dev/null 2>&1
# target()'s offset in the position-independent binary: loom adds its base.
addr=0x$(nm "$work/target" | awk '$3 == "target" { print $1 }')

export AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
	AFL_NO_AFFINITY=1

# run NAME ENV... -- afl-fuzz args: prints exec/s
run() {
	local name=$1
	shift
	local envs=()
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	rm -rf "$work/out"
	env "${envs[@]}" afl-fuzz -i "$work/in" -o "$work/out" -V "$secs" "$@" \
		>"$work/$name.log" 2>&1 || { echo "$name: afl-fuzz failed, see:"; tail -5 "$work/$name.log"; return 1; }
	awk -F' *: *' '$1 == "execs_done" { d = $2 } $1 == "run_time" { t = $2 }
		$1 == "start_time" { s = $2 } $1 == "last_update" { u = $2 }
		END { if (!t) t = u - s; printf "%.0f\n", d / (t ? t : 1) }' \
		"$work/out/default/fuzzer_stats"
}

cf=$(run clang-fast -- -- "$work/target.afl" @@)
pl=$(run loom AFL_QEMU_CUSTOM_BIN=1 -- -Q -- "$loom" "$work/target" @@)
ps=$(run loom-persist AFL_QEMU_CUSTOM_BIN=1 AFL_QEMU_PERSISTENT_ADDR="$addr" \
	AFL_QEMU_PERSISTENT_GPR=1 -- \
	-Q -- "$loom" "$work/target" @@)
printf '%-14s %8s exec/s\n' clang-fast "$cf" loom "$pl" loom-persist "$ps"
awk -v c="$cf" -v p="$pl" -v s="$ps" 'BEGIN {
	printf "loom / clang-fast = %.2f (target >= 0.5); persistent / clang-fast = %.2f (target > 1)\n",
		p / c, s / c }'
