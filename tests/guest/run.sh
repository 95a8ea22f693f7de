#!/usr/bin/env bash
# Runs the self-checking guest programs natively and under loom and compares.
#
#   tests/guest/run.sh LOOM [NAME...]
#
# For every binary in build/tests/guest (built by `make guest-tests`; NAMEs
# select by prefix, e.g. "string" or "string.musl"), the native run is the
# oracle: each of the modes below must give the same stdout and the same way
# of ending: the same exit status, or death by the same signal (an exit with
# status 134 is not a death by SIGABRT).  stderr is not compared; it is shown
# when a test fails.  A run that exceeds the timeout fails.  Prints one
# PASS/FAIL line per binary and mode and ends with "N passed, N failed".
#
# Environment: JOBS (parallel binaries, default nproc), GUEST_TIMEOUT
# (seconds per run, default 30), GUEST_BINDIR (default build/tests/guest).
set -uo pipefail

if [ $# -lt 1 ]; then
	echo "usage: $0 LOOM [NAME...]" >&2
	exit 2
fi
root=$(cd "$(dirname "$0")/../.." && pwd)
loom=$1
shift
case $loom in /*) ;; *) [ -e "$loom" ] && loom=$(cd "$(dirname "$loom")" && pwd)/$(basename "$loom") ;; esac
bindir=${GUEST_BINDIR:-$root/build/tests/guest}
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
limit=${GUEST_TIMEOUT:-30}

# Mode name and the loom options that select it.
# cpu-x86-64: the baseline CPU model, so glibc takes its SSE2-only routines
# (the default model is x86-64-v2 where the host allows it).  It applies to
# the C programs only: the assembly tests use v2 instructions (cmpxchg16b,
# lahf) without asking CPUID, which a baseline CPU rightly refuses.
# cpu-x86-64-v3: the C programs again with AVX2 reported, so glibc's ifuncs
# pick their AVX2 string and memory routines (when the host has AVX2, FMA
# and F16C, which loom needs for v3).  The *.v3 programs are compiled for
# x86-64-v3 and run only under it (v3-*); without such a host they print a
# SKIP line and are not counted.
declare -A mode_flags=([default]="" [one-insn-per-tb]="-one-insn-per-tb" [nochain]="-nochain"
		       [cpu-x86-64]="-cpu x86-64" [cpu-x86-64-v3]="-cpu x86-64-v3"
		       [v3-one-insn-per-tb]="-cpu x86-64-v3 -one-insn-per-tb"
		       [v3-nochain]="-cpu x86-64-v3 -nochain")
host_v3=1
for f in avx2 fma f16c; do
	grep -qw "$f" /proc/cpuinfo || host_v3=0
done
# Where Intel's and AMD's processors differ in what the SDM and APM leave
# to the implementation, loom follows the host's vendor in user mode
# (x86_amd, src/guest/x86/cpuid.h), so every program's native run is the
# oracle on either.

# The modes a binary runs in.
modes_of() {
	case $1 in
	*.asm) echo default one-insn-per-tb nochain ;;
	*.v3) [ $host_v3 = 1 ] && echo cpu-x86-64-v3 v3-one-insn-per-tb v3-nochain ;;
	*) echo default one-insn-per-tb nochain cpu-x86-64
	   [ $host_v3 = 1 ] && echo cpu-x86-64-v3 ;;
	esac
}

# Every test gets the same arguments and environment, natively and under
# loom: spaces, an empty argument and UTF-8 bytes exercise the loader.
args=(alpha "two words" "" $'caf\xc3\xa9' --flag=1)

work=$(mktemp -d "${TMPDIR:-/tmp}/loom-guest.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/cwd" "$work/tmp"
umask 022
ulimit -c 0

bins=()
for b in "$bindir"/*.glibc "$bindir"/*.musl "$bindir"/*.asm "$bindir"/*.v3; do
	[ -f "$b" ] || continue
	name=$(basename "$b")
	if [ $# -gt 0 ]; then
		keep=0
		for want in "$@"; do
			case $name in "$want"|"$want".*) keep=1 ;; esac
		done
		[ $keep = 1 ] || continue
	fi
	bins+=("$b")
done
if [ ${#bins[@]} -eq 0 ]; then
	echo "FAIL guest: no test binaries in $bindir (run: make guest-tests)"
	echo "0 passed, 1 failed"
	exit 1
fi
if [ ! -x "$loom" ]; then
	echo "note: $loom is not an executable; every loom run will fail" >&2
fi

. "$root/tests/guest/harness.sh"
harness_limit=$limit
harness_cwd=$work/cwd
harness_env=(PATH=/usr/bin:/bin HOME=/nonexistent LANG=C LC_ALL=C TMPDIR="$work/tmp"
	LOOM_GUEST_TEST=1)

# check_binary BIN: prints the PASS/FAIL lines for all modes of one binary.
check_binary() {
	local bin=$1 name mode
	name=$(basename "$bin")
	if [[ $name == *.v3 ]] && [ $host_v3 = 0 ]; then
		echo "SKIP $name: the host lacks AVX2, FMA or F16C"
		return
	fi
	harness_run "$work/$name.native" "$bin" "${args[@]}"
	for mode in $(modes_of "$name"); do
		local flags=${mode_flags[$mode]} repro
		# shellcheck disable=SC2086  # flags are options without spaces in them
		harness_run "$work/$name.$mode" "$loom" $flags "$bin" "${args[@]}"
		repro=$(printf '%q' "$loom"; [ -n "$flags" ] && printf ' %s' "$flags"
			printf ' %q' "$bin" "${args[@]}")
		harness_compare "$name $mode" "$work/$name.native" "$work/$name.$mode" "$repro"
	done
}

# Run binaries JOBS at a time, printing results in order as they finish.
pids=()
next=0
for i in "${!bins[@]}"; do
	check_binary "${bins[$i]}" >"$work/result.$i" 2>&1 &
	pids[i]=$!
	while [ $((i - next + 1)) -ge "$jobs" ]; do
		wait "${pids[next]}"
		cat "$work/result.$next"
		next=$((next + 1))
	done
done
while [ $next -lt ${#bins[@]} ]; do
	wait "${pids[next]}"
	cat "$work/result.$next"
	next=$((next + 1))
done

passed=$(cat "$work"/result.* | grep -c '^PASS ')
failed=$(cat "$work"/result.* | grep -c '^FAIL ')
# A binary whose checker died without reporting all modes counts as failed.
expected=0
for b in "${bins[@]}"; do
	n=$(modes_of "$(basename "$b")" | wc -w)
	expected=$((expected + n))
done
if [ $((passed + failed)) -ne $expected ]; then
	echo "FAIL guest: only $((passed + failed)) of $expected results were reported"
	failed=$((failed + expected - passed - failed))
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
