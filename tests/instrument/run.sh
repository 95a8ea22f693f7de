#!/usr/bin/env bash
# Coverage recording and the control channel, end to end:
#
#   tests/instrument/run.sh BUILDDIR
#
# Uses BUILDDIR/loom, loom-cov and loom-ctl on small assembly programs whose
# blocks are known by construction (tests/instrument/*.S): the expected
# module offsets come from the programs' own symbols (nm) and load address
# (readelf), never from loom's output.  Prints PASS/FAIL per check and ends
# with "N passed, N failed".
set -uo pipefail

if [ $# -ne 1 ]; then
	echo "usage: $0 BUILDDIR" >&2
	exit 2
fi
root=$(cd "$(dirname "$0")/../.." && pwd)
b=$(cd "$1" && pwd)
loom=$b/loom cov=$b/loom-cov ctl=$b/loom-ctl
work=$(mktemp -d "${TMPDIR:-/tmp}/loom-instr.XXXXXX")
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
passed=0 failed=0 skipped=0

pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() {
	echo "FAIL $1"
	shift
	for l in "$@"; do echo "    $l"; done
	failed=$((failed + 1))
}
# check NAME EXPECTED ACTUAL
check() {
	if [ "$2" == "$3" ]; then pass "$1"; else fail "$1" "expected: $2" "got:      $3"; fi
}

for p in branch crash spin; do
	gcc -static -nostdlib -o "$work/$p" "$root/tests/instrument/$p.S" || {
		echo "cannot build $p"
		echo "0 passed, 1 failed"
		exit 1
	}
done
cd "$work" || exit 1

# The module offset of a symbol: its address minus where the file's first
# byte is mapped (the lowest PT_LOAD's page; these are not PIE).
off_of() {
	local addr base
	addr=$(nm "$1" | awk -v s="$2" '$3 == s { print $1 }')
	base=$(readelf -lW "$1" | awk '$1 == "LOAD" { print $3; exit }')
	printf '%s+0x%08x' "$1" $((0x$addr - (base & ~0xfff)))
}

# ---- differential coverage: exactly the new block ----
"$loom" -cov a.drcov ./branch
st_a=$?
"$loom" -cov b.drcov ./branch x
st_b=$?
check "exit status as native (argc 1)" 1 "$st_a"
check "exit status as native (argc 2)" 2 "$st_b"
check "diff lists exactly the block only argc 2 runs" "$(off_of branch path_b)" \
	"$("$cov" diff a.drcov b.drcov 2>&1)"
check "diff the other way lists path_a and done" \
	"$(printf '%s\n%s' "$(off_of branch path_a)" "$(off_of branch done)")" \
	"$("$cov" diff b.drcov a.drcov 2>&1)"
# The recording as tests/cov/drcov.py (an independent drcov reader) sees it.
check "drcov recording read by the independent parser" \
	"$(printf '%s\n%s\n%s' "$(off_of branch _start)" "$(off_of branch path_a)" "$(off_of branch done)")" \
	"$(python3 "$root/tests/cov/drcov.py" dump a.drcov 2>&1)"

# ---- formats ----
"$loom" -cov b.txt -cov-format modoff ./branch x
check "modoff recording" "$(printf '%s\n%s' "$(off_of branch _start)" "$(off_of branch path_b)")" \
	"$(grep '^branch+' b.txt | sort)"
"$loom" -cov h.drcov -cov-hits ./branch x
check "hit counts recorded" "2" "$("$cov" summary h.drcov 2>&1 | awk '$1 == "branch" { print $2 }')"

# ---- flushed on a crash and on SIGTERM/SIGINT ----
./crash 2>/dev/null
native=$?
"$loom" -cov c.txt -cov-format modoff ./crash 2>/dev/null
st=$?
check "crash: dies of the same signal" "$native" "$st"
check "crash: coverage written before dying" "$(off_of crash _start)" "$(grep '^crash+' c.txt 2>&1)"

for sig in TERM INT; do
	rm -f s.txt
	# a background job starts with SIGINT ignored: give it the default
	env --default-signal="$sig" "$loom" -cov s.txt -cov-format modoff ./spin &
	pid=$!
	sleep 0.5
	kill -"$sig" "$pid"
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid"
	st=$?
	want=$((128 + $(kill -l "$sig")))
	check "SIG$sig: loom dies of it" "$want" "$st"
	check "SIG$sig: coverage written" "$(printf '%s\n%s' "$(off_of spin _start)" "$(off_of spin spin)")" \
		"$(grep '^spin+' s.txt 2>/dev/null | sort)"
done

# ---- the control channel ----
cat >icount.c <<'EOF'
#include <qemu-plugin.h>
QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;
QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
					   int argc, char **argv)
{
	return 0;
}
EOF
if ! cc -shared -fPIC -I"$root/include" $(pkg-config --cflags glib-2.0) -o libnop.so icount.c; then
	fail "build a plugin for the control tests"
fi
sock=$work/ctl.sock
"$loom" -control "$sock" -cov-format modoff -plugin ./libnop.so ./spin &
pid=$!
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
c() { "$ctl" "$sock" "$@"; }
check "status" "ok pid=$pid threads=1 cov=off blocks=0" \
	"$(c status | sed -E 's/ tbs=[0-9]+//')"
check "cov start" "ok coverage on" "$(c cov start)"
sleep 0.3
check "status sees coverage" "cov=on blocks=1" "$(c status | grep -oE 'cov=[a-z]+ blocks=[0-9]+')"
check "cov write" "ok 1 blocks written to $work/w1.txt" "$(c cov write "$work/w1.txt")"
check "written while running" "$(off_of spin spin)" "$(grep '^spin+' w1.txt)"
check "cov stop" "ok coverage off" "$(c cov stop)"
check "cov clear" "ok coverage cleared" "$(c cov clear)"
sleep 0.2
check "stopped and cleared: nothing recorded" "cov=off blocks=0" \
	"$(c status | grep -oE 'cov=[a-z]+ blocks=[0-9]+')"
check "plugin list" "ok nop=on" "$(c plugin list)"
check "plugin disable" "ok nop disabled" "$(c plugin disable nop)"
check "plugin list after disable" "ok nop=off" "$(c plugin list)"
check "plugin enable" "ok nop enabled" "$(c plugin enable nop)"
out=$(c plugin enable nosuch)
st=$?
check "plugin enable of an unknown name fails" "1 error: no plugin named 'nosuch' (plugin list shows them)" "$st $out"
check "dump" "ok 64 bytes written to $work/d.bin" "$(c dump 0x400000 64 "$work/d.bin")"
check "dump is the program's first bytes" "$(head -c 64 spin | od -An -tx1)" "$(od -An -tx1 d.bin 2>&1)"
out=$(c dump 0x10 16 "$work/e.bin")
check "dump of unmapped memory fails" "1 error:" "$? ${out%% *}"
out=$(c frobnicate)
check "unknown command" "1 error:" "$? $(echo "$out" | cut -c1-6)"
check "one connection, several commands" "$(printf 'ok coverage on\nok coverage off')" \
	"$(printf 'cov start\ncov stop\n' | python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(sys.stdin.buffer.read()); s.shutdown(socket.SHUT_WR)
print(s.makefile().read(), end="")' "$sock")"
kill -TERM "$pid"
wait "$pid"
check "still dies of SIGTERM" 143 "$?"
check "socket removed at exit" "gone" "$([ -e "$sock" ] && echo there || echo gone)"

# ---- the control channel admits only its owner ----
# Created 0600 whatever the umask (under umask 000 bind alone would make it
# srwxrwxrwx).
rm -f "$sock"
(umask 000 && exec "$loom" -control "$sock" ./spin 2>ctl.err) &
pid=$!
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
check "socket under umask 000 is owner-only" "600 $(id -u)" "$(stat -c '%a %u' "$sock" 2>&1)"
# A second uid: refused by the file's mode, and, with the mode opened up
# (as a careless directory or a bind mount might), by its credentials.
other=65534
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	as() { local u=$1; shift; setpriv --reuid="$u" --regid="$u" --clear-groups "$@"; }
	chmod 755 "$work"
	out=$(as $other "$ctl" "$sock" status 2>&1)
	check "uid $other: mode 0600 keeps it out" "2 loom-ctl: $sock: Permission denied" "$? $out"
	chmod 666 "$sock"
	out=$(as $other "$ctl" "$sock" cov write "$work/x.drcov" 2>&1)
	check "uid $other: refused by its credentials" \
		"1 error: permission denied: not loom's user or root" "$? $out"
	check "refused: no file written" "absent" "$([ -e "$work/x.drcov" ] && echo present || echo absent)"
	check "refused: one line logged, naming the uid" "1" \
		"$(grep -c "^loom: -control $sock: refused a connection from uid $other (pid [0-9]*): only loom's user (uid 0) or root may connect$" ctl.err)"
	check "the owner still gets in" "ok coverage on" "$(c cov start)"
	kill -TERM "$pid"
	wait "$pid"
	# loom run by uid 65534: that uid and root get in, uid 65533 does not.
	chmod 777 "$work"
	as $other "$loom" -control "$sock" ./spin 2>ctl2.err &
	pid=$!
	for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
	check "socket belongs to the uid that ran loom" "600 $other" "$(stat -c '%a %u' "$sock" 2>&1)"
	check "same uid gets in" "ok coverage on" "$(as $other "$ctl" "$sock" cov start 2>&1)"
	check "root gets in" "ok coverage off" "$("$ctl" "$sock" cov stop 2>&1)"
	chmod 666 "$sock"	# as root: only the credentials check is left
	out=$(as 65533 "$ctl" "$sock" status 2>&1)
	check "uid 65533 refused by a loom of uid $other" \
		"1 error: permission denied: not loom's user or root" "$? $out"
	check "refused: logged" "1" "$(grep -c "refused a connection from uid 65533 .*only loom's user (uid $other) or root" ctl2.err)"
	kill -TERM "$pid"
	wait "$pid"
	chmod 700 "$work"
else
	echo "SKIP control channel with a second uid: needs root and setpriv (CI runs as root)"
	skipped=$((skipped + 1))
	kill -TERM "$pid"
	wait "$pid"
fi

# ---- bad options ----
out=$("$loom" -cov-format nope ./branch 2>&1)
check "bad -cov-format" "1 loom: -cov-format nope: unknown format (drcov, modoff, lcov, bitmap)" "$? $out"
out=$("$loom" -control /nonexistent/dir/s ./branch 2>&1)
check "unusable -control path" "1 1" "$? $(echo "$out" | grep -c '^loom: -control /nonexistent/dir/s: ')"
"$ctl" "$work/none.sock" status >/dev/null 2>&1
check "loom-ctl without a loom" "2" "$?"

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
