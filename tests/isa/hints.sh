#!/usr/bin/env bash
# The hint and reserved-NOP space against the host: builds hints.c (every
# encoding of 0F 0D and 0F 18-1F, all 256 ModRM bytes, under a set of
# prefix combinations, memory forms pointing at an inaccessible guard
# region), runs it natively -- the oracle -- and under LOOM in three modes
# (default, -one-insn-per-tb, -nochain), and compares each case's outcome.
# One check per case and mode; the first mismatches print as FAIL lines
# (native outcome, then loom's).  Ends with "N passed, N failed".
#
#   tests/isa/hints.sh LOOM [OUTDIR]
set -uo pipefail

if [ $# -lt 1 ]; then
	echo "usage: $0 LOOM [OUTDIR]" >&2
	exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
loom=$1
out=${2:-$root/build/isa/hints}
mkdir -p "$out"
if ! gcc -static -O1 -Wall -Wextra -o "$out/hints" "$here/hints.c" 2>"$out/build.log"; then
	echo "FAIL isa hints: building hints.c failed: $(head -n 3 "$out/build.log")"
	echo "0 passed, 1 failed"
	exit 1
fi
if ! timeout 60 "$out/hints" >"$out/native"; then
	echo "FAIL isa hints: the native run failed"
	echo "0 passed, 1 failed"
	exit 1
fi
total=$(wc -l <"$out/native")
passed=0 failed=0
for m in default -one-insn-per-tb -nochain; do
	flags=()
	[ $m = default ] || flags=("$m")
	timeout -k 5 120 "$loom" "${flags[@]}" "$out/hints" >"$out/loom$m" 2>"$out/loom$m.err"
	st=$?
	# Lines that differ, as "native | loom" (the files hold one case a line,
	# in the same order).
	bad=$(paste -d'|' "$out/native" "$out/loom$m" | awk -F'|' '$1 != $2' | wc -l)
	got=$(wc -l <"$out/loom$m")
	if [ "$got" -lt "$total" ]; then
		bad=$((bad > total - got ? bad : total - got))
	fi
	if [ $st -ne 0 ]; then
		echo "FAIL isa hints/$m: loom exited with status $st: $(tail -n 2 "$out/loom$m.err")"
		[ "$bad" -eq 0 ] && bad=1
	fi
	if [ "$bad" -eq 0 ]; then
		echo "PASS isa hints/$m: $total encodings behave as on the host"
	else
		paste -d'|' "$out/native" "$out/loom$m" | awk -F'|' '$1 != $2' | head -n 20 |
			sed "s/^/FAIL isa hints\/$m: native: /; s/|/  loom: /"
		echo "FAIL isa hints/$m: $bad of $total encodings differ from the host"
	fi
	passed=$((passed + total - bad)) failed=$((failed + bad))
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
