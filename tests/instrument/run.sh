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
# C guests: one that forks and spins, and one with -g for lcov (square,
# cube and main run; unused never does, by construction).
cat >"$work/prog.c" <<'EOF'
#include <stdio.h>

int square(int x)
{
	int y = x * x;
	if (y > 100)
		y -= 100;
	return y;
}

int cube(int x)
{
	int y = x * x * x;
	return y + 1;
}

int unused(int x)
{
	return x - 1;
}

int main(int argc, char **argv)
{
	printf("%d\n", square(argc) + cube(argc));
	return 0;
}
EOF
if ! gcc -static -O1 -o "$work/forkspin" "$root/tests/instrument/forkspin.c" ||
	! gcc -g -O0 -o "$work/prog" "$work/prog.c" ||
	! strip -o "$work/prog-stripped" "$work/prog"; then
	echo "cannot build the C guests"
	echo "0 passed, 1 failed"
	exit 1
fi
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

# ---- coverage is never lost silently ----
# A file loom cannot write fails before the guest runs: one line, status 1,
# and the guest's own output never appears.
./prog >native.out
for bad in /nonexistent/dir/x.drcov "$work"; do
	out=$("$loom" -cov "$bad" ./prog 2>&1)
	st=$?
	check "-cov $bad: fails at start" "1 1 0" \
		"$st $(echo "$out" | grep -c "^loom: -cov $bad: ") $(echo "$out" | grep -c '^[0-9]')"
done
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	mkdir ro && chmod 755 ro "$work"
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$loom" -cov ro/x.drcov ./prog 2>&1)
	check "-cov into a directory of another user: fails at start" \
		"1 loom: -cov ro/x.drcov: cannot create: Permission denied" "$? $out"
	chmod 700 "$work"
else
	echo "SKIP -cov into a read-only directory: needs root and setpriv"
	skipped=$((skipped + 1))
fi
out=$("$loom" -cov s.info -cov-format lcov ./prog-stripped 2>&1)
check "lcov of a stripped program: fails at start" \
	"1 loom: -cov-format lcov: $work/prog-stripped: no DWARF line table (.debug_line) (lcov needs the program built with -g, not stripped)" \
	"$? $out"
# A -cov-bitmap module that never runs: the guest runs as natively, and
# loom warns at the end; a module path naming no file fails at start.
out=$("$loom" -cov n.bits -cov-bitmap libnosuch.so ./prog 2>err.txt)
check "-cov-bitmap of a module that never runs: the guest runs" "0 $(cat native.out)" "$? $out"
check "-cov-bitmap of a module that never runs: warned at the end" \
	"loom: warning: -cov-bitmap libnosuch.so: no block of that module ran; n.bits is not written" \
	"$(cat err.txt)"
out=$("$loom" -cov n.bits -cov-bitmap /nonexistent/lib.so ./prog 2>&1)
check "-cov-bitmap of a path that is no file: fails at start" \
	"1 loom: -cov-bitmap /nonexistent/lib.so: No such file or directory" "$? $out"
# A module path through a symbolic link names the file mapped.
ln -s "$work/prog" link-prog
"$loom" -cov l.bits -cov-bitmap "$work/link-prog" ./prog >/dev/null 2>err.txt
check "-cov-bitmap through a symlink: the mapped file's bitmap" "Module: $work/prog" \
	"$(sed -n 2p l.bits 2>&1)$(cat err.txt)"

# SIGKILL leaves a valid drcov file, at most -cov-sync behind: the file
# written at start holds nothing; spin's two blocks must appear in it while
# the guest runs (waited for, up to 15 s: the machine may be busy), and
# stay there, in a file that parses, after SIGKILL.  With -cov-sync 200 and
# with the default interval (1 s).
spin_blocks=$(printf '%s\n%s' "$(off_of spin _start)" "$(off_of spin spin)")
for sync in 200 default; do
	rm -f k.drcov*
	opt=(-cov-sync "$sync")
	[ "$sync" = default ] && opt=()
	"$loom" -cov k.drcov "${opt[@]}" ./spin &
	pid=$!
	seen=no
	for _ in $(seq 150); do
		sleep 0.1
		[ "$(python3 "$root/tests/cov/drcov.py" dump k.drcov 2>/dev/null)" = "$spin_blocks" ] &&
			seen=yes && break
	done
	check "-cov-sync $sync: written while the guest runs" yes "$seen"
	kill -KILL "$pid"
	wait "$pid"
	check "SIGKILL ($sync ms): loom dies of it" 137 "$?"
	check "SIGKILL ($sync ms): the drcov file parses and holds what ran" "$spin_blocks" \
		"$(python3 "$root/tests/cov/drcov.py" dump k.drcov 2>&1)"
	check "SIGKILL ($sync ms): no temporary left" "k.drcov" "$(ls k.drcov*)"
done
# Killed before anything could be checkpointed: the file written at
# start is there and valid.
rm -f k.drcov
"$loom" -cov k.drcov -cov-sync 0 ./spin &
pid=$!
for _ in $(seq 100); do [ -e k.drcov ] && break; sleep 0.05; done
kill -KILL "$pid"
wait "$pid"
check "SIGKILL at once: the file from the start parses" "0" \
	"$(python3 "$root/tests/cov/drcov.py" dump k.drcov >/dev/null; echo $?)"
# Forked children: FILE.PID, checkpointed by the child.
in_fn() {	# in_fn DRCOV PROG FUNCTION: "yes" if a block starts in FUNCTION
	local addr size base
	read -r addr size < <(nm -S "$2" | awk -v f="$3" '$4 == f { print $1, $2 }')
	base=$(($(readelf -lW "$2" | awk '$1 == "LOAD" { print $3; exit }') & ~0xfff))
	python3 "$root/tests/cov/drcov.py" dump "$1" | sed -n "s/^$2+//p" |
		while read -r o; do
			if [ $((o + base)) -ge $((0x$addr)) ] && [ $((o + base)) -lt $((0x$addr + 0x$size)) ]; then
				echo yes
				break
			fi
		done
}
rm -f f.drcov*
"$loom" -cov f.drcov -cov-sync 200 ./forkspin >child.pid &
pid=$!
for _ in $(seq 150); do
	sleep 0.1
	child=$(cat child.pid)
	[ -n "$child" ] && [ -n "$(in_fn "f.drcov.$child" forkspin child_spin 2>/dev/null)" ] &&
		[ -n "$(in_fn f.drcov forkspin parent_spin 2>/dev/null)" ] && break
done
kill -KILL "$pid" "$child"
wait "$pid"
check "fork, SIGKILL: parent and child files" "f.drcov f.drcov.$child" "$(echo f.drcov*)"
check "fork, SIGKILL: the parent's file has parent_spin, not child_spin" "yes " \
	"$(in_fn f.drcov forkspin parent_spin) $(in_fn f.drcov forkspin child_spin)"
check "fork, SIGKILL: the child's file has child_spin, not parent_spin" "yes " \
	"$(in_fn "f.drcov.$child" forkspin child_spin) $(in_fn "f.drcov.$child" forkspin parent_spin)"

# The drcov entry column: the ELF header's entry point moved by the
# module's load bias (readelf is the oracle), for a static and a PIE
# program and the PIE's interpreter.
entry_of() {	# entry_of ELF BASE: BASE + e_entry - lowest PT_LOAD page
	local e lo
	e=$(readelf -hW "$1" | awk '/Entry point address/ { print $4 }')
	lo=$(readelf -lW "$1" | awk '$1 == "LOAD" { print $3 }' | sort | head -n 1)
	printf '0x%x' $(($2 + e - (lo & ~0xfff)))
}
"$loom" -cov e.drcov ./branch
read -r _ b _ e < <(python3 "$root/tests/cov/drcov.py" modules e.drcov | grep "/branch ")
check "drcov entry: static program" "$(entry_of branch "$b")" "$e"
"$loom" -cov e.drcov ./prog >/dev/null
read -r _ b _ e < <(python3 "$root/tests/cov/drcov.py" modules e.drcov | grep "/prog ")
check "drcov entry: PIE program" "$(entry_of prog "$b")" "$e"
interp=$(realpath "$(readelf -lW prog | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')")
read -r _ b _ e < <(python3 "$root/tests/cov/drcov.py" modules e.drcov | grep "^$interp ")
check "drcov entry: its interpreter" "$(entry_of "$interp" "$b")" "$e"

# lcov function records from a guest built with -g: each function at the
# line addr2line gives its first byte, entered or not as prog.c says.
"$loom" -cov p.info -cov-format lcov ./prog >/dev/null 2>&1
want=$(for f in cube main square unused; do
	a=$(nm prog | awk -v f="$f" '$3 == f { print $1 }')
	printf 'FN:%s,%s\n' "$(addr2line -e prog "0x$a" | sed -E 's/.*:([0-9]+).*/\1/')" "$f"
done)
check "lcov FN: each function at its first line" "$want" "$(grep '^FN:' p.info)"
check "lcov FNDA: the functions that ran" \
	"$(printf 'FNDA:1,cube\nFNDA:1,main\nFNDA:1,square\nFNDA:0,unused\nFNF:4\nFNH:3')" \
	"$(grep -E '^(FNDA|FNF|FNH):' p.info)"
if command -v genhtml >/dev/null; then
	check "genhtml shows function coverage" "functions..: 75.0% (3 of 4 functions)" \
		"$(genhtml -o html p.info 2>&1 | grep -o 'functions\.\.: .*')"
else
	echo "SKIP genhtml function coverage: genhtml not installed (scripts/install-deps.sh adds lcov)"
	skipped=$((skipped + 1))
fi

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
	# setpriv itself, not the function: $! must be the pid that becomes loom
	setpriv --reuid=$other --regid=$other --clear-groups "$loom" -control "$sock" ./spin 2>ctl2.err &
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
	check "the loom of uid $other dies of SIGTERM" 143 "$?"
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
