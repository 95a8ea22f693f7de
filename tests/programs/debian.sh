#!/usr/bin/env bash
# shellcheck disable=SC2016  # single-quoted programs are for the guest shell
# Real programs: Debian's own dynamically linked binaries (coreutils, grep,
# sed, awk, compressors, bash, python3, perl, sqlite3, openssl, git, gcc,
# gdb, a C++ program throwing in threads, a Rust program catching panics,
# make, file, jq, bc, tclsh, node), loaded with their interpreter
# ld-linux-x86-64.so.2 and shared libraries, run natively and under loom on
# generated inputs; stdout, the way the process ended and (for the cases
# that write files) the files left behind must be identical.
#
#   tests/programs/debian.sh [--fast] LOOM [NAME...]
#
# --fast leaves out the cases marked slow (those that take seconds under a
# debug build): `make test` runs the fast subset, `make test-programs` all.
# NAMEs select cases by prefix.  Prints PASS/FAIL per case and ends with
# "N passed, N failed".  A case whose program is not installed prints a SKIP
# line and counts neither way.  Scripts and inputs the cases use live in
# tests/programs/debian/.
# Environment: PROGRAM_TIMEOUT (seconds per run, default 60), JOBS (cases run
# at once, default nproc), KEEP_WORK=1 (keep the work directory).
set -uo pipefail

fast=0
[ "${1:-}" = --fast ] && { fast=1; shift; }
if [ $# -lt 1 ]; then
	echo "usage: $0 [--fast] LOOM [NAME...]" >&2
	exit 2
fi
root=$(cd "$(dirname "$0")/../.." && pwd)
loom=$1
shift
case $loom in /*) ;; *) [ -e "$loom" ] && loom=$(cd "$(dirname "$loom")" && pwd)/$(basename "$loom") ;; esac
filters=("$@")

work=$(mktemp -d "${TMPDIR:-/tmp}/loom-debian.XXXXXX")
keep_work=${KEEP_WORK:-0}
trap '[ "$keep_work" = 1 ] || rm -rf "$work"' EXIT
mkdir -p "$work/run" "$work/out"
umask 022
ulimit -c 0

. "$root/tests/guest/harness.sh"
harness_limit=${PROGRAM_TIMEOUT:-60}
harness_cwd=$work/run
harness_env=(PATH=/usr/bin:/bin HOME="$work/run" LANG=C LC_ALL=C TMPDIR="$work/run" TZ=UTC
	GIT_AUTHOR_NAME=loom GIT_AUTHOR_EMAIL=loom@example.org GIT_AUTHOR_DATE=2020-01-01T00:00:00Z
	GIT_COMMITTER_NAME=loom GIT_COMMITTER_EMAIL=loom@example.org GIT_COMMITTER_DATE=2020-01-01T00:00:00Z
	GIT_CONFIG_NOSYSTEM=1)

# ---- inputs, generated natively (a fixed LCG) -------------------------------
(cd "$work/run" && env -i "${harness_env[@]}" mawk 'BEGIN {
	x = 12345
	split("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu", w, " ")
	for (i = 1; i <= 5000; i++) {
		x = (x * 1103515245 + 12345) % 2147483648
		printf "%s %d %s,%d\n", w[int(x / 65536) % 12 + 1], int(x / 256) % 100000, w[int(x / 4096) % 12 + 1], i
	}
}' >lines.txt && gzip -c -n -9 lines.txt >data.bin &&
	mawk 'BEGIN { x = 777; for (i = 0; i < 200000; i++) { x = (x * 69069 + 1) % 4294967296; print int(x / 16) } }' >nums.txt &&
	tr ' ,' '  ' <lines.txt >lines.tsv)
cp "$root"/tests/programs/debian/* "$work/run/"
# What a tw case finds in its directory.
mkdir "$work/inputs" && cp -p "$root"/tests/programs/debian/* "$work"/run/lines.{txt,tsv} "$work/run/data.bin" "$work/inputs/"
# A program whose interpreter does not exist: execve must fail (ENOENT).
cp /bin/echo "$work/run/nointerp" && perl -0777 -pi -e \
	's{/lib64/ld-linux-x86-64\.so\.2\0}{"/no/such/ld.so\0" . "\0" x 13}e' "$work/run/nointerp"

jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}

# list_files DIR: one line per file, directory or link DIR holds, with the
# content's hash and the mode; files_ignore (find -path patterns relative to
# DIR, e.g. ./r/.git/index) are left out.
list_files() {
	local ign=() p
	for p in $files_ignore; do ign+=(-path "$p" -prune -o); done
	(cd "$1" && find . -mindepth 1 "${ign[@]}" -printf '%y %m %p %l\n' | LC_ALL=C sort |
		while read -r type mode path link; do
			case $type in
			f) echo "$path $mode $(sha256sum <"$path" | cut -c1-16) $(stat -c %s "$path")" ;;
			*) echo "$path $type $mode $link" ;;
			esac
		done)
}

# run_case NAME ARGS...: native and loom runs of one case, then the verdict.
# A case queued by tw runs, natively and then under loom, in the same fresh
# directory holding a copy of the inputs; the files it leaves are listed.
run_case() {
	local name=$1
	shift
	local dir=$work/run harness_cwd=$work/run side
	if [ "$files_case" = 1 ]; then
		dir=$work/files/$name
		harness_cwd=$dir
	fi
	for side in native loom; do
		if [ "$files_case" = 1 ]; then
			rm -rf "$dir" && mkdir -p "$dir" && cp -p "$work"/inputs/* "$dir/"
		fi
		if [ $side = native ]; then
			harness_run "$work/out/$name.$side" "$@"
		else
			harness_run "$work/out/$name.$side" "$loom" "$@"
		fi
		[ "$files_case" = 1 ] && list_files "$dir" >"$work/out/$name.$side.files"
	done
	local repro
	repro="cd $dir && $(printf '%q' "$loom")$(printf ' %q' "$@")$stdin_note"
	[ "$files_case" = 1 ] && repro="(the directory holds a copy of $work/inputs) $repro"
	harness_compare "$name" "$work/out/$name.native" "$work/out/$name.loom" "$repro"
}

# t NAME [<INPUT] PROGRAM ARGS...: one case; PROGRAM (an absolute path) ARGS natively and
# under loom, with INPUT (a file in the work directory) on stdin.  Cases run
# JOBS at a time (each writes only files of its own) and report in order.
files_case=0
files_ignore=
t() { harness_case "$@"; }
# tw NAME [-x PATTERN]... ARGS...: a case that writes files (see run_case);
# the files must come out the same, except those matching a PATTERN (a find
# -path pattern such as ./r/.git/index: files holding times or inode numbers).
tw() {
	local name=$1
	shift
	files_ignore=
	while [ "${1:-}" = -x ]; do
		files_ignore="$files_ignore $2"
		shift 2
	done
	files_case=1
	harness_case "$name" "$@"
	files_case=0
}
# slow CMD...: a case left out of the fast subset (--fast).
nslow=0
slow() {
	if [ $fast = 1 ]; then
		nslow=$((nslow + 1))
		return 0
	fi
	"$@"
}

# tm NAME ARGS...: t, then again under loom's other translation modes
# (NAME-one-insn-per-tb, NAME-nochain), through wrapper scripts.
for m in one-insn-per-tb nochain; do
	printf '#!/bin/sh\nexec %q -%s "$@"\n' "$loom" "$m" >"$work/loom-$m"
	chmod +x "$work/loom-$m"
done
tm() {
	local name=$1 saved=$loom m
	shift
	t "$name" "$@"
	for m in one-insn-per-tb nochain; do
		loom=$work/loom-$m
		t "$name-$m" "$@"
	done
	loom=$saved
}

# fail_case NAME WHY: a case that failed before it could run (its program
# did not build); reported in order with the others.
fail_case() {
	echo "FAIL $1: $2" >"$work/out/result.$harness_ncases"
	true &
	harness_pids[harness_ncases]=$!
	harness_ncases=$((harness_ncases + 1))
}

# Cases: skipped when the program is missing.
# A missing program is said, not hidden: SKIP lines count neither way.
have() {
	[ -x "$1" ] && return 0
	echo "SKIP $1: not installed"
	return 1
}

# ---- coreutils ---------------------------------------------------------------
t true /bin/true
t false /bin/false
t ls-la-etc /bin/ls -la /etc
t ls-R /bin/ls -lRi --time-style=+%s /usr/share/doc/bash /usr/share/doc/coreutils
t sort /usr/bin/sort lines.txt
t sort-key /usr/bin/sort -t, -k2,2n -k1,1 lines.txt
# Several threads merging, and temporary files (a small buffer).
t sort-parallel /usr/bin/sort --parallel=2 -S 256K -n nums.txt
t md5sum /usr/bin/md5sum lines.txt data.bin
t sha1sum /usr/bin/sha1sum lines.txt data.bin nums.txt
t sha256sum /usr/bin/sha256sum lines.txt data.bin
t sha512sum /usr/bin/sha512sum lines.txt data.bin nums.txt
t b2sum /usr/bin/b2sum lines.txt data.bin
t base64 /usr/bin/base64 data.bin
t base64-decode /bin/bash -c 'base64 -w 57 data.bin | base64 -d | cmp - data.bin && echo same'
t factor /usr/bin/factor 1 2 97 600851475143 18446744073709551557 340282366920938463463374607431768211297
t seq /usr/bin/seq 1 3 1000
t seq-float /usr/bin/seq -f %.4e -1.5 0.37 40
t tr '<lines.txt' /usr/bin/tr a-z A-Z
t cut /usr/bin/cut -d, -f2 lines.txt
t od /usr/bin/od -A x -t x1z -N 512 data.bin
t od-float /usr/bin/od -A d -t f8 -t d4 -N 256 nums.txt
t wc /usr/bin/wc lines.txt data.bin
t head /usr/bin/head -n 25 lines.txt
t find /usr/bin/find /usr/share/doc/bash /usr/share/perl5/Debian -printf '%p %s %y %m\n'
t find-exec /usr/bin/find /usr/include/linux -maxdepth 1 -name 'i*.h' -size +8k -exec /usr/bin/wc -l {} +
tw tar /bin/bash -c 'tar -cf out.tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner lines.txt data.bin db.sql &&
	tar -tvf out.tar && mkdir x && tar -xf out.tar -C x && tar -czf out.tgz --mtime=@0 -C x . && ls x'
tw sed-inplace /bin/sed -i.orig -e 's/\([0-9]\+\)$/<\1>/' -e '/zeta/d' lines.txt
t grep /bin/grep -n -E 'gamma [0-9]+9 ' lines.txt
t grep-count /bin/grep -c -v -i -F -e ALPHA -e mu lines.txt
t sed /bin/sed 's/a\([lm]\)/<\1>/g; s/[0-9][0-9]*$/#&#/' lines.txt
have /usr/bin/mawk && t mawk /usr/bin/mawk '{ s += $2; n[$1]++ } END { print s, NR; for (k in n) print k, n[k] | "sort" }' lines.txt
have /usr/bin/gawk && t gawk /usr/bin/gawk '{ s += $2 } END { printf "%d %.4f\n", s, s / NR }' lines.txt

# ---- compressors ---------------------------------------------------------------
t gzip-roundtrip /bin/bash -c 'gzip -c -6 lines.txt | gunzip -c | md5sum'
t gzip-bytes /bin/gzip -c -n -9 lines.txt
have /usr/bin/xz && t xz-roundtrip /bin/bash -c 'xz -6 -c lines.txt | xz -d -c | sha256sum; xz -2 -c data.bin | md5sum'
# Two compressing threads (blocks of 64 KiB); the output bytes must match.
have /usr/bin/xz && slow t xz-threads /usr/bin/xz -T2 --block-size=65536 -6 -c nums.txt
have /usr/bin/bzip2 && t bzip2 /usr/bin/bzip2 -c lines.txt
have /usr/bin/bzip2 && tw bzip2-files /bin/bash -c 'bzip2 -k -9 lines.txt && bzip2 -t lines.txt.bz2 && bunzip2 -c lines.txt.bz2 | cmp - lines.txt && echo ok'
have /usr/bin/zstd && t zstd /usr/bin/zstd -q -c -19 lines.txt
have /usr/bin/zstd && slow t zstd-threads /bin/bash -c 'zstd -q -T2 -3 -c nums.txt | tee nums.zst.$$ | zstd -q -d -c | md5sum; md5sum <nums.zst.$$; rm nums.zst.$$'

# ---- shells and interpreters --------------------------------------------------
t bash-pipeline /bin/bash -c 'sort -k2,2n lines.txt | uniq | tail -n 3 | tr "\n" " "; echo; x=$( (echo a; (echo b)) | tr -d "\n"); echo "[$x]"; (exit 3); echo $?'
t bash-exit /bin/bash -c 'echo before; exit 42'
t bash-script /bin/bash bash-script.sh
have /usr/bin/python3 && t python3-sum /usr/bin/python3 -c 'print(sum(range(10**6)))'
have /usr/bin/python3 && t python3-json /usr/bin/python3 -c 'import json,re,zlib; print(json.dumps({"a":[1,2]}), re.sub("b","c","abc"), zlib.crc32(b"x"))'
have /usr/bin/python3 && t python3-math /usr/bin/python3 py-math.py
have /usr/bin/python3 && t python3-threads /usr/bin/python3 -c 'import threading,hashlib; r=[]; ts=[threading.Thread(target=lambda i=i: r.append(hashlib.sha1(bytes(i * 1000)).hexdigest())) for i in range(8)]; [t.start() for t in ts]; [t.join() for t in ts]; print(sorted(r))'
# signals (handlers, itimer, masks), subprocess, fork, exec, a child's death by signal
have /usr/bin/python3 && slow t python3-procs /usr/bin/python3 py-procs.py
have /usr/bin/python3 && slow t python3-pool /usr/bin/python3 py-pool.py
have /usr/bin/perl && t perl /usr/bin/perl -e 'print join(",", map {$_*2} 1..5), "\n"'
have /usr/bin/perl && t perl-threads /usr/bin/perl -Mthreads -e 'my @t = map { my $k = $_; threads->create(sub { my $s = 0; $s += $_ * $k for 1..100000; $s }) } 1..4; print join(",", map { $_->join } @t), "\n"'
have /usr/bin/perl && t perl-report /usr/bin/perl perl-report.pl lines.txt
have /usr/bin/tclsh && t tclsh /usr/bin/tclsh tcl-script.tcl lines.txt
have /usr/bin/bc && t bc /usr/bin/bc -lq calc.bc
have /usr/bin/jq && t jq /usr/bin/jq -f jq.filter data.json
# node: a JIT (V8) writing and running its own code; probes pkey_alloc.
have /usr/bin/node && t node-jit /usr/bin/node -e 'let s = 0; for (let i = 0; i < 3e6; i++) s = (s + i * i) % 1000003; const m = new Map(); for (let i = 0; i < 1e5; i++) m.set("k" + (i % 977), (m.get("k" + (i % 977)) || 0) + i); console.log(s, m.size, [...m.values()].reduce((a, b) => a + b), (0.1 + 0.2).toFixed(20), /(\d+)-(\d+)/.exec("ab 12-34")[2])'
have /usr/bin/node && slow t node-threads /usr/bin/node node-threads.js
have /usr/bin/node && slow t node-modules /usr/bin/node node-modules.js

# ---- tools that write files ------------------------------------------------------
have /usr/bin/sqlite3 && tw sqlite3 /usr/bin/sqlite3 -bail test.db '.read db.sql'
have /usr/bin/openssl && t openssl-dgst /usr/bin/openssl dgst -sha256 -sha512 -md5 data.bin lines.txt
have /usr/bin/openssl && tw openssl-enc /bin/bash -c 'openssl enc -aes-256-cbc -pbkdf2 -iter 1000 -S 0011223344556677 -pass pass:loom -in lines.txt -out lines.enc &&
	openssl enc -d -aes-256-cbc -pbkdf2 -iter 1000 -S 0011223344556677 -pass pass:loom -in lines.enc | md5sum; openssl enc -chacha20 -K "$(printf %064d 7)" -iv "$(printf %032d 9)" -in data.bin | sha1sum'
# The index holds inode numbers and times; everything else must match.
have /usr/bin/git && slow tw git -x ./r/.git/index /bin/bash -c 'git init -q -b main r && cd r && cp ../lines.txt ../db.sql . && git add . &&
	git commit -q -m first && sed -i 1d lines.txt && git commit -q -am second && git log --stat --format="%H %an %s" &&
	git diff HEAD~1 --stat && git cat-file -p HEAD^{tree} && git gc -q && git count-objects -v | grep -v size'
have /usr/bin/gcc && slow tw gcc /bin/bash -c 'gcc -O2 -Wall -o prog hello.c util.c -lm && ./prog compiled && gcc -c -O1 util.c && gcc -S -o - util.c | grep -c gcd'
have /usr/bin/make && have /usr/bin/gcc && slow tw make /usr/bin/make -j2 -f prog.mk
have /usr/bin/file && t file /usr/bin/file /bin/ls /bin/bash /etc/passwd lines.txt data.bin db.sql hello.c /usr/lib/x86_64-linux-gnu/libc.so.6

# ---- unwinding: C++ exceptions, Rust panics, gdb's error path -----------------
# Every throw and every caught panic runs libgcc_s's unwinder, which executes
# rdsspq (f3 48 0f 1e c8): a NOP while the process has no shadow stack.  The
# programs are built natively here; a missing compiler is a SKIP.  Each
# runs in the three translation modes.
if have /usr/bin/g++; then
	if (cd "$work/run" && g++ -O2 -pthread -o cxx-throw cxx-throw.cc) >"$work/out/cxx-build.log" 2>&1; then
		# threads throwing and catching, exception_ptr across a join, then
		# an uncaught throw: std::terminate, SIGABRT
		tm cxx-throw-threads "$work/run/cxx-throw"
	else
		fail_case cxx-throw-threads "g++ failed: $(head -n 3 "$work/out/cxx-build.log")"
	fi
fi
rustc=$(command -v rustc || true)
if [ -z "$rustc" ]; then
	echo "SKIP rust-panic: rustc not installed"
elif (cd "$work/run" && "$rustc" -O -o rust-panic rust-panic.rs) >"$work/out/rust-build.log" 2>&1; then
	tm rust-panic "$work/run/rust-panic"
else
	fail_case rust-panic "rustc failed: $(head -n 3 "$work/out/rust-build.log")"
fi
# Errors in -batch commands are C++ exceptions inside gdb; the last command
# fails, so gdb exits with status 1.
have /usr/bin/gdb && tm gdb-batch-error /bin/bash -c 'gdb -nx -batch -ex "print nosuchsymbol" -ex "info line nosuch" \
	-ex "echo after\\n" -ex "print 1 +" /bin/true 2>&1'

t exec-missing-interp /bin/bash -c './nointerp hi; echo "status $?"; /bin/echo next'
# The interpreter run as a program, the way ldd does it.
t ld.so-direct /lib64/ld-linux-x86-64.so.2 /usr/bin/md5sum lines.txt

# ---- what a program reads about itself ----------------------------------------
# (the guest's own view: its argv, a [stack] line, no loom in its maps)
t proc-self /bin/bash -c 'mapfile -d "" a </proc/self/cmdline; echo "${a[*]}"; grep -c "\[stack\]" /proc/self/maps; grep -c -e loom -e memfd /proc/self/maps; readlink /proc/self/exe; od -A n -t u8 -w16 -v /proc/self/auxv | mawk "\$1 == 6 || \$1 == 23 { print }"'

[ $nslow -gt 0 ] && echo "note: --fast: $nslow slow cases not run (make test-programs runs them)"
harness_finish debian
