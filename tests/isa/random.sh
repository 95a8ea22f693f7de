#!/usr/bin/env bash
# The random-instruction-stream tester's driver (risu-like).
#
#   tests/isa/random.sh LOOM [--streams N] [--seed S] [--first I]
#                            [--batch B] [--timeout SECONDS] [--jobs J]
#
# Builds rgen (host, Zydis) and rharness (static guest program), then per
# batch of B streams (default 4000): rgen writes streams I.. of seed S,
# rharness runs them natively -- the oracle -- and under LOOM in three modes
# (default, -one-insn-per-tb, -nochain), and rgen compares each loom run
# with the native one.  One check per stream and mode.  A mismatching
# stream prints a FAIL line with its seed and number, its class (the part
# that differs and the instruction that last wrote it), and for the first
# ones of a batch the stream disassembled, its inputs, what differs and a
# repro line.  Classes listed in tests/isa/random-known.txt print KNOWN and
# count as skipped (ISA_STRICT=1 counts them as failures); so do streams
# that were not compared (an instruction set the host and loom's model
# disagree on, a read of something left undefined, or an instruction of
# an extension both CPUIDs hide that loom refuses but the host runs, as
# a virtual machine's CPU does), counted on the
# `filtered` lines.  Ends with the classes over all batches and
# "N passed, N failed, N skipped".  --jobs 3 runs the three modes at once.
set -uo pipefail

if [ $# -lt 1 ]; then
	echo "usage: $0 LOOM [--streams N] [--seed S] [--first I] [--batch B] [--timeout SECONDS] [--jobs J]" >&2
	exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
loom=$1
shift
case $loom in /*) ;; *) loom=$(cd "$(dirname "$loom")" && pwd)/$(basename "$loom") ;; esac
streams=4000 seed=1 first=0 batch=4000 tmo=120 jobs=1
num() {
	case $2 in '' | *[!0-9]*) echo "$0: $1 needs a number, not '$2'" >&2; exit 2 ;; esac
}
while [ $# -gt 0 ]; do
	case $1 in
	--streams | --seed | --first | --batch | --timeout | --jobs)
		num "$1" "${2:-}"
		case $1 in
		--streams) streams=$2 ;; --seed) seed=$2 ;; --first) first=$2 ;;
		--batch) batch=$2 ;; --timeout) tmo=$2 ;; --jobs) jobs=$2 ;;
		esac
		shift ;;
	*) echo "$0: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
[ "$batch" -ge 1 ] && [ "$batch" -le 8192 ] || { echo "$0: --batch must be 1..8192" >&2; exit 2; }
out=$root/build/isa-random/s$seed-$$
mkdir -p "$out"
trap 'rm -rf "$out"' EXIT
fail() {
	echo "FAIL isa-random: $*"
	echo "0 passed, 1 failed"
	exit 1
}
gcc -O2 -Wall -Wextra -Wno-format-truncation -o "$out/rgen" "$here/rgen.c" -lZydis 2>"$out/build.log" ||
	fail "building rgen.c failed: $(head -n 5 "$out/build.log")"
# static-pie: the harness lives far from the low 4 GB, which a stream's
# small or 32-bit addresses reach (a rep stos from 0x804c53 wrote over a
# non-PIE harness's data: seed 1 stream 695730).
gcc -static-pie -fPIE -O1 -fno-stack-protector -Wall -Wextra -o "$out/rharness" "$here/rharness.c" \
	"$here/rtramp.S" 2>>"$out/build.log" ||
	fail "building rharness failed: $(head -n 5 "$out/build.log")"
[ -x "$loom" ] || fail "$loom is not an executable"

modes=("default" "one-insn-per-tb" "nochain")
declare -A mode_flags=([default]="" [one-insn-per-tb]="-one-insn-per-tb" [nochain]="-nochain")
known=()
[ "${ISA_STRICT:-0}" = 1 ] || known=(--known "$here/random-known.txt")
export LOOM_CPU_PARTIAL=1
passed=0 failed=0 skipped=0 differ=0
# The oracle is the host CPU, and loom's model is Intel's where the vendors
# differ in what the SDM and APM leave to the implementation (but for the
# differences src/guest/x86/cpuid.h lists, which user mode follows on an
# AMD host).  On another vendor's host a stream that differs is reported
# (DIFF lines, the classes below) and counted as skipped, not failed; a
# native run or a loom run that fails still fails.
host_intel=0
grep -q '^vendor_id[[:space:]]*: GenuineIntel' /proc/cpuinfo && host_intel=1
: >"$out/classes" >"$out/filtered" >"$out/dropped"

run_mode() {
	local m=$1 b=$2 st
	# shellcheck disable=SC2086
	timeout -k 5 "$tmo" "$loom" ${mode_flags[$m]} "$out/rharness" "$out/$b.streams" >"$out/$b.$m" 2>"$out/$b.$m.err"
	st=$?
	{
		[ $st -ne 0 ] && echo "note isa-random $b/$m: loom exited with status $st: $(tail -n 2 "$out/$b.$m.err")"
		"$out/rgen" cmp "${known[@]}" "$out/$b.streams" "$out/$b.native" "$out/$b.$m" "$b/$m"
		[ $st -ne 0 ] && echo "exit status $st"
	} >"$out/$b.$m.cmp"
	rm -f "$out/$b.$m"
}

end=$((first + streams))
for ((a = first; a < end; a += batch)); do
	n=$((end - a < batch ? end - a : batch))
	b=$a
	"$out/rgen" gen "$seed" "$a" "$n" "$out/$b.streams" >>"$out/dropped" || fail "rgen gen failed"
	if ! timeout "$tmo" "$out/rharness" "$out/$b.streams" >"$out/$b.native" 2>"$out/$b.native.err"; then
		echo "FAIL isa-random $b: the native run failed: $(head -n 2 "$out/$b.native.err")"
		failed=$((failed + 1))
		continue
	fi
	for m in "${modes[@]}"; do
		if [ "$jobs" -gt 1 ]; then
			run_mode "$m" "$b" &
		else
			run_mode "$m" "$b"
		fi
	done
	wait
	for m in "${modes[@]}"; do
		c=$out/$b.$m.cmp
		grep -vE '^(class|filtered) ' "$c" | grep -vE '^random .*: [0-9]+ passed' | grep -v '^exit status' |
			if [ "$host_intel" = 1 ]; then cat; else sed 's/^FAIL /DIFF /'; fi
		grep '^class ' "$c" | sed -E 's/^class [^:]*: (.*): ([0-9]+) \(first: (.*)\)( known)?$/\2\t\1\t\3\4/' >>"$out/classes"
		grep '^filtered ' "$c" | sed -E 's/^filtered [^:]*: ([0-9]+) [^,]*, ([0-9]+) [^,]*, ([0-9]+) .*/\1 \2 \3/' >>"$out/filtered"
		read -r p f s < <(sed -nE 's/^random [^:]*: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped$/\1 \2 \3/p' "$c")
		if [ -z "${p:-}" ]; then
			echo "FAIL isa-random $b/$m: the comparator printed no count"
			failed=$((failed + 1))
			continue
		fi
		if grep -q '^exit status' "$c"; then
			[ "$f" -eq 0 ] && f=1
		elif [ "$host_intel" = 0 ]; then
			differ=$((differ + f)) skipped=$((skipped + f)) f=0
		fi
		passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	done
	rm -f "$out/$b".*
done

echo "isa-random: seed $seed, streams $first..$((end - 1)), ${#modes[@]} modes"
sed -nE 's/^dropped at generation: ([0-9]+): (.*)/\1\t\2/p' "$out/dropped" |
	awk -F'\t' '{ n[$2] += $1 } END { for (k in n) printf "  dropped at generation: %d instructions (%s)\n", n[k], k }' |
	sort -t: -k2 -rn
awk '{ m += $1; u += $2; h += $3 } END { printf "  not compared: %d stream runs use an extension the host and loom'"'"'s model disagree on, %d read a flag, count or condition code left undefined, %d run an instruction of an extension both CPUIDs hide that the host runs (loom: #UD)\n", m, u, h }' \
	"$out/filtered"
awk -F'\t' '{ n[$2] += $1; if (!($2 in ex)) ex[$2] = $3 } END { for (k in n) printf "  mismatch class %s: %d stream runs (first: %s)\n", k, n[k], ex[k] }' \
	"$out/classes" | sort -t: -k2 -rn
[ "$host_intel" = 0 ] &&
	echo "  this host is not Intel ($(sed -n 's/^vendor_id[[:space:]]*: //p' /proc/cpuinfo | head -n 1)): $differ stream runs that differ from its native run counted as skipped"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
