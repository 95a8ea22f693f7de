#!/usr/bin/env bash
# The afl subsuite: loom as AFL++'s QEMU-mode target.
#
#   tests/afl/run.sh LOOM [NAME...]
#
# Builds tests/afl/target.c (static and stripped; dynamic for the scope
# tests), the protocol client fsclient.c and the persistent hook hook.c into
# a scratch directory, then checks the fork server against the real AFL++
# tools (afl-showmap, afl-fuzz, afl-tmin, afl-cmin from Debian's afl++) and
# against fsclient, which shows raw wait statuses, the version-1 handshake
# and map stability.  Every expected outcome comes from a native run of the
# same target (exit status or signal) or from comparing loom with itself
# under different settings (scope), never from loom's own earlier output.
# The CMPLOG checks read the map through fsclient -c and run afl-fuzz -c 0.
# Prints PASS/FAIL lines and "N passed, N failed".  About a minute.
set -uo pipefail
loom=$(realpath "$1")
shift
only=" $* "
root=$(cd "$(dirname "$0")/../.." && pwd)
# Not under /tmp: afl-cmin refuses to work there.
work=$(mktemp -d "$(dirname "$loom")/afl-tests.XXXXXX")
trap 'rm -rf "$work"' EXIT
passed=0
failed=0

export AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
	AFL_NO_AFFINITY=1 AFL_QUIET=1
unset AFL_QEMU_PERSISTENT_ADDR AFL_ENTRYPOINT AFL_INST_LIBS AFL_MAP_SIZE __AFL_SHM_ID AFL_COMPCOV_LEVEL

for tool in afl-showmap afl-fuzz afl-tmin afl-cmin gcc; do
	if ! command -v $tool >/dev/null; then
		echo "FAIL setup: $tool is missing (scripts/install-deps.sh installs afl++)"
		echo "0 passed, 1 failed"
		exit 1
	fi
done
gcc -O1 -static -include stdint.h -o "$work/target" "$root/tests/afl/target.c" &&
	strip "$work/target" &&
	gcc -O1 -include stdint.h -o "$work/target.dyn" "$root/tests/afl/target.c" &&
	gcc -O2 -o "$work/fsclient" "$root/tests/afl/fsclient.c" &&
	gcc -O2 -shared -fPIC -o "$work/hook.so" "$root/tests/afl/hook.c" || {
	echo "FAIL setup: cannot build the test programs"
	echo "0 passed, 1 failed"
	exit 1
}
# Function offsets in the position-independent build (loom adds its base).
sym() { echo "0x$(nm "$work/target.dyn" | awk -v s="$1" '$3 == s { print $1 }')"; }
printf 'hello' >"$work/ok"
printf 'LOOM!' >"$work/crash"
# The campaign's seed and dictionary: the deterministic stage (-D) of the
# seed's first queue entry overwrites it with the token at each position,
# so the crash is found in a few hundred executions, reliably.
printf '"OM!"\n' >"$work/dict"
printf 'LOPNA' >"$work/seed"

want() { [ "$only" = "  " ] || [[ $only == *" $1 "* ]]; }
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() {
	echo "FAIL $1"
	shift
	for l in "$@"; do echo "    $l"; done
	failed=$((failed + 1))
}
# native FILE: "exit N" or "signal N" of the target run natively.
native() {
	"$work/target.dyn" "$@" >/dev/null 2>&1
	local s=$?
	if [ $s -gt 128 ]; then echo "signal $((s - 128))"; else echo "exit $s"; fi
}
fsc() { (cd "$work" && timeout 60 ./fsclient "$@" 2>"$work/fsc.err"); }
has() { grep -qx -- "$2" <<<"$1"; }
showmap() { # showmap OUT ARGS...: afl-showmap -Q through AFL_QEMU_CUSTOM_BIN
	local out=$1
	shift
	AFL_QEMU_CUSTOM_BIN=1 timeout 60 afl-showmap -Q -q -o "$out" -- "$loom" "$@" >/dev/null 2>&1
}

# The old handshake, statuses as the native run's, the map written.
if want fork-server; then
	out=$(fsc -n 20 -f cur -d hello -d 'LOOM!' -- "$loom" "$work/target" "$work/cur")
	want_ok=$(native "$work/ok") want_crash=$(native "$work/crash")
	if has "$out" "old map=65536" && has "$out" "$want_ok x10" && has "$out" "$want_crash x10" &&
		! has "$out" "map bytes set 0" && has "$out" "maps per input 1.00"; then
		pass fork-server
	else
		fail fork-server "expected old map=65536, $want_ok x10, $want_crash x10, a stable map; got:" \
			"$(echo $out)" "$(cat "$work/fsc.err")" \
			"repro: fsclient -n 20 -f cur -d hello -d 'LOOM!' -- $loom target cur"
	fi
fi

# Version-1 handshake and AFL_MAP_SIZE (both handshakes).
if want handshake-v1; then
	out=$(AFL_MAP_SIZE=131072 fsc -1 -m 131072 -n 4 -f cur -d hello -- "$loom" "$work/target" "$work/cur")
	out2=$(AFL_MAP_SIZE=262144 fsc -m 262144 -n 2 -f cur -d hello -- "$loom" "$work/target" "$work/cur")
	if has "$out" "v1 opts=1 map=131072" && has "$out" "exit 0 x4" && has "$out2" "old map=262144"; then
		pass handshake-v1
	else
		fail handshake-v1 "got: $(echo $out) / $(echo $out2)" "$(cat "$work/fsc.err")" \
			"repro: AFL_MAP_SIZE=131072 fsclient -1 -m 131072 -n 4 -f cur -d hello -- $loom target cur"
	fi
fi

# afl-showmap: a map, the same for the same input, different for another;
# a crash reported as one.
if want showmap; then
	showmap "$work/m1" "$work/target" "$work/ok"
	showmap "$work/m2" "$work/target" "$work/ok"
	showmap "$work/m3" "$work/target" "$work/crash"
	s3=$?
	if [ -s "$work/m1" ] && cmp -s "$work/m1" "$work/m2" && ! cmp -s "$work/m1" "$work/m3" &&
		[ $s3 -eq 2 ]; then
		pass showmap
	else
		fail showmap "maps: $(wc -l <"$work/m1" 2>/dev/null) / $(wc -l <"$work/m2" 2>/dev/null) / $(wc -l <"$work/m3" 2>/dev/null) tuples, crash status $s3 (want 2)" \
			"repro: AFL_QEMU_CUSTOM_BIN=1 afl-showmap -Q -o map -- $loom target ok"
	fi
fi

# The afl-qemu-trace drop-in found through AFL_PATH (no AFL_QEMU_CUSTOM_BIN):
# afl-showmap runs it without a fork server.  The environment differs from
# the runs above (libc's start-up scans it), so the maps are compared with
# each other: a map for each input, different inputs telling apart, the
# crash seen as one.
if want drop-in; then
	mkdir -p "$work/aflpath"
	ln -sf "$loom" "$work/aflpath/afl-qemu-trace"
	AFL_PATH="$work/aflpath" timeout 60 afl-showmap -Q -q -o "$work/m4" -- "$work/target" "$work/ok" \
		>/dev/null 2>&1
	AFL_PATH="$work/aflpath" timeout 60 afl-showmap -Q -q -o "$work/m5" -- "$work/target" "$work/crash" \
		>/dev/null 2>&1
	s5=$?
	if [ -s "$work/m4" ] && [ -s "$work/m5" ] && ! cmp -s "$work/m4" "$work/m5" && [ $s5 -eq 2 ]; then
		pass drop-in
	else
		fail drop-in "afl-showmap -Q through AFL_PATH/afl-qemu-trace: maps of $(wc -l <"$work/m4" 2>/dev/null) and $(wc -l <"$work/m5" 2>/dev/null) tuples, crash status $s5 (want 2)" \
			"repro: AFL_PATH=dir-with-afl-qemu-trace afl-showmap -Q -o map -- target ok"
	fi
fi

# Scope: the main program only by default; AFL_INST_LIBS adds the libraries;
# module names and ranges include and exclude.
if want scope; then
	showmap "$work/s-main" "$work/target.dyn" "$work/ok"
	AFL_INST_LIBS=1 showmap "$work/s-libs" "$work/target.dyn" "$work/ok"
	AFL_QEMU_INST_RANGES=libc.so showmap "$work/s-libc" "$work/target.dyn" "$work/ok"
	AFL_QEMU_EXCLUDE_RANGES=target.dyn showmap "$work/s-none" "$work/target.dyn" "$work/ok"
	n() { wc -l <"$1" 2>/dev/null || echo 0; }
	if [ "$(n "$work/s-main")" -gt 0 ] && [ "$(n "$work/s-libs")" -gt $(($(n "$work/s-main") + 100)) ] &&
		[ "$(n "$work/s-libc")" -gt 100 ] && [ "$(n "$work/s-none")" -eq 0 ]; then
		pass scope
	else
		fail scope "tuples: main $(n "$work/s-main"), libs $(n "$work/s-libs"), libc $(n "$work/s-libc"), main excluded $(n "$work/s-none")" \
			"repro: AFL_INST_LIBS=1 AFL_QEMU_CUSTOM_BIN=1 afl-showmap -Q -o map -- $loom target.dyn ok"
	fi
fi

# AFL_ENTRYPOINT: a deferred fork server at target().
if want entrypoint; then
	out=$(AFL_ENTRYPOINT=$(sym target) fsc -n 6 -f cur -d hello -d 'LOOM!' -- "$loom" "$work/target.dyn" "$work/cur")
	if has "$out" "$(native "$work/ok") x3" && has "$out" "$(native "$work/crash") x3" &&
		has "$out" "maps per input 1.00"; then
		pass entrypoint
	else
		fail entrypoint "got: $(echo $out)" "$(cat "$work/fsc.err")" \
			"repro: AFL_ENTRYPOINT=$(sym target) fsclient -n 6 -f cur -d hello -d 'LOOM!' -- $loom target.dyn cur"
	fi
fi

# Persistent mode: iterations stop (not exit), crashes still end the child
# with the signal, maps are the same for the same input (stable), and
# _CNT bounds a child's iterations.
if want persistent; then
	export AFL_QEMU_PERSISTENT_ADDR=$(sym target) AFL_QEMU_PERSISTENT_GPR=1
	out=$(fsc -n 30 -f cur -d hello -d xyz -d 'LOOM!' -- "$loom" "$work/target.dyn" "$work/cur")
	out2=$(AFL_QEMU_PERSISTENT_CNT=4 fsc -n 12 -f cur -d hello -- "$loom" "$work/target.dyn" "$work/cur")
	unset AFL_QEMU_PERSISTENT_ADDR AFL_QEMU_PERSISTENT_GPR
	if has "$out" "stopped x20" && has "$out" "$(native "$work/crash") x10" &&
		has "$out" "maps per input 1.00" && has "$out2" "stopped x9" && has "$out2" "exit 0 x3"; then
		pass persistent
	else
		fail persistent "got: $(echo $out) / CNT=4: $(echo $out2)" "$(cat "$work/fsc.err")" \
			"repro: AFL_QEMU_PERSISTENT_ADDR=$(sym target) AFL_QEMU_PERSISTENT_GPR=1 fsclient -n 30 -f cur -d hello -d xyz -d 'LOOM!' -- $loom target.dyn cur"
	fi
fi

# Persistent mode ending in exit() (_EXITS), and at a given _RET.
if want persistent-exits; then
	out=$(AFL_QEMU_PERSISTENT_ADDR=$(sym target_exit) AFL_QEMU_PERSISTENT_GPR=1 \
		AFL_QEMU_PERSISTENT_EXITS=1 fsc -n 10 -f cur -d hello -d xyz -- "$loom" "$work/target.dyn" -exit "$work/cur")
	# Not compared for stability: glibc's exit() runs the program's
	# destructors the first time only.
	if has "$out" "stopped x10" && ! has "$out" "map bytes set 0"; then
		pass persistent-exits
	else
		fail persistent-exits "got: $(echo $out)" "$(cat "$work/fsc.err")" \
			"repro: AFL_QEMU_PERSISTENT_ADDR=$(sym target_exit) AFL_QEMU_PERSISTENT_GPR=1 AFL_QEMU_PERSISTENT_EXITS=1 fsclient -n 10 -f cur -d hello -- $loom target.dyn -exit cur"
	fi
fi

# _MEM: a function that keeps state between calls gives the same map for
# the same input only when memory is restored; without _MEM it does not
# (the control that shows the check can fail).
if want persistent-mem; then
	export AFL_QEMU_PERSISTENT_ADDR=$(sym target_mem) AFL_QEMU_PERSISTENT_GPR=1
	out=$(AFL_QEMU_PERSISTENT_MEM=1 fsc -n 10 -f cur -d hello -- "$loom" "$work/target.dyn" -mem "$work/cur")
	out2=$(fsc -n 10 -f cur -d hello -- "$loom" "$work/target.dyn" -mem "$work/cur")
	unset AFL_QEMU_PERSISTENT_ADDR AFL_QEMU_PERSISTENT_GPR
	if has "$out" "stopped x10" && has "$out" "maps per input 1.00" &&
		has "$out2" "stopped x10" && ! has "$out2" "maps per input 1.00"; then
		pass persistent-mem
	else
		fail persistent-mem "with _MEM: $(echo $out) / without: $(echo $out2)" "$(cat "$work/fsc.err")" \
			"repro: AFL_QEMU_PERSISTENT_ADDR=$(sym target_mem) AFL_QEMU_PERSISTENT_GPR=1 AFL_QEMU_PERSISTENT_MEM=1 fsclient -n 10 -f cur -d hello -- $loom target.dyn -mem cur"
	fi
fi

# A persistent hook fed from shared memory (__AFL_SHM_FUZZ_ID).
if want persistent-hook; then
	out=$(AFL_QEMU_PERSISTENT_ADDR=$(sym target_buf) AFL_QEMU_PERSISTENT_GPR=1 \
		AFL_QEMU_PERSISTENT_HOOK="$work/hook.so" fsc -S -n 12 -d hello -d 'LOOM!' -- \
		"$loom" "$work/target.dyn" -buf x)
	if has "$out" "stopped x6" && has "$out" "$(native "$work/crash") x6" && has "$out" "maps per input 1.00"; then
		pass persistent-hook
	else
		fail persistent-hook "got: $(echo $out)" "$(cat "$work/fsc.err")" \
			"repro: AFL_QEMU_PERSISTENT_ADDR=$(sym target_buf) AFL_QEMU_PERSISTENT_GPR=1 AFL_QEMU_PERSISTENT_HOOK=hook.so fsclient -S -n 12 -d hello -d 'LOOM!' -- $loom target.dyn -buf x"
	fi
fi

# CompCov: each more matching byte of a 32-bit magic value (compared in a
# register with an immediate) is one more map entry with AFL_COMPCOV_LEVEL=1;
# without it the four inputs give the same count.
if want compcov; then
	cc=""
	plain=""
	for m in '\x00\x00\x00\x00' '\x00\x00\x00\xde' '\x00\x00\xad\xde' '\x00\xbe\xad\xde'; do
		printf "$m" >"$work/magic"
		AFL_COMPCOV_LEVEL=1 showmap "$work/cc" "$work/target.dyn" -magic "$work/magic"
		cc="$cc $(wc -l <"$work/cc")"
		showmap "$work/cc" "$work/target.dyn" -magic "$work/magic"
		plain="$plain $(wc -l <"$work/cc")"
	done
	read -r c0 c1 c2 c3 <<<"$cc"
	read -r p0 p1 p2 p3 <<<"$plain"
	if [ "$c1" -eq $((c0 + 1)) ] && [ "$c2" -eq $((c0 + 2)) ] && [ "$c3" -eq $((c0 + 3)) ] &&
		[ "$p0" -eq "$p1" ] && [ "$p1" -eq "$p2" ] && [ "$p2" -eq "$p3" ]; then
		pass compcov
	else
		fail compcov "tuples for 0, 1, 2, 3 matching bytes: with CompCov$cc, without$plain" \
			"repro: AFL_COMPCOV_LEVEL=1 AFL_QEMU_CUSTOM_BIN=1 afl-showmap -Q -o map -- $loom target.dyn -magic file"
	fi
fi

# CMPLOG: the map afl-fuzz 4.04c reads, filled by a CMPLOG run of target
# -cmplog, whose compares are fixed by asm: each pair below is (operand 1,
# operand 2) of one of them, the input's bytes against the source's
# constants (shape = size - 1, one hit per run: the headers are cleared
# before each), and the call str_eq(input + 16, magic_str) logged with 31
# bytes from each pointer.  Without ___AFL_EINS_ZWEI_POLIZEI___ (the plain
# run) nothing is logged.
if want cmplog-map; then
	printf 'abcdefghijklmnopinput-for-call!!' >"$work/cmplog-in"
	out=$(fsc -c "$work/cdump" -n 3 -- "$loom" "$work/target" -cmplog "$work/cmplog-in")
	fsc -c "$work/cdump0" -C -n 1 -- "$loom" "$work/target" -cmplog "$work/cmplog-in" >/dev/null
	# A compare whose memory operand faults: the guest's SIGSEGV, as native.
	fault=$(fsc -c "$work/cdump1" -n 2 -- "$loom" "$work/target" -cmpfault)
	missing=""
	for want_line in "ins 3 1 64636261 deadbeef" "ins 7 1 6c6b6a6968676665 1122334455667788" \
		"ins 1 1 6e6d c0de" "ins 0 1 6f 5a" "ins 3 1 64636261 600dcafe" \
		"rtn 30 1 31 31 'input-for-call!!' 'CMPLOG-magic-string-of-32-bytes'"; do
		grep -qxF -- "$want_line" "$work/cdump" 2>/dev/null || missing="$missing [$want_line]"
	done
	if [ -z "$missing" ] && has "$out" "exit 0 x3" && [ "$(cat "$work/cdump0")" = "entries 0" ] &&
		has "$fault" "$(native -cmpfault) x2"; then
		pass cmplog-map
	else
		fail cmplog-map "missing:$missing; $(tail -1 "$work/cdump" 2>/dev/null); plain run: $(tail -1 "$work/cdump0" 2>/dev/null) (want entries 0); -cmpfault: $(echo $fault) (want $(native -cmpfault) x2)" \
			"$(echo $out)" "$(cat "$work/fsc.err")" \
			"repro: fsclient -c dump -n 3 -- $loom target -cmplog cin (cin: abcdefghijklmnopinput-for-call!!)"
	fi
fi

# A CMPLOG campaign (afl-fuzz -Q -c 0) finds the crash behind the 32-bit
# magic compare of target -magic from a seed of "abcd" (input-to-state:
# the logged pair tells afl-fuzz what to write), where a plain campaign of
# the same seed finds nothing in its 5 s (2^32 values, no dictionary).
# -t 1000: afl-fuzz's own timeout comes from the plain run's speed, and the
# CMPLOG server's first execution translates everything (a busy machine
# made it time out, and afl-fuzz then skips the stage for the seed).
# setsid: afl-fuzz kills its process group when it aborts.
if want cmplog-fuzz; then
	mkdir -p "$work/cmplog-seed"
	printf 'abcd' >"$work/cmplog-seed/seed"
	campaign() { # campaign OUT SECONDS [-c 0]
		local out=$1 secs=$2
		shift 2
		AFL_QEMU_CUSTOM_BIN=1 AFL_BENCH_UNTIL_CRASH=1 setsid -w timeout $((secs + 30)) \
			afl-fuzz -Q -t 1000 "$@" -i "$work/cmplog-seed" -o "$work/$out" -V "$secs" -- \
			"$loom" "$work/target" -magic @@ >"$work/$out.log" 2>&1
	}
	campaign cmplog-out 50 -c 0
	campaign plain-out 5
	crash=$(ls "$work"/cmplog-out/default/crashes/id:* 2>/dev/null | head -1)
	plain=$(ls "$work"/plain-out/default/crashes/id:* 2>/dev/null | wc -l)
	if [ -n "$crash" ] && [ "$(native -magic "$crash")" = "signal 11" ] && [ "$plain" -eq 0 ]; then
		pass cmplog-fuzz
	else
		fail cmplog-fuzz "with -c 0: crash '${crash##*/}' (want one that crashes natively); plain: $plain crashes (want 0)" \
			"$(tail -3 "$work/cmplog-out.log")" \
			"repro: AFL_QEMU_CUSTOM_BIN=1 afl-fuzz -Q -c 0 -i seed-abcd -o out -- $loom target -magic @@"
	fi
fi

# Not AFL's target: fds 198/199 closed and no __AFL_SHM_ID: loom runs as
# ever (same status as native).
if want not-a-target; then
	s=$(sh -c '"$0" "$1" "$2" >/dev/null 2>&1; echo $?' "$loom" "$work/target.dyn" "$work/crash" 2>/dev/null)
	if [ "$s" -eq 139 ]; then
		pass not-a-target
	else
		fail not-a-target "loom target crash: status $s, want 139" "repro: $loom target.dyn crash"
	fi
fi

# afl-tmin shrinks a crashing input and keeps it crashing; afl-cmin keeps
# one input per distinct map.
if want tmin-cmin; then
	printf 'LOOM!and some tail' >"$work/bigcrash"
	AFL_QEMU_CUSTOM_BIN=1 timeout 60 afl-tmin -Q -i "$work/bigcrash" -o "$work/min" -- \
		"$loom" "$work/target" @@ >"$work/tmin.log" 2>&1
	mkdir -p "$work/cin"
	printf 'hello' >"$work/cin/a"
	printf 'hello' >"$work/cin/b"
	printf '\x01\x02' >"$work/cin/c"
	# the work directory may be under /tmp (a clone there): it is ours alone
	AFL_ALLOW_TMP=1 AFL_QEMU_CUSTOM_BIN=1 timeout 60 afl-cmin -Q -i "$work/cin" -o "$work/cout" -- \
		"$loom" "$work/target" @@ >"$work/cmin.log" 2>&1
	ncout=$(ls "$work/cout" 2>/dev/null | wc -l)
	if [ "$(head -c 5 "$work/min" 2>/dev/null)" = "LOOM!" ] && [ "$(wc -c <"$work/min")" -eq 5 ] &&
		[ "$ncout" -eq 2 ]; then
		pass tmin-cmin
	else
		fail tmin-cmin "afl-tmin output: '$(cat "$work/min" 2>/dev/null)', afl-cmin kept $ncout of 3 (want 2)" \
			"$(tail -3 "$work/tmin.log")" "$(tail -3 "$work/cmin.log")" \
			"repro: AFL_QEMU_CUSTOM_BIN=1 afl-tmin -Q -i bigcrash -o min -- $loom target @@"
	fi
fi

# A short campaign on the stripped static target finds the planted crash.
if want fuzz; then
	mkdir -p "$work/in"
	cp "$work/seed" "$work/in/seed"
	AFL_QEMU_CUSTOM_BIN=1 AFL_BENCH_UNTIL_CRASH=1 AFL_DISABLE_TRIM=1 \
		timeout 100 afl-fuzz -Q -D -x "$work/dict" -i "$work/in" -o "$work/out" \
		-V 80 -- "$loom" "$work/target" @@ >"$work/fuzz.log" 2>&1
	crash=$(ls "$work"/out/default/crashes/id:* 2>/dev/null | head -1)
	if [ -n "$crash" ] && [ "$(native "$crash")" = "signal 11" ]; then
		pass fuzz
	else
		fail fuzz "afl-fuzz found no crash that crashes natively in 80 s" "$(tail -3 "$work/fuzz.log")" \
			"$(grep -E 'execs_done|execs_per_sec' "$work"/out/default/fuzzer_stats 2>/dev/null | tr -s ' ')" \
			"repro: AFL_QEMU_CUSTOM_BIN=1 AFL_DISABLE_TRIM=1 afl-fuzz -Q -D -x dict -i in -o out -- $loom target @@"
	fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
