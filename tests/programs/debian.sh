#!/usr/bin/env bash
# shellcheck disable=SC2016  # single-quoted programs are for the guest shell
# Real programs: Debian's own dynamically linked binaries (coreutils, grep,
# sed, mawk, gzip, bash, python3, perl), loaded with their interpreter
# ld-linux-x86-64.so.2 and shared libraries, run natively and under loom on
# generated inputs; stdout and the way the process ended must be identical.
#
#   tests/programs/debian.sh LOOM [NAME...]
#
# NAMEs select cases by prefix.  Prints PASS/FAIL per case and ends with
# "N passed, N failed".  A case whose program is not installed is skipped.
# Environment: PROGRAM_TIMEOUT (seconds per run, default 60), JOBS (cases run
# at once, default nproc), KEEP_WORK=1 (keep the work directory).
set -uo pipefail

if [ $# -lt 1 ]; then
	echo "usage: $0 LOOM [NAME...]" >&2
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
harness_env=(PATH=/usr/bin:/bin HOME="$work/run" LANG=C LC_ALL=C TMPDIR="$work/run" TZ=UTC)

# ---- inputs, generated natively (a fixed LCG) -------------------------------
(cd "$work/run" && env -i "${harness_env[@]}" mawk 'BEGIN {
	x = 12345
	split("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu", w, " ")
	for (i = 1; i <= 5000; i++) {
		x = (x * 1103515245 + 12345) % 2147483648
		printf "%s %d %s,%d\n", w[int(x / 65536) % 12 + 1], int(x / 256) % 100000, w[int(x / 4096) % 12 + 1], i
	}
}' >lines.txt && gzip -c -n -9 lines.txt >data.bin)
# A program whose interpreter does not exist: execve must fail (ENOENT).
cp /bin/echo "$work/run/nointerp" && perl -0777 -pi -e \
	's{/lib64/ld-linux-x86-64\.so\.2\0}{"/no/such/ld.so\0" . "\0" x 13}e' "$work/run/nointerp"

jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}

# run_case NAME ARGS...: native and loom runs of one case, then the verdict.
run_case() {
	local name=$1
	shift
	harness_run "$work/out/$name.native" "$@"
	harness_run "$work/out/$name.loom" "$loom" "$@"
	local repro
	repro="cd $work/run && $(printf '%q' "$loom")$(printf ' %q' "$@")$stdin_note"
	harness_compare "$name" "$work/out/$name.native" "$work/out/$name.loom" "$repro"
}

# t NAME [<INPUT] PROGRAM ARGS...: one case; PROGRAM (an absolute path) ARGS natively and
# under loom, with INPUT (a file in the work directory) on stdin.  Cases run
# JOBS at a time (each writes only files of its own) and report in order.
t() { harness_case "$@"; }

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
t sort /usr/bin/sort lines.txt
t sort-key /usr/bin/sort -t, -k2,2n -k1,1 lines.txt
t md5sum /usr/bin/md5sum lines.txt data.bin
t sha256sum /usr/bin/sha256sum lines.txt data.bin
t base64 /usr/bin/base64 data.bin
t seq /usr/bin/seq 1 3 1000
t tr '<lines.txt' /usr/bin/tr a-z A-Z
t cut /usr/bin/cut -d, -f2 lines.txt
t od /usr/bin/od -A x -t x1z -N 512 data.bin
t wc /usr/bin/wc lines.txt data.bin
t head /usr/bin/head -n 25 lines.txt
t grep /bin/grep -n -E 'gamma [0-9]+9 ' lines.txt
t sed /bin/sed 's/a\([lm]\)/<\1>/g; s/[0-9][0-9]*$/#&#/' lines.txt
have /usr/bin/mawk && t mawk /usr/bin/mawk '{ s += $2; n[$1]++ } END { print s, NR; for (k in n) print k, n[k] | "sort" }' lines.txt
have /usr/bin/gawk && t gawk /usr/bin/gawk '{ s += $2 } END { printf "%d %.4f\n", s, s / NR }' lines.txt
t gzip-roundtrip /bin/bash -c 'gzip -c -6 lines.txt | gunzip -c | md5sum'
t gzip-bytes /bin/gzip -c -n -9 lines.txt
have /usr/bin/xz && t xz-roundtrip /bin/bash -c 'xz -6 -c lines.txt | xz -d -c | sha256sum; xz -2 -c data.bin | md5sum'
have /usr/bin/bzip2 && t bzip2 /bin/bzip2 -c lines.txt
have /usr/bin/openssl && t openssl-dgst /usr/bin/openssl dgst -sha256 -sha512 -md5 data.bin lines.txt

# ---- shells and interpreters --------------------------------------------------
t bash-pipeline /bin/bash -c 'sort -k2,2n lines.txt | uniq | tail -n 3 | tr "\n" " "; echo; x=$( (echo a; (echo b)) | tr -d "\n"); echo "[$x]"; (exit 3); echo $?'
t bash-exit /bin/bash -c 'echo before; exit 42'
have /usr/bin/python3 && t python3-sum /usr/bin/python3 -c 'print(sum(range(10**6)))'
have /usr/bin/python3 && t python3-json /usr/bin/python3 -c 'import json,re,zlib; print(json.dumps({"a":[1,2]}), re.sub("b","c","abc"), zlib.crc32(b"x"))'
have /usr/bin/python3 && t python3-threads /usr/bin/python3 -c 'import threading,hashlib; r=[]; ts=[threading.Thread(target=lambda i=i: r.append(hashlib.sha1(bytes(i * 1000)).hexdigest())) for i in range(8)]; [t.start() for t in ts]; [t.join() for t in ts]; print(sorted(r))'
# node: a JIT (V8) writing and running its own code; probes pkey_alloc.
have /usr/bin/node && t node-jit /usr/bin/node -e 'let s = 0; for (let i = 0; i < 3e6; i++) s = (s + i * i) % 1000003; const m = new Map(); for (let i = 0; i < 1e5; i++) m.set("k" + (i % 977), (m.get("k" + (i % 977)) || 0) + i); console.log(s, m.size, [...m.values()].reduce((a, b) => a + b), (0.1 + 0.2).toFixed(20), /(\d+)-(\d+)/.exec("ab 12-34")[2])'
have /usr/bin/perl && t perl /usr/bin/perl -e 'print join(",", map {$_*2} 1..5), "\n"'

t exec-missing-interp /bin/bash -c './nointerp hi; echo "status $?"; /bin/echo next'
# The interpreter run as a program, the way ldd does it.
t ld.so-direct /lib64/ld-linux-x86-64.so.2 /usr/bin/md5sum lines.txt

# ---- what a program reads about itself ----------------------------------------
# (the guest's own view: its argv, a [stack] line, no loom in its maps)
t proc-self /bin/bash -c 'mapfile -d "" a </proc/self/cmdline; echo "${a[*]}"; grep -c "\[stack\]" /proc/self/maps; grep -c -e loom -e memfd /proc/self/maps; readlink /proc/self/exe; od -A n -t u8 -w16 -v /proc/self/auxv | mawk "\$1 == 6 || \$1 == 23 { print }"'

harness_finish debian
