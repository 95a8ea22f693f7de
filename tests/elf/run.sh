#!/bin/bash
# Malformed programs and bad command lines: loom must refuse each one with a
# single "loom: ..." line on stderr that names the problem, and a non-zero
# exit status of its own (below 128, so never mistaken for a signal death).
#
# usage: tests/elf/run.sh path/to/loom
# The inputs are generated into a temporary directory from tiny.S (built with
# gcc -static -nostdlib) by patching header fields with python3.
set -u
LOOM=${1:?usage: $0 path/to/loom}
LOOM=$(cd "$(dirname "$LOOM")" && pwd)/$(basename "$LOOM")
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d /tmp/loom-elf-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
passed=0
failed=0
skipped=0

pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }

# expect NAME PATTERN ARGS...: run loom ARGS and check status and stderr.
expect() {
	local name=$1 pattern=$2
	shift 2
	"$LOOM" "$@" >"$T/out" 2>"$T/err" </dev/null
	local rc=$?
	local lines
	lines=$(wc -l <"$T/err")
	if [ "$rc" -eq 0 ]; then
		fail "$name" "exit status 0"
	elif [ "$rc" -ge 128 ]; then
		fail "$name" "exit status $rc (killed by a signal?): $(head -c 300 "$T/err")"
	elif [ "$lines" -ne 1 ]; then
		fail "$name" "expected one line on stderr, got $lines: $(head -c 300 "$T/err")"
	elif ! grep -q '^loom: ' "$T/err"; then
		fail "$name" "stderr does not start with 'loom: ': $(cat "$T/err")"
	elif ! grep -qi -- "$pattern" "$T/err"; then
		fail "$name" "message does not mention '$pattern': $(cat "$T/err")"
	else
		pass "$name"
	fi
}

# expect_ok NAME ARGS...: run loom ARGS, expect status 0 and some stdout.
expect_ok() {
	local name=$1
	shift
	"$LOOM" "$@" >"$T/out" 2>"$T/err" </dev/null
	local rc=$?
	if [ "$rc" -ne 0 ]; then
		fail "$name" "exit status $rc: $(head -c 300 "$T/err")"
	elif [ ! -s "$T/out" ]; then
		fail "$name" "no output"
	else
		pass "$name"
	fi
}

# patch FILE EDIT: apply a python edit to the ELF file.  The edit sees the
# bytes as `b` (bytearray), helpers put(fmt, off, val) and get(fmt, off), and
# `loads`, the offsets of the PT_LOAD program headers.
patch() {
	python3 - "$1" "$2" <<'EOF'
import struct, sys
path, edit = sys.argv[1], sys.argv[2]
b = bytearray(open(path, 'rb').read())
def put(fmt, off, val): struct.pack_into('<' + fmt, b, off, val)
def get(fmt, off): return struct.unpack_from('<' + fmt, b, off)[0]
phoff, phnum = get('Q', 32), get('H', 56)
loads = [phoff + 56 * i for i in range(phnum) if get('I', phoff + 56 * i) == 1]
exec(edit)
open(path, 'wb').write(b)
EOF
}

# variant NAME EDIT: a patched copy of the tiny program, executable.
variant() {
	cp "$T/tiny" "$T/$1"
	patch "$T/$1" "$2"
	chmod +x "$T/$1"
	echo "$T/$1"
}

if ! gcc -static -nostdlib -no-pie -o "$T/tiny" "$HERE/tiny.S"; then
	echo "FAIL build: cannot build tiny.S"
	echo "0 passed, 1 failed"
	exit 1
fi

# --- files that are not programs ---
expect missing-file "No such file" "$T/does-not-exist"
mkdir "$T/dir"
expect directory "Permission denied.*directory" "$T/dir"
: >"$T/empty"
chmod +x "$T/empty"
expect empty-file "Exec format error.*empty" "$T/empty"
printf 'hello, world\n' >"$T/text"
chmod +x "$T/text"
expect text-file "Exec format error.*not an ELF" "$T/text"
cp "$T/tiny" "$T/noexec"
chmod -x "$T/noexec"
expect not-executable "Permission denied" "$T/noexec"

# --- ELF files the kernel refuses before it starts them (execve fails) ---
# loom names the kernel's errno and the reason.
head -c 20 "$T/tiny" >"$T/trunc-ehdr"
chmod +x "$T/trunc-ehdr"
expect truncated-header "Exec format error.*program headers" "$T/trunc-ehdr"
expect bad-magic "Exec format error.*not an ELF" "$(variant badmagic 'b[1] = 0x45 + 1')"
expect wrong-machine "Exec format error.*x86-64" "$(variant aarch64 'put("H", 18, 183)')"
expect et-rel "Exec format error.*executable" "$(variant etrel 'put("H", 16, 1)')"
expect phentsize "Exec format error.*program headers" "$(variant phentsize 'put("H", 54, 32)')"
expect phoff-past-eof "Exec format error.*program headers" \
	"$(variant phoff 'put("Q", 32, len(b) + 100)')"
expect phnum-absurd "Exec format error.*program headers" "$(variant phnum 'put("H", 56, 60000)')"
expect phnum-past-eof "Exec format error.*program headers" "$(variant phnum2 'put("H", 56, 1000)')"

# --- ELF files the kernel starts: loom must do what the kernel does, here
# run natively and under loom (the status of a signal death is 128+N) ---
# same_as_native NAME FILE
same_as_native() {
	local name=$1 file=$2 want got
	( "$file" >/dev/null 2>&1 </dev/null ) 2>/dev/null
	want=$?
	( "$LOOM" "$file" >/dev/null 2>"$T/err" </dev/null ) 2>/dev/null
	got=$?
	if [ "$want" = "$got" ]; then
		pass "$name"
	else
		fail "$name" "native status $want, loom $got: $(head -c 300 "$T/err")"
	fi
}
# e_ident's class, data and version bytes and e_version are not checked
same_as_native elf32-class-byte "$(variant elf32 'b[4] = 1')"
same_as_native big-endian-data-byte "$(variant bigendian 'b[5] = 2')"
same_as_native ident-version-byte "$(variant identver 'b[6] = 9; put("I", 20, 7)')"
# p_filesz > p_memsz, a segment outside user space, p_vaddr and p_offset
# not congruent: killed by SIGSEGV after the point of no return
same_as_native filesz-gt-memsz \
	"$(variant filesz 'put("Q", loads[1] + 32, get("Q", loads[1] + 40) + 0x1000)')"
same_as_native load-outside-user-space \
	"$(variant highaddr 'put("Q", loads[1] + 16, 0xffff800000000000 + get("Q", loads[1] + 8) % 4096)')"
same_as_native misaligned-load \
	"$(variant misalign 'put("Q", loads[1] + 16, get("Q", loads[1] + 16) + 8)')"
# a segment past the end of the file maps (and faults when touched)
same_as_native load-past-eof \
	"$(variant loadeof 'put("Q", loads[2] + 8, get("Q", loads[2] + 8) + 0x100000)')"
# overlapping segments: the later one wins, as in the kernel
same_as_native overlapping-loads \
	"$(variant overlap 'put("Q", loads[2] + 16, get("Q", loads[1] + 16) + (get("Q", loads[2] + 8) - get("Q", loads[1] + 8)) % 4096)')"
same_as_native no-pt-load "$(variant noload 'for o in loads: put("I", o, 4)')"
# a segment of its own at 0x80000000 (the 2 GiB line) and at 4 GiB
same_as_native segment-at-2g "$(variant seg2g '
o = phoff + 56 * (phnum - 1)
put("I", o, 1); put("I", o + 4, 4); put("Q", o + 8, 0); put("Q", o + 16, 0x80000000)
put("Q", o + 32, 0x100); put("Q", o + 40, 0x2000); put("Q", o + 48, 0x1000)')"
same_as_native segment-at-4g "$(variant seg4g '
o = phoff + 56 * (phnum - 1)
put("I", o, 1); put("I", o + 4, 6); put("Q", o + 8, 0); put("Q", o + 16, 0x100000000)
put("Q", o + 32, 0x100); put("Q", o + 40, 0x2000); put("Q", o + 48, 0x1000)')"
# A dynamic program runs; one whose interpreter (PT_INTERP) is missing is
# refused naming the interpreter.
if [ -e /bin/echo ] && readelf -l /bin/echo 2>/dev/null | grep -q INTERP; then
	expect_ok dynamic /bin/echo hello
	cp /bin/echo "$T/nointerp"
	patch "$T/nointerp" '
for i in range(phnum):
    o = phoff + 56 * i
    if get("I", o) == 3:
        off, n = get("Q", o + 8), get("Q", o + 32)
        s = b"/no/such/ld.so"
        b[off:off + n] = s + bytes(n - len(s))'
	expect missing-interpreter "/no/such/ld.so" "$T/nointerp"
fi

# --- the command line ---
expect unknown-option "unknown option" -bogus "$T/tiny"
expect bad-log-item "bogus" -d bogus "$T/tiny"
expect no-program "no program"
expect D-without-argument "needs an argument" -D
expect E-without-equals "var=value" -E FOO "$T/tiny"
expect_ok version -version
expect_ok help -help
expect_ok log-help -d help

# --- -cpu levels: CPUID and the instructions a level has ---
expect unknown-cpu "unknown CPU model" -cpu pentium "$T/tiny"
host_v3=1
for f in avx2 fma f16c; do grep -qw "$f" /proc/cpuinfo || host_v3=0; done
if [ $host_v3 = 1 ]; then
	if gcc -static -nostdlib -no-pie -o "$T/avxlevel" "$HERE/avxlevel.S"; then
		"$LOOM" -cpu x86-64-v3 "$T/avxlevel" > /dev/null 2>&1
		st=$?
		[ "$st" -eq 127 ] && pass avx2-runs-at-v3 || fail avx2-runs-at-v3 "status $st, want 127"
		( "$LOOM" -cpu x86-64-v2 "$T/avxlevel" > /dev/null 2>&1 ) 2> /dev/null
		st=$?
		[ "$st" -eq $((128 + 4)) ] && pass avx-sigill-below-v3 ||
			fail avx-sigill-below-v3 "status $st, want death by SIGILL"
	else
		fail avxlevel-build "cannot assemble avxlevel.S"
	fi
else
	echo "SKIP avx2-runs-at-v3, avx-sigill-below-v3: the host lacks AVX2/FMA/F16C"
	expect cpu-v3-needs-host "lacks AVX2" -cpu x86-64-v3 "$T/tiny"
fi
if gcc -static -nostdlib -no-pie -o "$T/cpulevel" "$HERE/cpulevel.S"; then
	"$LOOM" -cpu x86-64-v2 "$T/cpulevel" > /dev/null 2>&1
	st=$?
	[ "$st" -eq 0 ] && pass lzcnt-is-bsr-below-v3 ||
		fail lzcnt-is-bsr-below-v3 "status $st, want 0 (bsr of 1)"
	if [ $host_v3 = 1 ]; then
		"$LOOM" -cpu x86-64-v3 "$T/cpulevel" > /dev/null 2>&1
		st=$?
		[ "$st" -eq 31 ] && pass lzcnt-at-v3 || fail lzcnt-at-v3 "status $st, want 31"
	fi
	# in a subshell, so bash's "Illegal instruction" notice goes to /dev/null
	( "$LOOM" -cpu x86-64 "$T/cpulevel" > /dev/null 2>&1 ) 2> /dev/null
	st=$?
	[ "$st" -eq $((128 + 4)) ] && pass lahf-sigill-on-x86-64 ||
		fail lahf-sigill-on-x86-64 "status $st, want death by SIGILL"
else
	fail cpulevel-build "cannot assemble cpulevel.S"
fi
if gcc -static -nostdlib -no-pie -o "$T/bmilevel" "$HERE/bmilevel.S"; then
	( "$LOOM" -cpu x86-64-v2 "$T/bmilevel" > /dev/null 2>&1 ) 2> /dev/null
	st=$?
	[ "$st" -eq $((128 + 4)) ] && pass bmi-sigill-below-v3 ||
		fail bmi-sigill-below-v3 "status $st, want death by SIGILL"
	LOOM_CPU_PARTIAL=1 "$LOOM" -cpu x86-64-v3 "$T/bmilevel" > /dev/null 2>&1
	st=$?
	[ "$st" -eq 4 ] && pass bmi-at-v3 || fail bmi-at-v3 "status $st, want 4 (blsr of 6)"
	LOOM_CPU_PARTIAL=1 "$LOOM" -cpu x86-64-v3 "$T/cpulevel" > /dev/null 2>&1
	st=$?
	[ "$st" -eq 31 ] && pass lzcnt-at-v3 || fail lzcnt-at-v3 "status $st, want 31"
else
	fail bmilevel-build "cannot assemble bmilevel.S"
fi
if gcc -static -nostdlib -no-pie -o "$T/aeslevel" "$HERE/aeslevel.S"; then
	( "$LOOM" -cpu x86-64 "$T/aeslevel" > /dev/null 2>&1 ) 2> /dev/null
	st=$?
	[ "$st" -eq $((128 + 4)) ] && pass aes-sigill-on-x86-64 ||
		fail aes-sigill-on-x86-64 "status $st, want death by SIGILL"
	if grep -qw aes /proc/cpuinfo; then
		"$LOOM" "$T/aeslevel" > /dev/null 2>&1
		st=$?
		[ "$st" -eq 7 ] && pass aes-at-v2 || fail aes-at-v2 "status $st, want 7"
	fi
else
	fail aeslevel-build "cannot assemble aeslevel.S"
fi

# --- execve: under loom by default, natively with -no-follow-exec ---
# The exec'd echo's write shows in loom's strace log only if loom ran it.
if [ -x /bin/busybox ]; then
	rm -f "$T/follow.log" "$T/nofollow.log"
	out=$("$LOOM" -strace -D "$T/follow.log" /bin/busybox sh -c 'exec /bin/busybox echo followed' 2>&1)
	if [ "$out" = followed ] && grep -q 'write(1, "followed' "$T/follow.log"; then
		pass exec-follows
	else
		fail exec-follows "output '$out'; the exec'd program's write is not in the log"
	fi
	out=$("$LOOM" -no-follow-exec -strace -D "$T/nofollow.log" /bin/busybox sh -c 'exec /bin/busybox echo native' 2>&1)
	if [ "$out" = native ] && ! grep -q 'write(1, "native' "$T/nofollow.log"; then
		pass no-follow-exec
	else
		fail no-follow-exec "output '$out'; the exec'd program still ran under loom"
	fi
fi

# --- -d logging: every translated block shows all four stages ---
# Each block logs "IN:", "OP:", "OP after optimization" and "OUT:" in that
# order; the counts must agree and be non-zero, and the run must still
# produce the program's own result.
log_stages() {
	local name=$1; shift
	local log="$T/$name.log"
	rm -f "$log"
	if ! "$LOOM" -d in_asm,op,op_opt,out_asm -D "$log" "$@" > /dev/null 2>&1; then
		fail "$name" "loom exited with status $?"
		return
	fi
	local n_in n_op n_opt n_out
	n_in=$(grep -c '^IN:' "$log")
	n_op=$(grep -c '^OP:$' "$log")
	n_opt=$(grep -c '^OP after optimization' "$log")
	n_out=$(grep -c '^OUT: \[size=' "$log")
	if [ "$n_in" -gt 0 ] && [ "$n_in" = "$n_op" ] && [ "$n_op" = "$n_opt" ] && [ "$n_opt" = "$n_out" ] &&
	   awk '/^IN:/{if(s!=0&&s!=4)bad=1;s=1} /^OP:$/{if(s!=1)bad=1;s=2}
	        /^OP after optimization/{if(s!=2)bad=1;s=3} /^OUT: \[size=/{if(s!=3)bad=1;s=4}
	        END{exit bad||s!=4}' "$log"; then
		pass "$name"
	else
		fail "$name" "stages per block: IN $n_in, OP $n_op, OP_OPT $n_opt, OUT $n_out (see $log)"
	fi
}
log_stages log-stages-tiny "$T/tiny"
[ -x /bin/busybox ] && log_stages log-stages-busybox-true /bin/busybox true

# --- -perfmap: /tmp/perf-PID.map names every translated block, in perf's
# "START SIZE NAME" hex format, for the process and for a child it runs
# (fork, then exec under loom: its own file). ---
perfmap_check() {
	local name=$1 map=/tmp/perf-$2.map
	if [ ! -s "$map" ]; then
		fail "$name" "$map is missing or empty"
	elif grep -qvE '^[0-9a-f]+ [0-9a-f]+ guest-0x[0-9a-f]+$' "$map"; then
		fail "$name" "a line of $map is not START SIZE guest-0xPC: $(grep -vE '^[0-9a-f]+ [0-9a-f]+ guest-0x' "$map" | head -n 1)"
	elif ! awk '{ if (strtonum("0x" $2) == 0) bad = 1 } END { exit bad }' "$map"; then
		fail "$name" "a block of size 0 in $map"
	else
		pass "$name"
	fi
	rm -f "$map"
}
if [ -x /bin/busybox ]; then
	pids=$("$LOOM" -perfmap /bin/busybox sh -c 'echo $$; /bin/busybox sh -c "echo \$\$"; exit 0' 2>"$T/perfmap.err")
	set -- $pids
	if [ $# -eq 2 ] && [ "$1" != "$2" ]; then
		perfmap_check perfmap "$1"
		perfmap_check perfmap-child "$2"
	else
		fail perfmap "expected two pids, got '$pids' ($(head -c 200 "$T/perfmap.err"))"
	fi
fi

# --- loom's own resources are not the guest's: its descriptors (code
# cache, log, control socket) neither listed, nor closable, nor in the way
# of dup2 or close_range; its code cache not subject to RLIMIT_FSIZE.
# tests/elf/fdview.c prints what a program sees; native and loom must agree,
# in the three translation modes. ---
if gcc -O1 -o "$T/fdview" "$HERE/fdview.c"; then
	for mode in list close dup2 range nofile hardnofile; do
		( cd "$T" && ./fdview $mode >"$T/fv.native" 2>&1 )
		for opts in "" -one-insn-per-tb -nochain; do
			( cd "$T" && "$LOOM" $opts ./fdview $mode >"$T/fv.loom" 2>&1 )
			if cmp -s "$T/fv.native" "$T/fv.loom"; then
				pass "fds-$mode${opts:+ $opts}"
			else
				fail "fds-$mode${opts:+ $opts}" "$(diff "$T/fv.native" "$T/fv.loom" | head -n 6 | tr '\n' ' ')"
			fi
		done
	done
	# loom's own descriptors while its threads open files as the guest
	# runs: the coverage file rewritten every millisecond (-cov-hits makes
	# every rewrite happen), the control socket, a plugin.  The guest must
	# see none of them, get 3 from every open() and dup2 onto any number.
	plugin_opts=()
	if [ -e "$(dirname "$LOOM")/plugins/libbb.so" ]; then
		plugin_opts=(-plugin bb)
	else
		echo "SKIP fds-* with a plugin: $(dirname "$LOOM")/plugins/libbb.so is not built (make build/<mode>/plugins/libbb.so)"
		skipped=$((skipped + 1))
	fi
	for mode in watch list dup2; do
		( cd "$T" && ./fdview $mode >"$T/fv.native" 2>&1 )
		( cd "$T" && "$LOOM" -cov "$T/fv.cov" -cov-hits -cov-sync 1 -control "$T/fv.ctl" \
			"${plugin_opts[@]}" ./fdview $mode >"$T/fv.loom" 2>&1 )
		if cmp -s "$T/fv.native" "$T/fv.loom" && [ -s "$T/fv.cov" ]; then
			pass "fds-$mode-cov-control${plugin_opts:+-plugin}"
		else
			fail "fds-$mode-cov-control${plugin_opts:+-plugin}" \
				"$( [ -s "$T/fv.cov" ] || echo 'no coverage file; ')$(diff "$T/fv.native" "$T/fv.loom" | head -n 6 | tr '\n' ' ')"
		fi
		rm -f "$T/fv.cov"
	done
	# `ulimit -f` sets the hard limit too: 64 MiB (below the 256 MiB code
	# cache) and 512 KiB (the program's own 1 MiB write dies of SIGXFSZ).
	for lim in 65536 512; do
		want=$(cd "$T" && ulimit -f $lim && { ./fdview fsize 2>&1; echo "status $?"; } 2>/dev/null)
		got=$(cd "$T" && ulimit -f $lim && { "$LOOM" ./fdview fsize 2>&1; echo "status $?"; } 2>/dev/null)
		if [ "$want" = "$got" ]; then
			pass "fsize-limit-$lim"
		else
			fail "fsize-limit-$lim" "native '$(echo $want | head -c 200)', loom '$(echo $got | head -c 200)'"
		fi
	done
	# `ulimit -v` (RLIMIT_AS) of 400 MB: the code cache shrinks to fit.
	want=$(cd "$T" && ulimit -v 400000 && { ./fdview list 2>&1; echo "status $?"; } 2>/dev/null)
	got=$(cd "$T" && ulimit -v 400000 && { "$LOOM" ./fdview list 2>&1; echo "status $?"; } 2>/dev/null)
	if [ "$want" = "$got" ]; then
		pass "as-limit-400m"
	else
		fail "as-limit-400m" "native '$(echo $want | head -c 200)', loom '$(echo $got | head -c 200)'"
	fi
else
	fail fdview-build "cannot build fdview.c"
fi
# CPython's own test that lists a child's descriptors (it saw loom's).
if [ -e /usr/lib/python3.11/test/regrtest.py ] && [ -x /usr/bin/python3 ]; then
	for t in test_pass_fds_redirected test_close_fds; do
		want=$(cd "$T" && timeout 300 /usr/bin/python3 -m test test_subprocess -m $t 2>&1 | grep '^Tests result')
		got=$(cd "$T" && timeout 600 "$LOOM" /usr/bin/python3 -m test test_subprocess -m $t 2>&1 | grep '^Tests result')
		if [ -n "$want" ] && [ "$want" = "$got" ]; then
			pass "cpython-$t"
		else
			fail "cpython-$t" "native '$want', loom '$got'"
		fi
	done
else
	echo "SKIP cpython-test_pass_fds_redirected: libpython3.11-testsuite is not installed"
	skipped=$((skipped + 1))
fi

# --- the mutated-ELF corpus: each mutant exec'd natively and under loom
# (tests/elf/mutate.py; LOOM_ELF_MUTANTS sets how many, 300 by default) ---
mutants=${LOOM_ELF_MUTANTS:-300}
if gcc -O1 -static -o "$T/runner" "$HERE/runner.c" &&
   gcc -O1 -static -o "$T/seed-static" "$HERE/seed.c" &&
   gcc -O1 -static-pie -o "$T/seed-static-pie" "$HERE/seed.c" &&
   gcc -O1 -o "$T/seed-dynamic" "$HERE/seed.c"; then
	python3 "$HERE/mutate.py" "$LOOM" "$T/mutants" "$mutants" "$T/tiny" "$T/seed-static" \
		"$T/seed-static-pie" "$T/seed-dynamic" -- "$T/runner" >"$T/mutate.out" 2>&1
	grep -E '^(PASS|FAIL|SKIP) ' "$T/mutate.out"
	sed -n '/^outcome classes/,/^[0-9]* passed/p' "$T/mutate.out" | grep -v ' passed, '
	counts=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$T/mutate.out" | tail -n 1)
	if [ -n "$counts" ]; then
		set -- $counts
		passed=$((passed + $1))
		failed=$((failed + $3))
		skipped=$((skipped + $5))
	else
		fail mutate "mutate.py printed no count: $(tail -n 5 "$T/mutate.out")"
	fi
else
	fail mutate-build "cannot build the corpus seeds or runner.c"
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
