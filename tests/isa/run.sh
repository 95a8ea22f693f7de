#!/usr/bin/env bash
# The differential instruction tester's driver.
#
#   tests/isa/run.sh LOOM [--fast] [--cases N] [--seed S] [--batch int,sse]
#                         [--chunk FORMS] [--timeout SECONDS]
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
# --fast is the sample `tests/run-all.sh` runs (8 cases per form).  The
# batch `hints` is hints.sh: every encoding of the hint and reserved-NOP
# space (0F 0D, 0F 18-1F) by prefix set and ModRM, not generated cases;
# `cpuhost` is cpuhost.sh (-cpu host's CPUID and AT_HWCAP2 against the
# host's).  `adx`, `fsgsbase` and `hostext` (CLFLUSHOPT, CLWB, SERIALIZE,
# MOVDIRI; gen.py prints a SKIP line for each the host lacks) run under
# -cpu host, where the host has
# them (a SKIP line otherwise).
# Ends with "N passed, N failed, N skipped".  Builds go to build/isa/<tag>/;
# the raw result files are deleted after comparing unless ISA_KEEP=1.
# --chunk K generates, runs and deletes K forms of a batch at a time (at
# 1,000 cases a form the alias and pair batches are 10 million cases, 8 GB
# of records each); a chunk's label is BATCH[first form].  --timeout sets
# each run's limit (default 120 s).
set -uo pipefail

if [ $# -lt 1 ]; then
	echo "usage: $0 LOOM [--fast] [--cases N] [--seed S] [--batch LIST] [--chunk FORMS] [--timeout SECONDS]" >&2
	exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
loom=$1
shift
case $loom in /*) ;; *) loom=$(cd "$(dirname "$loom")" && pwd)/$(basename "$loom") ;; esac
cases=32
seed=1
chunk=0
tmo=120
batch=int,alias,pair,mem,string,sse,sse4,x87,bmi,crypto,mmx,misc,hints,cpuhost
# The AVX batches need the host to run them natively (the oracle) and
# loom to run them (-cpu x86-64-v3, which needs AVX2/FMA/F16C too).
host_avx=1
for f in avx2 fma f16c; do
	grep -qw "$f" /proc/cpuinfo || host_avx=0
done
if [ $host_avx = 1 ]; then
	batch=$batch,avx,avx2,fma
fi
# Extensions only -cpu host reports, run where the host has them (FSGSBASE
# also needs the host kernel to enable it: HWCAP2_FSGSBASE in its auxv).
declare -A host_has=([adx]=0 [fsgsbase]=0 [hostext]=0)
grep -qw adx /proc/cpuinfo && host_has[adx]=1
grep -qwE 'clflushopt|clwb|serialize|movdiri' /proc/cpuinfo && host_has[hostext]=1
hwcap2=$(LD_SHOW_AUXV=1 /bin/true | sed -n 's/^AT_HWCAP2: *//p')
grep -qw fsgsbase /proc/cpuinfo && [ $((${hwcap2:-0} & 2)) -ne 0 ] && host_has[fsgsbase]=1
batch=$batch,adx,fsgsbase,hostext
while [ $# -gt 0 ]; do
	case $1 in
	--fast) cases=8 ;;
	--cases) cases=$2; shift ;;
	--seed) seed=$2; shift ;;
	--batch) batch=$2; shift ;;
	--chunk) chunk=$2; shift ;;
	--timeout) tmo=$2; shift ;;
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

gcc -O1 -g -Wall -Wextra -Wno-sign-compare -o "$out/compare" "$here/compare.c" -lZydis 2>"$out/build.log" ||
	fail "building compare.c failed: $(head -n 5 "$out/build.log")"
IFS=, read -ra batches <<<"$batch"
if [ $host_avx = 0 ]; then
	echo "SKIP isa avx,avx2,fma: the host lacks AVX2, FMA or F16C"
	keep=()
	for b in "${batches[@]}"; do
		case $b in avx|avx2|fma) ;; *) keep+=("$b") ;; esac
	done
	batches=("${keep[@]}")
fi

for b in adx fsgsbase hostext; do
	if [ "${host_has[$b]}" = 0 ] && printf '%s\n' "${batches[@]}" | grep -qx $b; then
		echo "SKIP isa $b: the host lacks it (or its kernel does not enable it)"
		keep=()
		for x in "${batches[@]}"; do [ "$x" = $b ] || keep+=("$x"); done
		batches=("${keep[@]}")
	fi
done

# Batches of instructions above the default level run at theirs;
# LOOM_CPU_PARTIAL lets a level run while parts of it are still missing.
declare -A batch_flags=([bmi]="-cpu x86-64-v3" [avx]="-cpu x86-64-v3" [avx2]="-cpu x86-64-v3" [fma]="-cpu x86-64-v3"
	[adx]="-cpu host" [fsgsbase]="-cpu host" [hostext]="-cpu host")
export LOOM_CPU_PARTIAL=1
modes=("default" "one-insn-per-tb" "nochain")
declare -A mode_flags=([default]="" [one-insn-per-tb]="-one-insn-per-tb" [nochain]="-nochain")
passed=0 failed=0 skipped=0 forms_run=0

# run_unit BATCH TAG [A:B]: generate forms A..B-1 of BATCH (all without
# A:B), build its program, run it natively and in every mode, compare.
run_unit() {
	local b=$1 tag=$2 range=${3:-} st p f s
	local sel=()
	[ -n "$range" ] && sel=(--forms "$range")
	python3 "$here/gen.py" "$out" --cases "$cases" --seed "$seed" --batch "$b" "${sel[@]}" >"$out/gen.log" 2>&1 ||
		fail "gen.py failed: $(tail -n 3 "$out/gen.log")"
	cat "$out/gen.log"
	(cd "$out" && gcc -static -no-pie -O1 -Wall -I"$here" -o "$b.bin" "$b.S" \
		"$here/tramp.S" "$here/harness.c") 2>>"$out/build.log" ||
		fail "building batch $b failed: $(head -n 5 "$out/build.log")"
	if ! timeout "$tmo" "$out/$b.bin" >"$out/$b.native"; then
		echo "FAIL isa $tag: the native run failed"
		failed=$((failed + 1))
		return
	fi
	for m in "${modes[@]}"; do
		# shellcheck disable=SC2086
		timeout -k 5 "$tmo" "$loom" ${batch_flags[$b]:-} ${mode_flags[$m]} "$out/$b.bin" >"$out/$b.$m" 2>"$out/$b.$m.err"
		st=$?
		[ $st -ne 0 ] && echo "note isa $tag/$m: loom exited with status $st: $(tail -n 2 "$out/$b.$m.err")"
		known=()
		[ "${ISA_STRICT:-0}" = 1 ] || known=(--known "$here/known.txt")
		"$out/compare" "${known[@]}" "$out/$b.cases" "$out/$b.native" "$out/$b.$m" "$tag/$m" >"$out/$b.$m.cmp"
		cat "$out/$b.$m.cmp"
		# Results run to hundreds of megabytes at high case counts.
		[ "${ISA_KEEP:-0}" = 1 ] || rm -f "$out/$b.$m"
		read -r p f s < <(sed -nE 's/^isa [^:]*: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped$/\1 \2 \3/p' "$out/$b.$m.cmp")
		if [ -z "${p:-}" ]; then
			echo "FAIL isa $tag/$m: the comparator printed no count"
			failed=$((failed + 1))
			continue
		fi
		[ $st -ne 0 ] && [ "$f" -eq 0 ] && f=1
		passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	done
	[ "${ISA_KEEP:-0}" = 1 ] || rm -f "$out/$b.native" "$out/$b.cases" "$out/$b.bin"
}

for b in "${batches[@]}"; do
	# Not generated, whatever --cases: every encoding of the hint space;
	# -cpu host against the host.
	if [ "$b" = hints ] || [ "$b" = cpuhost ]; then
		"$here/$b.sh" "$loom" "$out/$b" | tee "$out/$b.log" | grep -v '^[0-9]* passed'
		read -r p f < <(sed -nE 's/^([0-9]+) passed, ([0-9]+) failed$/\1 \2/p' "$out/$b.log")
		[ -n "${p:-}" ] || { p=0 f=1; echo "FAIL isa $b: $b.sh printed no count"; }
		passed=$((passed + p)) failed=$((failed + f))
		continue
	fi
	if [ "$chunk" -eq 0 ]; then
		run_unit "$b" "$b"
		continue
	fi
	n=$(python3 "$here/gen.py" "$out" --counts-only --batch "$b" | sed -nE 's/^[a-z0-9]+: ([0-9]+) forms.*/\1/p')
	[ -n "$n" ] || fail "gen.py --counts-only printed no form count for $b"
	for ((a = 0; a < n; a += chunk)); do
		run_unit "$b" "$b[$a]" "$a:$((a + chunk))"
	done
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
