#!/usr/bin/env bash
# The differential instruction tester's driver.
#
#   tests/isa/run.sh LOOM [--fast] [--cases N] [--seed S] [--batch int,sse]
#
# Generates the batches (gen.py), builds each batch's static test program
# (harness.c + tramp.S + the generated .S) and the comparator (compare.c,
# Zydis), runs every program natively -- the oracle -- and under LOOM in
# three modes (default, -one-insn-per-tb, -nochain), and compares the runs
# case by case.  One check per case and mode; mismatching cases print FAIL
# lines with the instruction, its bytes, the inputs and what differs.  Cases
# of the forms listed in tests/isa/known.txt (known translator bugs, each
# with its reason) print KNOWN lines and count as skipped, so the suite
# stays green while the bug is open; ISA_STRICT=1 counts them as failures.
# --fast is the sample `tests/run-all.sh` runs (8 cases per form).
# Ends with "N passed, N failed, N skipped".  Builds go to build/isa/<tag>/;
# the raw result files are deleted after comparing unless ISA_KEEP=1.
set -uo pipefail

if [ $# -lt 1 ]; then
	echo "usage: $0 LOOM [--fast] [--cases N] [--seed S] [--batch LIST]" >&2
	exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
loom=$1
shift
case $loom in /*) ;; *) loom=$(cd "$(dirname "$loom")" && pwd)/$(basename "$loom") ;; esac
cases=32
seed=1
batch=int,alias,pair,mem,string,sse,sse4,x87,bmi,crypto,mmx,misc
while [ $# -gt 0 ]; do
	case $1 in
	--fast) cases=8 ;;
	--cases) cases=$2; shift ;;
	--seed) seed=$2; shift ;;
	--batch) batch=$2; shift ;;
	*) echo "$0: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
out=$root/build/isa/c$cases-s$seed
mkdir -p "$out"
fail() {
	echo "FAIL isa: $*"
	echo "0 passed, 1 failed"
	exit 1
}

# Generate and build (always: a full generation takes a few seconds).
python3 "$here/gen.py" "$out" --cases "$cases" --seed "$seed" --batch "$batch" >"$out/gen.log" 2>&1 ||
	fail "gen.py failed: $(tail -n 3 "$out/gen.log")"
gcc -O1 -g -Wall -Wextra -Wno-sign-compare -o "$out/compare" "$here/compare.c" -lZydis 2>"$out/build.log" ||
	fail "building compare.c failed: $(head -n 5 "$out/build.log")"
IFS=, read -ra batches <<<"$batch"
for b in "${batches[@]}"; do
	(cd "$out" && gcc -static -no-pie -O1 -Wall -I"$here" -o "$b.bin" "$b.S" \
		"$here/tramp.S" "$here/harness.c") 2>>"$out/build.log" ||
		fail "building batch $b failed: $(head -n 5 "$out/build.log")"
done
cat "$out/gen.log"

# Batches of instructions above the default level run at theirs;
# LOOM_CPU_PARTIAL lets a level run while parts of it are still missing.
declare -A batch_flags=([bmi]="-cpu x86-64-v3")
export LOOM_CPU_PARTIAL=1
modes=("default" "one-insn-per-tb" "nochain")
declare -A mode_flags=([default]="" [one-insn-per-tb]="-one-insn-per-tb" [nochain]="-nochain")
passed=0 failed=0 skipped=0
for b in "${batches[@]}"; do
	if ! timeout 60 "$out/$b.bin" >"$out/$b.native"; then
		echo "FAIL isa $b: the native run failed"
		failed=$((failed + 1))
		continue
	fi
	for m in "${modes[@]}"; do
		# shellcheck disable=SC2086
		timeout -k 5 120 "$loom" ${batch_flags[$b]:-} ${mode_flags[$m]} "$out/$b.bin" >"$out/$b.$m" 2>"$out/$b.$m.err"
		st=$?
		[ $st -ne 0 ] && echo "note isa $b/$m: loom exited with status $st: $(tail -n 2 "$out/$b.$m.err")"
		known=()
		[ "${ISA_STRICT:-0}" = 1 ] || known=(--known "$here/known.txt")
		"$out/compare" "${known[@]}" "$out/$b.cases" "$out/$b.native" "$out/$b.$m" "$b/$m" >"$out/$b.$m.cmp"
		cat "$out/$b.$m.cmp"
		# Results run to hundreds of megabytes at high case counts.
		[ "${ISA_KEEP:-0}" = 1 ] || rm -f "$out/$b.$m"
		read -r p f s < <(sed -nE 's/^isa [^:]*: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped$/\1 \2 \3/p' "$out/$b.$m.cmp")
		if [ -z "${p:-}" ]; then
			echo "FAIL isa $b/$m: the comparator printed no count"
			failed=$((failed + 1))
			continue
		fi
		[ $st -ne 0 ] && [ "$f" -eq 0 ] && f=1
		passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	done
	[ "${ISA_KEEP:-0}" = 1 ] || rm -f "$out/$b.native"
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
