#!/usr/bin/env bash
# -cpu host against the host: cpuhost.c reports what a program learns about
# the extensions only -cpu host has (CPUID, AT_HWCAP2, whether the
# instruction runs).  Under
# `LOOM -cpu host` (and its alias max) in three modes it must print what it
# prints natively; under the default model and -cpu x86-64-v2 the answers
# must be self-consistent (reported exactly where the instruction runs).
# Ends with "N passed, N failed".
#
#   tests/isa/cpuhost.sh LOOM [OUTDIR]
set -uo pipefail

if [ $# -lt 1 ]; then
	echo "usage: $0 LOOM [OUTDIR]" >&2
	exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
loom=$1
out=${2:-$root/build/isa/cpuhost}
mkdir -p "$out"
passed=0 failed=0
check() {	# check LABEL OK-STATUS DETAIL
	if [ "$2" = 0 ]; then
		echo "PASS isa cpuhost/$1"
		passed=$((passed + 1))
	else
		echo "FAIL isa cpuhost/$1: $3"
		failed=$((failed + 1))
	fi
}
if ! gcc -static -O1 -Wall -o "$out/cpuhost" "$here/cpuhost.c" 2>"$out/build.log"; then
	echo "FAIL isa cpuhost: building cpuhost.c failed: $(head -n 3 "$out/build.log")"
	echo "0 passed, 1 failed"
	exit 1
fi
"$out/cpuhost" >"$out/native" 2>&1
ok=$?
check native $ok "the native run failed: $(cat "$out/native")"
for m in "-cpu host" "-cpu max" "-cpu host -one-insn-per-tb" "-cpu host -nochain"; do
	# shellcheck disable=SC2086
	timeout 30 "$loom" $m "$out/cpuhost" >"$out/loom" 2>&1
	st=$?
	cmp -s "$out/native" "$out/loom" && [ $st = 0 ]
	ok=$?
	check "$(echo "$m" | tr " " _)" $ok "status $st; native: $(tr '\n' ' ' <"$out/native") loom: $(tr '\n' ' ' <"$out/loom")"
done
for m in "" "-cpu x86-64-v2"; do
	# shellcheck disable=SC2086
	timeout 30 "$loom" $m "$out/cpuhost" >"$out/loom" 2>&1
	st=$?
	[ $st = 0 ] && ! grep -q INCONSISTENT "$out/loom" && [ "$(grep -c ': .*, consistent$' "$out/loom")" = 8 ]
	ok=$?
	check "consistent$(echo " $m" | tr " " _)" $ok "status $st: $(tr '\n' ' ' <"$out/loom")"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
