#!/usr/bin/env bash
# loom-system's instrumentation (part of the `system` subsuite):
#
#   tests/system/instrument.sh BUILDDIR
#
# 1. -cov FILE -cov-bitmap phys:START-END[,gran=N] on the bare-metal image
#    (build/tests/system/baremetal.bin, make baremetal), which lies at
#    0x100000-0x10ffff (tests/system/baremetal/kernel.asm) and is entered at
#    its 64-bit entry 0x100200 (the boot protocol's code32_start + 0x200,
#    as loom-system boots): the bitmap is in coverage.md's format, the
#    entry's granule is set, no granule outside the image is, the file is
#    written the same on power-off in all three translation modes (a
#    block-per-instruction run marks at least what the default one does),
#    and on SIGTERM for a guest spinning in translated code (tests/system/
#    craft.py spin: jmp . at the 64-bit entry 0x1000200).
#    -cov alone (attributed coverage) on the same image, which is not
#    Linux: one note on stderr, and its blocks by address.
# 2. Bad -cov/-cov-format/-cov-bitmap input: one line, exit status 1.
# 3. -plugin on the bare-metal image, which runs the same instructions
#    whatever the translation, in the three modes: libbb.so (by callback),
#    libinsn.so, libmem.so, tests/plugins/syscode.c and tbcount.c loaded
#    together.  Counts: instructions and memory accesses the same in all
#    modes; blocks the same by default and with -nochain, and with
#    -one-insn-per-tb one per instruction but the one that follows the
#    image's only `mov ss` (its interrupt shadow); inline equal to callback
#    counts (tbcount per block address, libbb inline alone against libbb
#    by callback beside the others, libmem both ways); each plugin alone
#    equal to itself beside the others; counts known without loom (putc's
#    load of the LSR port once per serial byte, the self-modifying check's
#    add once per pass); the same counts in 25 more runs of the default
#    and -nochain modes (timing must not change them); syscode finds every
#    instruction's qemu_plugin_insn_haddr holding the bytes read through
#    the page tables.
# 4. -control PATH with loom-ctl against the spinning guest (jmp . at
#    0x1000200, bytes EB FE): coverage off until `cov start`, then the
#    entry's granule; `cov clear` forgets it and the running block marks it
#    again without being translated again; after `cov stop` and `cov clear`
#    nothing is marked; pmemsave and memsave of the entry give EB FE; an
#    unmapped address, a wrong format and a bad command get "error:".
# 5. Debian's kernel (build/guest/vmlinuz from scripts/guest-kernel.sh;
#    skipped, visibly, without it), -m 256, ended by SIGTERM after 20 s:
#    the bzImage's 64-bit entry page (loaded at pref_address 0x1000000) is
#    marked and nothing at or above the end of RAM is; blocks ran in the
#    upper half (the kernel proper) and every haddr checked holds its bytes.
# Prints PASS/FAIL/SKIP lines and "N passed, N failed, N skipped".
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tests/system/lib.sh"
system_test_args "$@"
image=$root/build/tests/system/baremetal.bin
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT


# bits FILE: the set bits' granule addresses, one hex address a line, from
# the bitmap's header (Start, Granularity, Bits) and its packed bytes (bit
# i is bit i%8 of byte i/8): an independent reader of coverage.md's format.
bits() {
	python3 - "$1" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
head = {}
pos = 0
for _ in range(6):
    end = data.index(b"\n", pos)
    line = data[pos:end].decode()
    pos = end + 1
    k, _, v = line.partition(": ")
    head[k] = v
assert head["LOOM BITMAP"] == "version 1" and head["Addresses"] == "absolute"
start, gran, nbits = int(head["Start"], 16), int(head["Granularity"]), int(head["Bits"])
body = data[pos:]
assert len(body) == (nbits + 7) // 8, "body length"
for i in range(nbits):
    if body[i // 8] >> (i % 8) & 1:
        print("%x" % (start + i * gran))
PY
}

# expect_usage NAME REGEX ARGS...: exit status 1, one line on stderr.
expect_usage() {
	local name=$1 re=$2 status lines
	shift 2
	"$bin" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	status=$?
	lines=$(wc -l <"$tmp/err")
	if [ "$status" -eq 1 ] && [ "$lines" -eq 1 ] && grep -qE "$re" "$tmp/err"; then
		pass "$name"
	else
		fail "$name" "repro: $bin $*" "exit status $status, $lines lines: $(head -n 2 "$tmp/err")"
	fi
}

# --- bad input -----------------------------------------------------------------
k=$tmp/none.img
expect_usage cov-format-bitmap-without-bitmap 'needs -cov-bitmap phys:' -kernel "$k" \
	-cov "$tmp/x.bits" -cov-format bitmap
expect_usage cov-format-lcov '^loom-system: -cov-format lcov: loom-system writes drcov, modoff' \
	-kernel "$k" -cov "$tmp/x.cov" -cov-format lcov
expect_usage cov-format-with-bitmap 'records a bitmap' -kernel "$k" -cov x -cov-format drcov \
	-cov-bitmap phys:0-0x1000
expect_usage bitmap-without-cov 'needs -cov FILE' -kernel "$k" -cov-bitmap phys:0-0x1000
expect_usage bitmap-not-phys 'guest-physical' -kernel "$k" -cov x -cov-bitmap 0x1000-0x2000
expect_usage bitmap-empty-range 'END must lie above START' -kernel "$k" -cov x \
	-cov-bitmap phys:0x2000-0x1000
expect_usage bitmap-gran-zero 'gran=' -kernel "$k" -cov x -cov-bitmap phys:0-0x1000,gran=0
expect_usage plugin-missing '^loom-system: -plugin nosuch: no bundled plugin' -kernel "$k" \
	-plugin nosuch
expect_usage cov-unwritable "$tmp/nodir/x.bits" -kernel "$image" -cov "$tmp/nodir/x.bits" \
	-cov-bitmap phys:0-0x1000

# --- the bare-metal image --------------------------------------------------------
if [ ! -f "$image" ]; then
	fail baremetal-image "no $image (make baremetal; needs nasm)"
else
	for mode in default -one-insn-per-tb -nochain; do
		opt=$mode
		[ "$mode" = default ] && opt=
		f=$tmp/bm$mode.bits
		timeout -k 5 60 "$bin" -kernel "$image" -m 64 -nographic -no-reboot $opt \
			-cov "$f" -cov-bitmap phys:0-0x400000,gran=256 </dev/null \
			>"$tmp/bm$mode.log" 2>&1
		status=$?
		if [ "$status" -ne 0 ] || ! bits "$f" >"$f.txt" 2>"$f.err"; then
			fail "cov-bitmap-baremetal $mode" "exit status $status" \
				"$(tail -n 2 "$tmp/bm$mode.log")" "$(tail -n 2 "$f.err" 2>/dev/null)"
			continue
		fi
		outside=$(awk '{ a = strtonum("0x" $1); if (a < 0x100000 || a >= 0x110000) print }' \
			"$f.txt" | head -n 3)
		if ! grep -qx 100200 "$f.txt"; then
			fail "cov-bitmap-baremetal $mode" "the entry's granule 0x100200 is not set"
		elif [ -n "$outside" ]; then
			fail "cov-bitmap-baremetal $mode" "granules outside the image set:" $outside
		else
			pass "cov-bitmap-baremetal $mode ($(wc -l <"$f.txt") granules)"
		fi
	done
	d=$tmp/bmdefault.bits.txt s=$tmp/bm-one-insn-per-tb.bits.txt n=$tmp/bm-nochain.bits.txt
	if [ -f "$d" ] && [ -f "$n" ] && [ -f "$s" ]; then
		if ! cmp -s "$d" "$n"; then
			fail cov-bitmap-modes "-nochain's granules differ from the default's" \
				"$(diff "$d" "$n" | head -n 4)"
		elif [ -n "$(comm -23 "$d" "$s")" ]; then
			fail cov-bitmap-modes "granules of the default run missing with -one-insn-per-tb" \
				"$(comm -23 "$d" "$s" | head -n 4)"
		else
			pass cov-bitmap-modes
		fi
	fi
	# -cov without -cov-bitmap on a kernel that is not Linux: one note, and
	# blocks by address (the entry at 0x100200 among the kernel's, the
	# image's CPL-3 test code as an unknown process's)
	covbin=$builddir/loom-cov
	timeout -k 5 60 "$bin" -kernel "$image" -m 64 -serial none -no-reboot \
		-cov "$tmp/bm.drcov" </dev/null >"$tmp/bmcov.out" 2>"$tmp/bmcov.err"
	status=$?
	"$covbin" export --format modoff "$tmp/bm.drcov" -o "$tmp/bm.txt" 2>>"$tmp/bmcov.err"
	if [ "$status" -eq 0 ] && [ "$(grep -c 'no process attribution' "$tmp/bmcov.err")" -eq 1 ] &&
		grep -qx '\[kernel\]:\[unknown\]+0x0*100200' "$tmp/bm.txt" &&
		grep -q '^\[unknown\]\[0\]:\[anon\]+0x' "$tmp/bm.txt"; then
		pass cov-attributed-not-linux
	else
		fail cov-attributed-not-linux "exit status $status" "$(head -n 2 "$tmp/bmcov.err")" \
			"$(cut -d+ -f1 "$tmp/bm.txt" 2>/dev/null | sort | uniq -c)"
	fi
fi

# --- plugins ---------------------------------------------------------------------
pdir=$builddir/plugins
tpdir=$root/build/tests/plugins
if [ ! -f "$image" ]; then
	:
elif [ ! -f "$pdir/libbb.so" ] || [ ! -f "$pdir/libinsn.so" ] || [ ! -f "$pdir/libmem.so" ] ||
	[ ! -f "$tpdir/libsyscode.so" ] || [ ! -f "$tpdir/libtbcount.so" ]; then
	fail plugins-built "no $pdir/lib{bb,insn,mem}.so or $tpdir/lib{syscode,tbcount}.so (make plugins plugin-tests)"
else
	# plug_run TAG MODEOPT PLUGIN...: run the image with the plugins;
	# the -d plugin log is $tmp/TAG.log, the serial output $tmp/TAG.out.
	plug_run() {
		local tag=$1 opt=$2 a=()
		shift 2
		for p in "$@"; do a+=(-plugin "$p"); done
		timeout -k 5 60 "$bin" -kernel "$image" -m 64 -nographic -no-reboot $opt "${a[@]}" \
			-d plugin -D "$tmp/$tag.log" </dev/null >"$tmp/$tag.out" 2>&1
	}
	# The counts of a log: libbb's "bb's: N, insns: M", libinsn's
	# "insns: N", libmem's "loads: ..." lines and tbcount's totals.
	counts() {
		grep -E "^(bb's: |insns: |loads: |tbcount: blocks )" "$1" | tr '\n' ';'
	}
	together=("$pdir/libbb.so,inline=off" "$pdir/libinsn.so" "$tpdir/libsyscode.so"
		  "$pdir/libmem.so" "$tpdir/libtbcount.so")
	declare -A bbs insns bbinsns mems
	for mode in default -one-insn-per-tb -nochain; do
		opt=$mode
		[ "$mode" = default ] && opt=
		tag=plug$mode log=$tmp/plug$mode.log
		plug_run "$tag" "$opt" "${together[@]}"
		status=$?
		bbs[$mode]=$(sed -n "s/^bb's: \([0-9]*\), insns: [0-9]*$/\1/p" "$log")
		insns[$mode]=$(sed -n 's/^insns: \([0-9]*\)$/\1/p' "$log")
		bbinsns[$mode]=$(sed -n "s/^bb's: [0-9]*, insns: \([0-9]*\)$/\1/p" "$log")
		mems[$mode]=$(grep '^loads: ' "$log")
		sc=$(grep '^syscode: ' "$log")
		checked=$(echo "$sc" | sed -n 's/.*insns checked \([0-9]*\),.*/\1/p')
		bad=$(echo "$sc" | sed -n 's/.*haddr mismatches \([0-9]*\),.*/\1/p')
		if [ "$status" -ne 0 ] || [ -z "${bbs[$mode]}" ] || [ -z "${insns[$mode]}" ] ||
			[ "${insns[$mode]}" -eq 0 ] || [ -z "$checked" ] || [ "$checked" -eq 0 ] ||
			[ -z "${mems[$mode]}" ]; then
			fail "plugin-counts $mode" "exit status $status" "$(head -n 3 "$log")" \
				"$(tail -n 2 "$tmp/plug$mode.out")"
			continue
		fi
		pass "plugin-counts $mode (${bbs[$mode]} blocks, ${insns[$mode]} insns)"
		if [ "$bad" = 0 ]; then
			pass "plugin-haddr $mode ($checked insns)"
		else
			fail "plugin-haddr $mode" "$sc"
		fi
		# Inline and callback counts of the same blocks are equal
		# (tbcount counts every block both ways; libbb inline alone
		# against libbb by callback beside the others).
		plug_run "bbi$mode" "$opt" "$pdir/libbb.so"
		tc=$(grep '^tbcount: blocks ' "$log")
		bbi=$(grep "^bb's: " "$tmp/bbi$mode.log")
		if echo "$tc" | grep -qE '^tbcount: blocks ([0-9]+) inline, \1 callback, 0 addresses differ' &&
			[ "$bbi" = "bb's: ${bbs[$mode]}, insns: ${bbinsns[$mode]}" ]; then
			pass "plugin-inline-callback $mode"
		else
			fail "plugin-inline-callback $mode" "$tc" "$(grep '^tbcount: 0x' "$log" | head -n 3)" \
				"libbb inline alone: $bbi; by callback beside others: ${bbs[$mode]}, ${bbinsns[$mode]}"
		fi
		# One plugin alone counts what it counts beside the others.
		plug_run "ins$mode" "$opt" "$pdir/libinsn.so,top=400"
		# (libmem inline and by callback in two runs: one shared object
		# loaded twice shares its counters)
		plug_run "mem$mode" "$opt" "$pdir/libmem.so"
		plug_run "memcb$mode" "$opt" "$pdir/libmem.so,inline=off"
		ia=$(sed -n 's/^insns: \([0-9]*\)$/\1/p' "$tmp/ins$mode.log")
		ma=$(grep '^loads: ' "$tmp/mem$mode.log")
		mc=$(grep '^loads: ' "$tmp/memcb$mode.log")
		if [ "$ia" = "${insns[$mode]}" ] && [ "$ma" = "${mems[$mode]}" ] && [ "$mc" = "$ma" ]; then
			pass "plugin-alone-together $mode"
		else
			fail "plugin-alone-together $mode" "libinsn alone $ia, beside others ${insns[$mode]}" \
				"libmem alone: inline $ma; by callback $mc" \
				"libmem beside others: ${mems[$mode]}"
		fi
	done
	d=default s=-one-insn-per-tb n=-nochain
	if [ -n "${mems[$d]:-}" ] && [ "${mems[$d]}" = "${mems[$s]:-}" ] &&
		[ "${mems[$d]}" = "${mems[$n]:-}" ] && ! echo "${mems[$d]}" | grep -q 'accesses: 0$'; then
		pass "plugin-mem-modes (${mems[$d]})"
	else
		fail plugin-mem-modes "libmem.so by mode:" \
			"default: ${mems[$d]:-}" "-one-insn-per-tb: ${mems[$s]:-}" "-nochain: ${mems[$n]:-}"
	fi
	# Block counts: the same by default and with -nochain; with
	# -one-insn-per-tb one block per instruction but two: the image's
	# `mov ss` in start64 and its `sti` before `hlt` (probes.asm), each
	# run once, keep the next instruction in their block, as their
	# interrupt shadow asks (SDM vol. 3, 6.8.3).
	if [ -n "${insns[$d]:-}" ] && [ -n "${insns[$s]:-}" ] && [ -n "${insns[$n]:-}" ]; then
		if [ "${insns[$d]}" = "${insns[$s]}" ] && [ "${insns[$d]}" = "${insns[$n]}" ] &&
			[ "${bbs[$d]}" = "${bbs[$n]}" ] && [ "${bbs[$s]}" = $((insns[$s] - 2)) ] &&
			[ "${bbinsns[$s]}" = "${insns[$s]}" ]; then
			pass plugin-counts-modes
		else
			fail plugin-counts-modes "insns ${insns[$d]}/${insns[$s]}/${insns[$n]}," \
				"blocks ${bbs[$d]}/${bbs[$s]}/${bbs[$n]} (default/-one-insn-per-tb/-nochain)," \
				"libbb's insns with -one-insn-per-tb ${bbinsns[$s]}"
		fi
	fi
	# Counts known without loom: putc (kernel.asm) loads COM1's LSR port
	# (0x3fd) once per byte it sends, so that instruction runs once per
	# byte on the serial line; the self-modifying check's add runs once
	# per pass (SMC_PASSES, 100), each pass restarted by its store.
	for mode in default -one-insn-per-tb -nochain; do
		f=$tmp/ins$mode.log
		[ -f "$f" ] || continue
		lsr=$(tr -s ' ' <"$f" | sed -n 's/^ *0x[0-9a-f]* \([0-9]*\) mov \$0x3FD, %dx$/\1/p')
		smc=$(tr -s ' ' <"$f" | sed -n 's/^ *0x[0-9a-f]* \([0-9]*\) add %rax, %rbx$/\1/p')
		bytes=$(wc -c <"$tmp/ins$mode.out")
		if [ -n "$lsr" ] && [ "$lsr" = "$bytes" ] && [ "$smc" = 100 ]; then
			pass "plugin-counts-expected $mode ($bytes serial bytes)"
		else
			fail "plugin-counts-expected $mode" "putc's LSR load ran '$lsr' times for $bytes" \
				"serial bytes; the self-modifying pass's add '$smc' times (want 100)"
		fi
	done
	# Timing must not matter: the same counts run after run (a host tick
	# landing inside an SMC restart once added a block, failing the modes'
	# comparison about one time in six: 25 more runs of each mode miss
	# such a flake with probability (5/6)^25, 1%).
	for mode in default -nochain; do
		opt=$mode
		[ "$mode" = default ] && opt=
		want=$(counts "$tmp/plug$mode.log")
		bad=
		for i in $(seq 25); do
			plug_run rep "$opt" "${together[@]}"
			got=$(counts "$tmp/rep.log")
			[ "$got" = "$want" ] || bad="run $i: $got"
		done
		if [ -n "$want" ] && [ -z "$bad" ]; then
			pass "plugin-counts-repeat $mode (25 runs)"
		else
			fail "plugin-counts-repeat $mode" "first: $want" "$bad"
		fi
	done
fi

# --- SIGTERM: a guest spinning at 0x1000200 ------------------------------------
python3 "$root/tests/system/craft.py" spin "$tmp/spin.img"
"$bin" -kernel "$tmp/spin.img" -m 64 -serial none -cov "$tmp/spin.bits" \
	-cov-bitmap phys:0x1000000-0x1010000,gran=16 </dev/null >"$tmp/spin.out" 2>&1 &
pid=$!
sleep 1
kill -TERM $pid
timeout 5 tail --pid=$pid -f /dev/null
if kill -0 $pid 2>/dev/null; then
	kill -KILL $pid
	fail cov-bitmap-sigterm "still running 5 s after SIGTERM"
else
	wait $pid
	status=$?
	got=$(bits "$tmp/spin.bits" 2>&1 | tr '\n' ' ')
	if [ $status -eq 0 ] && [ "$got" = "1000200 " ]; then
		pass cov-bitmap-sigterm
	else
		fail cov-bitmap-sigterm "exit status $status; granules set: $got (want 1000200)" \
			"$(head -n 2 "$tmp/spin.out")"
	fi
fi

# --- the control channel ----------------------------------------------------------
ctl=$builddir/loom-ctl
sock=$tmp/ctl.sock
# ctl_expect NAME REGEX COMMAND...: loom-ctl's answer matches REGEX.
ctl_expect() {
	local name=$1 re=$2 got
	shift 2
	got=$("$ctl" "$sock" "$@" 2>&1)
	if echo "$got" | grep -qE "$re"; then
		pass "$name"
	else
		fail "$name" "loom-ctl $*: '$got' (want /$re/)"
	fi
}
# granules FILE: the bitmap's set granules, space-separated.
granules() { bits "$1" 2>&1 | tr '\n' ' '; }
if [ ! -x "$ctl" ]; then
	fail control-built "no $ctl (make loom-ctl)"
else
	"$bin" -kernel "$tmp/spin.img" -m 64 -serial none -control "$sock" \
		-cov-bitmap phys:0x1000000-0x1010000 </dev/null >"$tmp/ctl.out" 2>&1 &
	pid=$!
	for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
	sleep 0.3
	ctl_expect control-status-off ' cov=off blocks=0$' status
	ctl_expect control-write-empty '^ok 0 granules written' cov write "$tmp/c0.bits"
	ctl_expect control-start '^ok coverage on$' cov start
	sleep 0.3
	ctl_expect control-write '^ok 1 granules written' cov write "$tmp/c1.bits" bitmap
	g=$(granules "$tmp/c1.bits")
	[ "$g" = "1000200 " ] && pass control-write-bits ||
		fail control-write-bits "granules set: '$g' (want 1000200)"
	tbs=$("$ctl" "$sock" status | sed -n 's/.* tbs=\([0-9]*\) .*/\1/p')
	ctl_expect control-clear '^ok coverage cleared$' cov clear
	sleep 0.3
	ctl_expect control-clear-remarks " tbs=$tbs cov=on blocks=1\$" status
	ctl_expect control-stop '^ok coverage off$' cov stop
	ctl_expect control-clear-stopped '^ok coverage cleared$' cov clear
	sleep 0.3
	ctl_expect control-stopped-nothing ' cov=off blocks=0$' status
	ctl_expect control-bad-format '^error: .*bitmap' cov write "$tmp/c2.bits" drcov
	ctl_expect control-pmemsave '^ok 2 bytes' pmemsave 0x1000200 2 "$tmp/p.bin"
	ctl_expect control-memsave '^ok 2 bytes' memsave 0x1000200 2 "$tmp/m.bin"
	for f in p m; do
		got=$(od -An -tx1 "$tmp/$f.bin" 2>/dev/null | tr -d ' ')
		[ "$got" = ebfe ] && pass "control-${f}save-bytes" ||
			fail "control-${f}save-bytes" "got '$got' (want ebfe)"
	done
	ctl_expect control-memsave-unmapped '^error: Invalid addr' memsave 0xffff800000000000 2 \
		"$tmp/x.bin"
	ctl_expect control-unknown "^error: unknown command 'frob'" frob
	kill -TERM $pid
	wait $pid
fi

# --- Debian's kernel ----------------------------------------------------------------
kernel=$root/build/guest/vmlinuz
if [ ! -f "$kernel" ] || [ ! -f "$tpdir/libsyscode.so" ]; then
	skip debian-cov-plugin "no $kernel or $tpdir/libsyscode.so (scripts/guest-kernel.sh; make plugin-tests)"
else
	"$bin" -kernel "$kernel" -append console=ttyS0 -m 256 -serial "file:$tmp/deb.console" \
		-cov "$tmp/deb.bits" -cov-bitmap phys:0-0x20000000,gran=4096 \
		-plugin "$tpdir/libsyscode.so" -d plugin -D "$tmp/deb.log" </dev/null \
		>"$tmp/deb.out" 2>&1 &
	pid=$!
	# Until the kernel proper prints (the decompressor before it runs in
	# the lower half), then a little longer; a loaded machine only makes
	# this slower, never different.
	for i in $(seq 1 240); do
		grep -q 'Linux version' "$tmp/deb.console" 2>/dev/null && break
		kill -0 $pid 2>/dev/null || break
		sleep 0.5
	done
	sleep 3
	kill -TERM $pid
	wait $pid
	status=$?
	g=$(bits "$tmp/deb.bits" 2>&1)
	above=$(echo "$g" | awk '{ if (strtonum("0x" $1) >= 0x10000000) print }' | head -n 3)
	sc=$(grep '^syscode: ' "$tmp/deb.log")
	upper=$(echo "$sc" | sed -n 's/.*tb execs upper \([0-9]*\) .*/\1/p')
	if [ $status -ne 0 ] || ! echo "$g" | grep -qx 1000000 || [ -n "$above" ] ||
		[ -z "$upper" ] || [ "$upper" -eq 0 ] || ! echo "$sc" | grep -q 'haddr mismatches 0,'; then
		fail debian-cov-plugin "exit status $status; $sc" "granules above RAM: $above" \
			"entry page marked: $(echo "$g" | grep -cx 1000000)" "$(tail -n 2 "$tmp/deb.out")"
	else
		pass "debian-cov-plugin ($(echo "$g" | wc -l) pages, $sc)"
	fi
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
