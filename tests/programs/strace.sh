#!/usr/bin/env bash
# loom -strace against the real strace: the guest program stracecalls
# (tests/guest/stracecalls.c, a fixed series of common calls) traced natively
# by strace(1) and under loom -strace; every line of the calls below must read
# the same, once addresses, pids and the pid column are taken out.
#
#   tests/programs/strace.sh LOOM
#
# One PASS/FAIL per syscall name (all of its lines must match); ends with
# "N passed, N failed".  Without strace installed it prints a SKIP line.
set -uo pipefail

if [ $# -ne 1 ]; then
	echo "usage: $0 LOOM" >&2
	exit 2
fi
root=$(cd "$(dirname "$0")/../.." && pwd)
loom=$1
case $loom in /*) ;; *) [ -e "$loom" ] && loom=$(cd "$(dirname "$loom")" && pwd)/$(basename "$loom") ;; esac
prog=$root/build/tests/guest/stracecalls.glibc

if ! command -v strace >/dev/null; then
	echo "SKIP strace: strace is not installed"
	echo "0 passed, 0 failed"
	exit 0
fi
if [ ! -x "$prog" ]; then
	echo "FAIL strace: $prog is missing (make guest-tests)"
	echo "0 passed, 1 failed"
	exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/loom-strace.XXXXXX")
trap 'rm -rf "$work"' EXIT
# The calls compared (what the program does after its start-up, which differs:
# loom has no vDSO and refuses rseq).
calls=openat,read,write,pread64,lseek,fcntl,newfstatat,close,access,faccessat2,readlink,unlink,unlinkat,mmap,mprotect,munmap,rt_sigaction,rt_sigprocmask,kill,prlimit64,socket,futex,pipe2,dup3,clone,wait4,ioctl,exit_group

calls=$calls,syscall_0x3e7	# the unknown syscall 999
(cd "$work" && strace -q -o native.raw "$prog" >native.out 2>&1)
(cd "$work" && "$loom" -strace -d unimp -D loom.raw "$prog" >loom.out 2>&1)

# normalize FILE: from the program's first openat on; no pid column, no
# addresses, no pids, no strace-only lines.  Only the first process: strace
# runs without -f, loom logs its forked child as well.
normalize() {
	awk 'NR == 1 && /^[0-9]+ / { pid = $1 } !pid || $1 == pid' "$1" |
		sed -E -e 's/^[0-9]+ //' -e '/^\+\+\+ /d' -e '/^--- SIG/d' |
		awk '/^openat\(AT_FDCWD, "stracecalls/ { on = 1 } on' |
		sed -E -e 's/0x[0-9a-f]{5,}/ADDR/g' -e 's/^kill\([0-9]+,/kill(PID,/' -e 's/^(wait4\()[0-9]+(.*= )[0-9]+$/\1PID\2PID/' -e 's/^(clone\(.*= )[0-9]+$/\1PID/' -e 's/ +=/ =/'
}
# only the calls listed
select_calls() {
	awk -v calls="$calls" '
		BEGIN { n = split(calls, c, ","); for (i = 1; i <= n; i++) want[c[i]] = 1 }
		{ name = $0; sub(/\(.*/, "", name); if (name in want) print }'
}
normalize "$work/native.raw" | select_calls >"$work/native.txt"
normalize "$work/loom.raw" | select_calls >"$work/loom.txt"

passed=0
failed=0
if [ ! -s "$work/native.txt" ]; then
	echo "FAIL strace: the native trace is empty (strace cannot trace here?)"
	sed 's/^/    /' "$work/native.out" | head -n 5
	echo "0 passed, 1 failed"
	exit 1
fi
# shellcheck disable=SC2013  # syscall names are single words
for name in $(sed -E 's/\(.*//' "$work/native.txt" | awk '!seen[$0]++'); do
	grep "^$name(" "$work/native.txt" >"$work/n.$name"
	grep "^$name(" "$work/loom.txt" >"$work/l.$name"
	if cmp -s "$work/n.$name" "$work/l.$name"; then
		echo "PASS $name ($(wc -l <"$work/n.$name") lines)"
		passed=$((passed + 1))
	else
		echo "FAIL $name: strace (<) and loom -strace (>) differ"
		diff "$work/n.$name" "$work/l.$name" | grep '^[<>]' | head -n 6 | cut -c1-200 | sed 's/^/    /'
		echo "    repro: cd /tmp && strace -e trace=$name $prog; $loom -strace $prog"
		failed=$((failed + 1))
	fi
done
# An unknown syscall is logged under -d unimp.
if grep -q '^loom: unknown syscall 999 at pc ' "$work/loom.raw"; then
	echo "PASS unimp (unknown syscall 999 logged)"
	passed=$((passed + 1))
else
	echo "FAIL unimp: -d unimp did not log the unknown syscall 999"
	echo "    repro: $loom -d unimp $prog"
	failed=$((failed + 1))
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
