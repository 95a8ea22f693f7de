#!/usr/bin/env bash
# The plugin tests: bundled plugins under guest programs, exact counts,
# conformance of the plugin API, loading and its errors.
#
#   tests/plugins/run.sh LOOM [PREFIX...]
#
# Case groups (a PREFIX selects cases by name, e.g. "counts", "matrix/cache"):
#   matrix/PLUGIN/PROG  every guest test program (build/tests/guest, see
#                       tests/guest/run.sh) under a bundled plugin: stdout
#                       and the way it ends equal to the native run's, and
#                       the plugin's report present in the log.  Cheap
#                       plugins run every program; bb,inline=off, insn,
#                       hotblocks, mem, syscall and stoptrigger run the
#                       MEDIUM list; execlog (a log line per instruction)
#                       the SMALL list; cache and hotpages the MEDIUM list.
#                       PLUGINS_FULL=1 runs every plugin on every program.
#   counts/...          tests/plugins/asm/count.S: instruction, TB, class,
#                       load/store, syscall, block, page and cache counts
#                       known by construction (the arithmetic is below and
#                       in count.S), in default mode, -one-insn-per-tb and
#                       -nochain, inline and through callbacks, one plugin
#                       at a time and four together
#   stop/...            stoptrigger: exit after N instructions or at an
#                       address, with its exit code; atexit callbacks run
#   counts/faults/MODE  asm/faults.S: exact counts across 1,000 faults, inline
#                       (the pinned counter) and through callbacks
#   split/MODE          asm/long.S: a 2,000-instruction block under heavy.c
#                       (too much instrumentation for one TB: split), exact
#                       counts and the native run's stdout
#   conform/MODE        tests/plugins/conform.c on asm/conform.S: every API
#                       function checked; stdout = conform.expected
#   signals/...         sigsend + sigrecv exchange loom plugin signals
#   qemuhdr             a plugin built against tests/plugins/qemu-include
#   qemuregs            a version-4 plugin reading registers (int returns)
#   qemuv1/MODE         a plugin built against tests/plugins/qemu-v1-include
#                       (API version 1, QEMU 7.2): exact counts on count.S
#   uninstall           a plugin removing itself mid-run
#   load/...            -plugin NAME / PATH,args / file=PATH,args, LOOM_PLUGIN
#   errors/...          missing file, not an ELF, no qemu_plugin_version,
#                       version 99, install failing: one line on stderr
#                       naming the plugin, non-zero status, the guest not
#                       run; a bad argument to bb: bb's reason and loom's line
# Prints one PASS/FAIL line per case and ends with "N passed, N failed".
# Environment: JOBS (default nproc), PLUGIN_TIMEOUT (seconds per run,
# default 60, 900 with PLUGINS_FULL=1), PLUGINS_FULL=1.
set -uo pipefail

if [ $# -lt 1 ]; then
	echo "usage: $0 LOOM [PREFIX...]" >&2
	exit 2
fi
root=$(cd "$(dirname "$0")/../.." && pwd)
loom=$1
shift
case $loom in /*) ;; *) [ -e "$loom" ] && loom=$(cd "$(dirname "$loom")" && pwd)/$(basename "$loom") ;; esac
filters=("$@")
pdir=$(dirname "$loom")/plugins		# bundled plugins of this build
tdir=$root/build/tests/plugins		# test plugins and programs
gdir=$root/build/tests/guest
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
keep_work=0

work=$(mktemp -d "${TMPDIR:-/tmp}/loom-plugins.XXXXXX")
trap '[ "$keep_work" = 1 ] || rm -rf "$work"' EXIT
mkdir -p "$work/cwd" "$work/tmp" "$work/out" "$work/native" "$work/run"
umask 022
ulimit -c 0

. "$root/tests/guest/harness.sh"
# every plugin on every program includes execlog on 300M instructions
full_limit=60
[ "${PLUGINS_FULL:-0}" = 1 ] && full_limit=900
harness_limit=${PLUGIN_TIMEOUT:-$full_limit}
harness_cwd=$work/cwd
harness_env=(PATH=/usr/bin:/bin HOME=/nonexistent LANG=C LC_ALL=C TMPDIR="$work/tmp"
	LOOM_GUEST_TEST=1)
args=(alpha "two words" "" $'caf\xc3\xa9' --flag=1)	# as tests/guest/run.sh

for f in "$tdir/count.asm" "$tdir/conform.asm" "$tdir/libconform.so" "$pdir/libbb.so" \
	"$tdir/faults.asm" "$tdir/libicount.so" "$tdir/libqcount1.so" "$tdir/libheavy.so" \
	"$tdir/long.asm"; do
	if [ ! -e "$f" ]; then
		echo "FAIL plugins: $f is missing (run: make test-plugins)"
		echo "0 passed, 1 failed"
		exit 1
	fi
done

# ---- helpers -----------------------------------------------------------

# lrun OUT LOOM-ARGS...: one loom run with the plugin log in OUT.log.
lrun() {
	local out=$1
	shift
	harness_run "$out" "$loom" -d plugin -D "$out.log" "$@"
}

errs=()
# expect_re OUT ERE [what]: OUT.log has a line matching ^ERE$.
expect_re() {
	grep -qE -- "^$2\$" "$1.log" 2>/dev/null || errs+=("no line matching '^$2\$' in the log${3:+ ($3)}")
}
expect_no_re() {
	! grep -qE -- "^$2\$" "$1.log" 2>/dev/null || errs+=("unexpected line matching '^$2\$' in the log")
}
expect_status() {
	local s
	s=$(cat "$1.status" 2>/dev/null)
	[ "$s" = "$2" ] || errs+=("status: $(harness_describe "$s"), want $(harness_describe "$2")")
}
expect_stdout() {
	cmp -s "$1.out" "$2" || errs+=("stdout differs: $(head -c 200 "$1.out" | tr '\n' '|')")
}

# report NAME OUT REPRO: PASS, or FAIL with the collected errors.
report() {
	local name=$1 out=$2 repro=$3
	if [ ${#errs[@]} -eq 0 ]; then
		echo "PASS $name"
		return
	fi
	echo "FAIL $name: ${errs[0]}"
	local e
	for e in "${errs[@]:1:6}"; do echo "    $e"; done
	if [ -s "$out.err" ]; then
		echo "    loom stderr (last lines):"
		tail -n 3 "$out.err" | cut -c1-200 | sed 's/^/      /'
	fi
	echo "    repro: $repro"
}

sym() {		# sym BIN NAME: the symbol's address, as 0x%016x
	printf '0x%016x' "0x$(nm "$1" | awk -v n="$2" '$3 == n { print $1 }')"
}

declare -A mode_flags=([default]="" [one-insn-per-tb]="-one-insn-per-tb" [nochain]="-nochain")
modes=(default one-insn-per-tb nochain)

# ---- count.S arithmetic (see the comment at the top of count.S) --------
count=$tdir/count.asm
N=$(sed -n 's/^#define LOOPS //p' "$root/tests/plugins/asm/count.S")
INSNS=$((8 * N + 18))
TBS_BLOCK=$((N + 6))		# a TB ends at each branch and syscall
LOADS=$((3 * N + 1))
STORES=$((3 * N + 1))
printf 'count done\n' >"$work/count.expected"
loop_top=$(sym "$count" loop_top)
code_lo=$(sym "$count" _start)
code_hi=$(($(sym "$count" leaf) + 1))		# leaf: the last instruction, 1 byte
buf=$(sym "$count" buf)
msg=$(printf '0x%x' "$(sym "$count" msg)")
do_write=$(sym "$count" do_write)
do_getpid=$(printf '0x%x' "$(sym "$count" do_getpid)")
# cache: 64-byte blocks; code and buf (16 bytes) are read cold once each
# block, the stack slot push/pop/call/ret use is one more block.
IBLOCKS=$((((code_hi - 1) >> 6) - (code_lo >> 6) + 1))
DBLOCKS=$((((buf + 15) >> 6) - (buf >> 6) + 1 + 1))

# count_checks OUT TBS: the checks shared by every plugin combination.
check_bb() { expect_re "$1" "bb's: $2, insns: $INSNS"; }
check_insn() {
	expect_re "$1" "insns: $INSNS"
	expect_re "$1" "class branch: $((N + 2)) \(.*\)"
	expect_re "$1" "class load/store: $((5 * N)) \(.*\)"
	expect_re "$1" "class arith: $((2 * N + 4)) \(.*\)"
	expect_re "$1" "class other: 12 \(.*\)"
	expect_re "$1" "class float/simd: 0 \(.*\)"
}
check_mem() { expect_re "$1" "loads: $LOADS, stores: $STORES, accesses: $((LOADS + STORES))"; }
check_syscall() {
	expect_re "$1" "write +1 +0"
	expect_re "$1" "close +1 +1"
	expect_re "$1" "getpid +1 +0"
	expect_re "$1" "exit_group +1 +0"
}

case_counts() {
	local name=$1 mode=$2 what=$3 out=$work/run/${1//\//_}
	local flags=${mode_flags[$mode]} tbs=$TBS_BLOCK plugins=()
	[ "$mode" = one-insn-per-tb ] && tbs=$INSNS
	case $what in
	bb) plugins=(-plugin bb) ;;
	bb-cb) plugins=(-plugin "bb,inline=off") ;;
	insn) plugins=(-plugin insn) ;;
	insn-cb) plugins=(-plugin "insn,inline=off") ;;
	mem) plugins=(-plugin mem) ;;
	mem-cb) plugins=(-plugin "mem,inline=off") ;;
	syscall) plugins=(-plugin "syscall,print=on") ;;
	hotblocks) plugins=(-plugin hotblocks) ;;
	hotpages) plugins=(-plugin hotpages) ;;
	cache) plugins=(-plugin "cache,l2=on") ;;
	cache-fifo) plugins=(-plugin "cache,l2=on,evict=fifo") ;;
	cache-rand) plugins=(-plugin "cache,l2=on,evict=rand,dassoc=2,iassoc=1") ;;
	insn-match) plugins=(-plugin "insn,match=push,inline=off") ;;
	mem-trace) plugins=(-plugin "mem,trace=on") ;;
	mem-loads) plugins=(-plugin "mem,rw=r") ;;
	all) plugins=(-plugin bb -plugin insn -plugin mem -plugin syscall) ;;
	execlog-ifilter)	# the loop and the call after it, rdx's changes
		plugins=(-plugin "execlog,ifilter=$(printf '0x%x-0x%x' "$loop_top" "$do_write"),reg=rdx,outfile=$out.trace") ;;
	execlog-afilter)	# the instructions touching buf's 16 bytes
		plugins=(-plugin "execlog,afilter=$(printf '0x%x-0x%x' "$buf" $((buf + 16))),outfile=$out.trace") ;;
	esac
	errs=()
	# shellcheck disable=SC2086
	lrun "$out" $flags "${plugins[@]}" "$count"
	expect_status "$out" "exit 0"
	expect_stdout "$out" "$work/count.expected"
	case $what in
	bb | bb-cb) check_bb "$out" "$tbs" ;;
	insn | insn-cb) check_insn "$out" ;;
	mem | mem-cb) check_mem "$out" ;;
	syscall)
		check_syscall "$out"
		expect_re "$out" "\[0\] write\(0x1, $msg, 0xb\) = 11"
		expect_re "$out" "\[0\] close\(0xffffffff\) = -9 \(error\)"
		expect_re "$out" "\[0\] getpid\(\) = [0-9]+"
		expect_re "$out" "\[0\] exit_group\(0x0\) = \?"
		;;
	hotblocks)
		# the loop TB: N-1 runs of 8 insns (its first pass is in
		# _start's TB); one instruction per TB: N runs of 1
		if [ "$mode" = one-insn-per-tb ]; then
			expect_re "$out" "$loop_top, 1, 1, $N"
		else
			expect_re "$out" "$loop_top, 1, 8, $((N - 1))"
		fi
		[ "$(sed -n 3p "$out.log")" = "$( [ "$mode" = one-insn-per-tb ] &&
			echo "$loop_top, 1, 1, $N" || echo "$loop_top, 1, 8, $((N - 1))")" ] ||
			errs+=("the loop TB is not the first of the list: $(sed -n 3p "$out.log")")
		;;
	hotpages)
		# buf's page: 2 loads and 2 stores per iteration; the stack's:
		# push/pop per iteration plus call/ret
		expect_re "$out" "pages: 2 distinct, pagesize 4096"
		expect_re "$out" "$(printf '0x%016x' $((buf & ~4095))), $((2 * N)), $((2 * N)), $((4 * N))"
		expect_re "$out" "0x[0-9a-f]{16}, $((N + 1)), $((N + 1)), $((2 * N + 2))"
		;;
	cache*)
		# only cold misses: the code, buf and the stack slot fit any of
		# these caches without conflicts
		local d=$((LOADS + STORES)) l2=$((IBLOCKS + DBLOCKS))
		expect_re "$out" "0, $d, $DBLOCKS, [0-9.]+%, $INSNS, $IBLOCKS, [0-9.]+%, $l2, $l2, 100.0000%"
		;;
	insn-match)	# one push per iteration
		expect_re "$out" "insns matching: $N"
		expect_re "$out" "  0x[0-9a-f]{16} $N push.*"
		;;
	mem-trace)
		local lines
		lines=$(grep -cE '^vcpu 0, pc 0x[0-9a-f]+, (load|store) 0x[0-9a-f]+, size 8, value 0x[0-9a-f]+$' "$out.log")
		[ "$lines" -eq $((LOADS + STORES)) ] || errs+=("$lines trace lines, want $((LOADS + STORES))")
		check_mem "$out"
		;;
	mem-loads) expect_re "$out" "loads: $LOADS, stores: 0, accesses: $LOADS" ;;
	execlog-ifilter)
		# 8 instructions per iteration and the call; the add changes rdx
		# on every iteration (rcx > 0)
		local lines adds
		lines=$(wc -l <"$out.trace")
		adds=$(grep -c "^0, $(printf '0x%x' $((loop_top + 3))), .*, rdx=0x" "$out.trace")
		[ "$lines" -eq $((8 * N + 1)) ] || errs+=("$lines trace lines, want $((8 * N + 1))")
		[ "$adds" -eq "$N" ] || errs+=("$adds lines of the add with rdx changed, want $N")
		;;
	execlog-afilter)
		# per iteration: the load of buf[0], the store to buf[8], the add to buf[0]
		local lines
		lines=$(wc -l <"$out.trace")
		[ "$lines" -eq $((3 * N)) ] || errs+=("$lines trace lines, want $((3 * N))")
		;;
	all)
		check_bb "$out" "$tbs"
		check_insn "$out"
		check_mem "$out"
		check_syscall "$out"
		;;
	esac
	report "$name" "$out" "$loom -d plugin $flags ${plugins[*]} $count"
}

case_stop() {
	local name=$1 mode=$2 what=$3 out=$work/run/${1//\//_}
	local flags=${mode_flags[$mode]} spec status expected=$work/count.expected
	case $what in
	icount-after-write)	# 3 + 8N + call + ret + 5: the write is done
		spec="stoptrigger,icount=$((8 * N + 10)),exit_code=7" status="exit 7" ;;
	icount-before-write)	# one short of it
		spec="stoptrigger,icount=$((8 * N + 9)),exit_code=7" status="exit 7"
		expected=/dev/null ;;
	addr)
		spec="stoptrigger,addr=$do_getpid:5" status="exit 5" ;;
	esac
	errs=()
	# shellcheck disable=SC2086
	lrun "$out" $flags -plugin "$spec" -plugin syscall -plugin bb "$count"
	expect_status "$out" "$status"
	expect_stdout "$out" "$expected"
	expect_re "$out" "bb's: [0-9]+, insns: [0-9]+" "bb's atexit callback ran"
	expect_no_re "$out" "getpid +[0-9]+ +[0-9]+"
	if [ "$expected" = /dev/null ]; then
		expect_no_re "$out" "write +[0-9]+ +[0-9]+"
	else
		expect_re "$out" "write +1 +0"
	fi
	case $what in
	addr) expect_re "$out" "close +1 +1"
	      expect_re "$out" "address $do_getpid reached, exiting" ;;
	*) expect_re "$out" "icount reached, exiting" ;;
	esac
	report "$name" "$out" "$loom -d plugin $flags -plugin $spec -plugin syscall -plugin bb $count"
}

case_conform() {
	local name=$1 mode=$2 out=$work/run/${1//\//_} flags=${mode_flags[$2]}
	local spec="file=$tdir/libconform.so,bin=$tdir/conform.asm"
	errs=()
	# shellcheck disable=SC2086
	lrun "$out" $flags -plugin "$spec" "$tdir/conform.asm"
	expect_status "$out" "exit 0"
	expect_stdout "$out" "$root/tests/plugins/conform.expected"
	expect_re "$out" "conform: [1-9][0-9]* passed, 0 failed"
	grep -a '^conform: FAIL' "$out.log" 2>/dev/null | head -n 5 | while read -r l; do
		echo "$l"; done >"$out.fails"
	while read -r l; do errs+=("$l"); done <"$out.fails"
	report "$name" "$out" "$loom -d plugin $flags -plugin $spec $tdir/conform.asm"
}

# execlog,sym=known_code on conform.S (its one FUNC symbol the trace may
# select): the function's 6 instructions, run once, the first being movabs.
case_execlog_sym() {
	local name=$1 out=$work/run/${1//\//_} prog=$tdir/conform.asm
	local spec="execlog,sym=known_code,outfile=$work/run/execlog_sym.trace"
	errs=()
	lrun "$out" -plugin "$spec" "$prog"
	expect_status "$out" "exit 0"
	local lines first
	lines=$(wc -l <"$work/run/execlog_sym.trace")
	first=$(head -n 1 "$work/run/execlog_sym.trace")
	[ "$lines" -eq 6 ] || errs+=("$lines trace lines, want 6")
	[[ $first == "0, $(printf '0x%x' "$(sym "$prog" known_code)"), 48 b8 88 77 66 55 44 33 22 11, "* ]] ||
		errs+=("first line: $first")
	report "$name" "$out" "$loom -plugin $spec $prog"
}

case_signals() {
	local name=$1 order=$2 out=$work/run/${1//\//_} p
	local recv="$tdir/libsigrecv.so" send="$tdir/libsigsend.so"
	if [ "$order" = recv-first ]; then p=(-plugin "$recv" -plugin "$send")
	else p=(-plugin "$send" -plugin "$recv"); fi
	errs=()
	lrun "$out" "${p[@]}" "$count"
	expect_status "$out" "exit 0"
	expect_stdout "$out" "$work/count.expected"
	# count.S makes 4 syscalls: write (1), close (3), getpid (39), exit_group (231)
	expect_re "$out" "sigrecv: 4 signals, sum 274, last 231"
	expect_re "$out" "sigsend: 4 emitted, 4 delivered"
	report "$name" "$out" "$loom -d plugin ${p[*]} $count"
}

case_qemuhdr() {
	local name=$1 out=$work/run/$1
	errs=()
	lrun "$out" -plugin "$tdir/libqcount.so" "$count"
	expect_status "$out" "exit 0"
	expect_stdout "$out" "$work/count.expected"
	expect_re "$out" "qcount: tbs $TBS_BLOCK, insns $INSNS, insns by callback $INSNS"
	report "$name" "$out" "$loom -d plugin -plugin $tdir/libqcount.so $count"
}

# split/MODE: asm/long.S, a straight-line block of 2,000 instructions run
# 3 times, under heavy.c (per instruction: inline ops on three
# scoreboards, an inline store, three conditional callbacks, a callback,
# memory callbacks and inline ops): more than one TB may hold, so loom
# translates it as several.  stdout equal to the native run's; every count
# as long.S's arithmetic says; in default mode -d stats must show splits
# (else this case does not test them).  Then stoptrigger alone stops it
# right after its write and one instruction before (exit 7 both times).
long=$tdir/long.asm
if [ -x "$long" ]; then
	LG=$(sed -n 's/^#define GROUPS //p' "$root/tests/plugins/asm/long.S")
	LP=$(sed -n 's/^#define PASSES //p' "$root/tests/plugins/asm/long.S")
	L_INSNS=$((5 + LP * (8 * LG + 2) + 3 + 4 + 3))
	L_LOADS=$((LP * 2 * LG))
	L_STORES=$((LP * 2 * LG + 3))
	l_start=$(sym "$long" _start) l_block=$(sym "$long" block)
	l_after=$(sym "$long" after) l_end=$(sym "$long" end)
	L_BYTES=$((l_block - l_start + LP * (l_after - l_block) + l_end - l_after))
	"$long" >"$work/long.native" 2>/dev/null
	echo $? >"$work/long.native.status"
fi
case_split() {
	local name=$1 mode=$2 flags=${mode_flags[$2]} out=$work/run/${1//\//_}
	errs=()
	if [ ! -x "$long" ]; then
		echo "FAIL $name: $long is missing (run: make plugin-tests)"
		return
	fi
	[ "$(cat "$work/long.native.status")" = 0 ] || errs+=("the native run failed")
	# shellcheck disable=SC2086
	lrun "$out" $flags -d stats -plugin "$tdir/libheavy.so" "$long"
	expect_status "$out" "exit 0"
	expect_stdout "$out" "$work/long.native"
	expect_re "$out" "heavy: insns $L_INSNS, twice $((2 * L_INSNS)), bytes $L_BYTES, tb-insns $L_INSNS, eq $L_INSNS, ne 0, ge $L_INSNS, cb $L_INSNS, loads $L_LOADS, stores $L_STORES, inline-loads $L_LOADS, inline-stores $L_STORES"
	if [ "$mode" = default ] && ! grep -qE 'TBs split$' "$out.log" 2>/dev/null; then
		errs+=("no stats line in the log")
	elif [ "$mode" = default ] && grep -qE ' 0 TBs split$' "$out.log"; then
		errs+=("no TB was split: the block fitted, the case tests nothing")
	fi
	# stoptrigger alone (a conditional callback per instruction) ends it
	# right after the write, or one instruction before it.
	local k=$((L_INSNS - 3))
	# shellcheck disable=SC2086
	lrun "$out.st" $flags -plugin "stoptrigger,icount=$k,exit_code=7" "$long"
	expect_status "$out.st" "exit 7"
	expect_stdout "$out.st" "$work/long.native"
	# shellcheck disable=SC2086
	lrun "$out.st2" $flags -plugin "stoptrigger,icount=$((k - 1)),exit_code=7" "$long"
	expect_status "$out.st2" "exit 7"
	expect_stdout "$out.st2" /dev/null
	report "$name" "$out" "$loom -d plugin,stats $flags -plugin $tdir/libheavy.so $long"
}

# qemuv1/MODE: qemu-v1/qcount1.c, a plugin binary built against the API
# version 1 header (QEMU 7.2's calls: inline ops through a pointer,
# insn_data returning a pointer, n_vcpus/n_max_vcpus) counts count.S exactly.
case_qemuv1() {
	local name=$1 mode=$2 flags=${mode_flags[$2]} out=$work/run/${1//\//_} tbs=$TBS_BLOCK
	[ "$mode" = one-insn-per-tb ] && tbs=$INSNS
	errs=()
	# shellcheck disable=SC2086
	lrun "$out" $flags -plugin "$tdir/libqcount1.so" "$count"
	expect_status "$out" "exit 0"
	expect_stdout "$out" "$work/count.expected"
	expect_re "$out" "qcount1: tbs $tbs, insns $INSNS, insns by tb $INSNS, loads $LOADS, stores $STORES, loads by callback $LOADS, stores by callback $STORES, decl $N, bad data 0"
	expect_re "$out" "qcount1: vcpus 1, max [0-9]+, version-min 1"
	report "$name" "$out" "$loom -d plugin $flags -plugin $tdir/libqcount1.so $count"
}

# qemuregs: qemu-style/qregs.c (API version 4) reads rip and rsp at
# do_write: qemu_plugin_read_register answers 8 (the size, an int before
# version 6), and -1 from a callback registered without register access.
case_qemuregs() {
	local name=$1 out=$work/run/$1
	errs=()
	lrun "$out" -plugin "$tdir/libqregs.so,addr=${do_write#0x}" "$count"
	expect_status "$out" "exit 0"
	expect_stdout "$out" "$work/count.expected"
	expect_re "$out" "qregs: rip size 8 value $do_write, rsp size 8, refused -1, runs 1"
	report "$name" "$out" "$loom -d plugin -plugin $tdir/libqregs.so,addr=${do_write#0x} $count"
}

# counts/faults/MODE: asm/faults.S faults 1,000 times inside a block; by
# construction it executes 12,025 instructions (11 before its loop, 7 per
# iteration, 3 in the handler and 2 in the restorer per fault, 14 after).
# icount keeps its one counter in the pinned register, which the fault path
# must carry to memory (alone: another plugin's callbacks would flush it
# before every instruction); insn,inline=off counts through callbacks.
FAULTS_INSNS=12025
case_faults() {
	local name=$1 mode=$2 flags=${mode_flags[$2]} out=$work/run/${1//\//_}
	errs=()
	# shellcheck disable=SC2086
	lrun "$out" $flags -plugin "$tdir/libicount.so" "$tdir/faults.asm"
	expect_status "$out" "exit 0"
	grep -qx ok "$out.out" || errs+=("the program did not print ok")
	expect_re "$out" "icount: $FAULTS_INSNS" "the inline count"
	# shellcheck disable=SC2086
	lrun "$out.cb" $flags -plugin "insn,inline=off" "$tdir/faults.asm"
	expect_re "$out.cb" "insns: $FAULTS_INSNS" "the count through callbacks"
	report "$name" "$out" "$loom -d plugin $flags -plugin $tdir/libicount.so $tdir/faults.asm"
}

# near: a plugin's callbacks are direct calls from translated code, the
# plugin mapped within rel32 reach of the code cache (exec_near_begin):
# far away, each call is `call *slot` and costs more on some hosts.
case_near() {
	local name=$1 out=$work/run/$1
	errs=()
	harness_run "$out" "$loom" -d plugin,out_asm -D "$out.log" -plugin "insn,inline=off" "$count"
	expect_status "$out" "exit 0"
	expect_stdout "$out" "$work/count.expected"
	expect_re "$out" "insns: $INSNS" "the count through callbacks"
	grep -qE '^0x[0-9a-f]+: +call 0x' "$out.log" || errs+=("no direct call in -d out_asm")
	if grep -qE '^0x[0-9a-f]+: +call \*' "$out.log"; then
		errs+=("an indirect call in -d out_asm: $(grep -m1 -E '^0x[0-9a-f]+: +call \*' "$out.log")")
	fi
	report "$name" "$out" "$loom -d plugin,out_asm -plugin insn,inline=off $count"
}

case_uninstall() {
	local name=$1 out=$work/run/$1
	errs=()
	lrun "$out" -plugin "$tdir/libuninstall.so" "$count"
	expect_status "$out" "exit 0"
	expect_stdout "$out" "$work/count.expected"
	expect_re "$out" "uninstall: done"
	expect_no_re "$out" "uninstall: ERROR.*"
	report "$name" "$out" "$loom -d plugin -plugin $tdir/libuninstall.so $count"
}

case_load() {
	local name=$1 what=$2 out=$work/run/${1//\//_} p=() repro
	local harness_env=("${harness_env[@]}")
	case $what in
	short) p=(-plugin "bb,inline=on") ;;
	path) p=(-plugin "$pdir/libbb.so,inline=off") ;;
	file) p=(-plugin "file=$pdir/libbb.so,inline=off,percpu=on") ;;
	env) harness_env+=("LOOM_PLUGIN=bb;mem,inline=off") ;;
	idle) p=(-plugin "bb,idle=on") ;;
	# One shared object twice: two instances, each with its own globals
	# (the second is loaded from a private copy), each counting it all.
	twice) p=(-plugin "bb,inline=on" -plugin "$pdir/libbb.so,inline=off") ;;
	esac
	errs=()
	if [ "$what" = idle ]; then
		# conform.S sleeps once (nanosleep): one idle report
		lrun "$out" "${p[@]}" "$tdir/conform.asm"
		expect_status "$out" "exit 0"
		expect_re "$out" "CPU0: idle: bb's: [0-9]+, insns: [0-9]+"
		[ "$(grep -c "idle:" "$out.log")" -eq 1 ] || errs+=("not exactly one idle report")
		report "$name" "$out" "$loom -d plugin ${p[*]} $tdir/conform.asm"
		return
	fi
	lrun "$out" "${p[@]}" "$count"
	expect_status "$out" "exit 0"
	expect_stdout "$out" "$work/count.expected"
	check_bb "$out" "$TBS_BLOCK"
	[ "$what" = file ] && expect_re "$out" "CPU0: bb's: $TBS_BLOCK, insns: $INSNS"
	[ "$what" = env ] && check_mem "$out"
	if [ "$what" = twice ]; then
		local k
		k=$(grep -cE "^bb's: $TBS_BLOCK, insns: $INSNS\$" "$out.log")
		[ "$k" = 2 ] || errs+=("$k instances reported the whole count (want 2)")
	fi
	repro="$loom -d plugin ${p[*]} $count"
	[ "$what" = env ] && repro="LOOM_PLUGIN='bb;mem,inline=off' $repro"
	report "$name" "$out" "$repro"
}

case_error() {
	local name=$1 what=$2 out=$work/run/${1//\//_} spec path
	case $what in
	missing) path=$work/run/no-such-plugin.so spec=$path ;;
	notelf) path=$work/run/not-an-elf.so spec=$path
		echo "this is not a shared object" >"$path" ;;
	noversion) path=$tdir/libbad-noversion.so spec=$path ;;
	v99) path=$tdir/libbad-v99.so spec=$path ;;
	install) path=$tdir/libbad-install.so spec=$path ;;
	badarg) path=bb spec="bb,bogus=1" ;;
	esac
	errs=()
	harness_run "$out" "$loom" -plugin "$spec" "$count"
	local s
	s=$(cat "$out.status" 2>/dev/null)
	case $s in
	"exit 0" | "") errs+=("status: $(harness_describe "$s"), want a failure") ;;
	"signal "*) errs+=("loom died: $(harness_describe "$s")") ;;
	"exit 124") errs+=("timed out") ;;
	esac
	[ -s "$out.out" ] && errs+=("the guest ran: stdout '$(head -c 80 "$out.out")'")
	# one line from loom; a bundled plugin refusing an argument says why
	# on a line of its own first
	local lines want=1
	[ "$what" = badarg ] && want=2
	lines=$(wc -l <"$out.err")
	[ "$lines" -eq $want ] ||
		errs+=("$lines lines on stderr, want $want: $(tr '\n' '|' <"$out.err" | cut -c1-200)")
	[ "$what" = badarg ] && ! grep -q "bogus" "$out.err" && errs+=("stderr does not name the argument")
	grep -qF -- "$(basename "$path" .so)" "$out.err" ||
		errs+=("stderr does not name the plugin: $(head -c 200 "$out.err")")
	report "$name" "$out" "$loom -plugin $spec $count"
}

# ---- matrix --------------------------------------------------------------

# Bundled plugins in the matrix: a name, its -plugin spec and the line its
# report must have in the log (empty: it reports elsewhere or nothing).
# fpnoise (tests/plugins/fpnoise.c) is a test plugin whose callbacks raise
# every FP exception flag and change the rounding mode: the guest's MXCSR
# must not see it; icount's one inline counter lives in a host register.
matrix_names=(bb bb-cb insn hotblocks mem syscall stoptrigger execlog cache hotpages
	fpnoise-cb fpnoise-rw icount)
declare -A matrix_spec=(
	[bb]="bb" [bb-cb]="bb,inline=off" [insn]="insn" [hotblocks]="hotblocks"
	[mem]="mem" [syscall]="syscall,print=on"
	[stoptrigger]="stoptrigger,icount=1000000000000000"
	[execlog]="execlog,reg=rsp,reg=rax,outfile=/dev/null"
	[cache]="cache,l2=on" [hotpages]="hotpages"
	[fpnoise-cb]="file=$tdir/libfpnoise.so,mode=cb" [fpnoise-rw]="file=$tdir/libfpnoise.so,mode=rw"
	[icount]="file=$tdir/libicount.so")
declare -A matrix_report=(
	[bb]="bb's: [0-9]+, insns: [0-9]+" [bb-cb]="bb's: [0-9]+, insns: [0-9]+"
	[insn]="insns: [0-9]+" [hotblocks]="pc, tcount, icount, ecount"
	[mem]="loads: [0-9]+, stores: [0-9]+, accesses: [0-9]+"
	[syscall]="syscall +calls +errors" [stoptrigger]="" [execlog]=""
	[cache]="core #, data accesses.*" [hotpages]="pages: [0-9]+ distinct, pagesize 4096"
	[fpnoise-cb]="fpnoise: [0-9]+ callbacks, 0 failed" [fpnoise-rw]="fpnoise: [0-9]+ callbacks, 0 failed"
	[icount]="icount: [0-9]+")
# Which programs each plugin runs (without PLUGINS_FULL): ALL, MEDIUM,
# SMALL or FP.  SMALL: the assembly tests and the C tests of fewer than ~1M
# instructions; MEDIUM adds C tests up to ~30M instructions and threads
# (several vCPUs); FP: the floating-point programs (x86-64-v3 ones too).
declare -A matrix_set=([bb]=ALL [bb-cb]=MEDIUM [insn]=MEDIUM [hotblocks]=MEDIUM [mem]=MEDIUM
	[syscall]=MEDIUM [stoptrigger]=MEDIUM [execlog]=SMALL [cache]=MEDIUM [hotpages]=MEDIUM
	[fpnoise-cb]=FP [fpnoise-rw]=FP [icount]=MEDIUM)
small_c=(abort exit3 sigfpstate fork signals jit env mmap setjmp syscalls sse)
medium_c=("${small_c[@]}" float shifts smc switch fileio arith_add funcptr bitops threads)
fp_c=(mxcsr float sse sse_chain longdouble sigfpstate vecloops intrin vexfp)

in_set() {	# in_set SET PROGNAME
	local set=$1 prog=$2 base=${2%.*} c
	[ "${PLUGINS_FULL:-0}" = 1 ] || [ "$set" = ALL ] && return 0
	[[ $prog == *.asm ]] && [ "$set" != FP ] && return 0
	local list=("${small_c[@]}")
	[ "$set" = MEDIUM ] && list=("${medium_c[@]}")
	[ "$set" = FP ] && list=("${fp_c[@]}")
	for c in "${list[@]}"; do [ "$c" = "$base" ] && return 0; done
	return 1
}

case_matrix() {
	local name=$1 plugin=$2 bin=$3 prog out=$work/run/${1//\//_}
	prog=$(basename "$bin")
	local spec=${matrix_spec[$plugin]} want=${matrix_report[$plugin]}
	errs=()
	lrun "$out" -plugin "$spec" "$bin" "${args[@]}"
	local repro
	repro=$(printf '%q' "$loom"; printf ' -d plugin -plugin %s' "$spec"; printf ' %q' "$bin" "${args[@]}")
	local cmp
	cmp=$(harness_compare "$name" "$work/native/$prog" "$out" "$repro")
	if [ "${cmp%%$'\n'*}" != "PASS $name" ]; then
		echo "$cmp"
		return
	fi
	# a program killed by SIGKILL-like ends cannot report; the others must
	[ -n "$want" ] && expect_re "$out" "$want" "the plugin's report at exit"
	report "$name" "$out" "$repro"
}

run_case() {
	local name=$1 kind=$2
	shift 2
	"case_$kind" "$name" "$@"
}

selected() {	# selected NAME: does a PREFIX filter keep it
	[ ${#filters[@]} -eq 0 ] && return 0
	local f
	for f in "${filters[@]}"; do case $1 in "$f"*) return 0 ;; esac; done
	return 1
}

# ---- queue the cases -------------------------------------------------

for mode in "${modes[@]}"; do
	for what in bb bb-cb insn insn-cb insn-match mem mem-cb mem-trace mem-loads syscall \
		hotblocks hotpages cache cache-fifo cache-rand all execlog-ifilter execlog-afilter; do
		harness_case "counts/$what/$mode" counts "$mode" "$what"
	done
	for what in icount-after-write icount-before-write addr; do
		harness_case "stop/$what/$mode" stop "$mode" "$what"
	done
	harness_case "conform/$mode" conform "$mode"
	harness_case "counts/faults/$mode" faults "$mode"
	harness_case "split/$mode" split "$mode"
	harness_case "qemuv1/$mode" qemuv1 "$mode"
done
harness_case counts/execlog-sym execlog_sym
harness_case signals/recv-first signals recv-first
harness_case signals/send-first signals send-first
harness_case qemuhdr qemuhdr
harness_case qemuregs qemuregs
harness_case uninstall uninstall
harness_case near near
for what in short path file env idle twice; do harness_case "load/$what" load "$what"; done
for what in missing notelf noversion v99 install badarg; do harness_case "errors/$what" error "$what"; done

# The matrix needs the native runs first (JOBS at a time).
case_matrix_missing() { echo "FAIL matrix: no guest programs in $gdir (run: make guest-tests)"; }
bins=()
# The x86-64-v3 programs need a host that runs them natively (the oracle).
v3=()
grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo && v3=("$gdir"/*.v3)
for b in "$gdir"/*.glibc "$gdir"/*.musl "$gdir"/*.asm "${v3[@]}"; do
	[ -f "$b" ] || continue
	want=0
	for p in "${matrix_names[@]}"; do
		in_set "${matrix_set[$p]}" "$(basename "$b")" && selected "matrix/$p/$(basename "$b")" && want=1
	done
	[ $want = 1 ] && bins+=("$b")
done
if selected matrix && [ ${#bins[@]} -eq 0 ] && { [ ${#filters[@]} -eq 0 ] || [[ " ${filters[*]}" == *" matrix"* ]]; }; then
	harness_case "matrix" matrix_missing
fi
n=0
for b in "${bins[@]}"; do
	harness_run "$work/native/$(basename "$b")" "$b" "${args[@]}" &
	n=$((n + 1))
	[ $((n % jobs)) -eq 0 ] && wait
done
wait
for p in "${matrix_names[@]}"; do
	for b in "${bins[@]}"; do
		in_set "${matrix_set[$p]}" "$(basename "$b")" || continue
		harness_case "matrix/$p/$(basename "$b")" matrix "$p" "$b"
	done
done
harness_finish plugins
