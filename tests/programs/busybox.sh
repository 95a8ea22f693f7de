#!/usr/bin/env bash
# shellcheck disable=SC2016  # single-quoted programs are for busybox to expand
# Real programs: busybox applets (the static /bin/busybox from busybox-static)
# run natively and under loom on generated inputs; stdout and the way the
# process ended must be identical.
#
#   tests/programs/busybox.sh LOOM [NAME...]
#
# NAMEs select cases by prefix.  Prints PASS/FAIL per case and ends with
# "N passed, N failed".  Environment: BUSYBOX (default /bin/busybox),
# PROGRAM_TIMEOUT (seconds per run, default 60), JOBS (cases run at once,
# default nproc), KEEP_WORK=1 (keep the work directory even when all pass).
# On failure the work directory with the inputs is kept and named, so a
# repro line can be run.
set -uo pipefail

if [ $# -lt 1 ]; then
	echo "usage: $0 LOOM [NAME...]" >&2
	exit 2
fi
root=$(cd "$(dirname "$0")/../.." && pwd)
loom=$1
shift
case $loom in /*) ;; *) [ -e "$loom" ] && loom=$(cd "$(dirname "$loom")" && pwd)/$(basename "$loom") ;; esac
bb=${BUSYBOX:-/bin/busybox}
filters=("$@")

if [ ! -x "$bb" ]; then
	echo "FAIL busybox: $bb not found (scripts/install-deps.sh installs busybox-static)"
	echo "0 passed, 1 failed"
	exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/loom-busybox.XXXXXX")
keep_work=${KEEP_WORK:-0}
trap '[ "$keep_work" = 1 ] || rm -rf "$work"' EXIT
mkdir -p "$work/bin" "$work/run" "$work/out"
umask 022
ulimit -c 0

# Applets reachable by name, so that a shell finds busybox (never the
# host's coreutils) whether or not it runs applets in-process.
for a in $("$bb" --list); do
	ln -s "$bb" "$work/bin/$a"
done

. "$root/tests/guest/harness.sh"
harness_limit=${PROGRAM_TIMEOUT:-60}
harness_cwd=$work/run
harness_env=(PATH="$work/bin" HOME="$work/run" LANG=C LC_ALL=C TMPDIR="$work/run" TZ=UTC)

# ---- inputs, generated natively with busybox awk (a fixed LCG) -------------
gen() {
	(cd "$work/run" && env -i "${harness_env[@]}" "$bb" "$@")
}
gen awk 'BEGIN {
	srand(1); x = 12345
	split("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu", w, " ")
	for (i = 1; i <= 20000; i++) {
		x = (x * 1103515245 + 12345) % 2147483648
		# The high bits of this LCG are the random ones.
		printf "%s %d %s,%d\n", w[int(x / 65536) % 12 + 1], int(x / 256) % 100000, w[int(x / 4096) % 12 + 1], i
	}
}' >"$work/run/lines.txt"
gen awk 'BEGIN { x = 7; for (i = 0; i < 20000; i++) { x = (x * 69069 + 1) % 4294967296; print (x % 2000001) - 1000000 } }' \
	>"$work/run/nums.txt"
gen awk '{ print $1 }' "$work/run/lines.txt" >"$work/run/words.txt"
# Binary data with every byte value: the gzip of the text.
gen gzip -c -n -9 "$work/run/lines.txt" >"$work/run/data.bin"
gen gzip -c -6 "$work/run/lines.txt" >"$work/run/lines.txt.gz"
gen bzip2 -c "$work/run/lines.txt" >"$work/run/lines.txt.bz2"
gen base64 "$work/run/data.bin" >"$work/run/data.b64"
cp "$root/tests/programs/script.sh" "$work/run/script.sh"
mkdir -p "$work/run/tree/sub"
for f in one two three; do echo "file $f" >"$work/run/tree/$f.txt"; done
echo nested >"$work/run/tree/sub/deep.txt"
touch -d '2001-02-03 04:05:06' "$work/run/tree" "$work/run/tree/"*.txt "$work/run/tree/sub" \
	"$work/run/tree/sub/deep.txt" 2>/dev/null

jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}

# run_case NAME ARGS...: native and loom runs of one case, then the verdict.
run_case() {
	local name=$1
	shift
	harness_run "$work/out/$name.native" "$bb" "$@"
	harness_run "$work/out/$name.loom" "$loom" "$bb" "$@"
	local repro
	repro="cd $work/run && PATH=$work/bin $(printf '%q' "$loom") $bb$(printf ' %q' "$@")$stdin_note"
	harness_compare "$name" "$work/out/$name.native" "$work/out/$name.loom" "$repro"
}

# t NAME [<INPUT] APPLET ARGS...: one case; busybox APPLET ARGS natively and
# under loom, with INPUT (a file in the work directory) on stdin.  Cases run
# JOBS at a time (each writes only files of its own) and report in order.
t() { harness_case "$@"; }

# ---- shell -------------------------------------------------------------------
t sh-seq-md5sum sh -c 'for i in $(seq 1 1000); do echo $i; done | md5sum'
t sh-script sh script.sh
t sh-script-x sh -x -c 'a=1; b=$((a + 2)); echo $b' # trace goes to stderr
t sh-exit-status sh -c 'echo before; exit 42'
t sh-killed sh -c 'echo before; kill -TERM $$; echo after'
t sh-pipeline sh -c 'sort -n nums.txt | uniq | tail -n 3 | tr "\n" " "; echo'
t sh-subshells sh -c 'x=$( (echo a; (echo b; (echo c))) | tr -d "\n"); echo "[$x]"; echo $( (exit 3); echo $?)'
t sh-loop-20k sh -c 'i=0; s=0; while [ $i -lt 20000 ]; do i=$((i+1)); s=$((s+i%7)); done; echo $s'
t sh-glob sh -c 'cd tree && for f in *.txt; do echo "$f: $(cat "$f")"; done'

# ---- sorting and text tools -------------------------------------------------------
t sort sort lines.txt
t sort-n sort -n nums.txt
t sort-r sort -r words.txt
t sort-u sort -u words.txt
t sort-key sort -t, -k2,2n -k1,1 lines.txt
t sort-stdin '<nums.txt' sort -rn
t uniq-c sh -c 'sort words.txt | uniq -c'
t uniq-d sh -c 'cut -c1-3 words.txt | sort | uniq -d'
t wc wc lines.txt nums.txt
t wc-l '<lines.txt' wc -l
t tr-upper '<lines.txt' tr a-z A-Z
t tr-delete-squeeze sh -c 'tr -d 0-9 <lines.txt | tr -s "a-z" | head -n 20'
t cut-fields cut -d, -f2 lines.txt
t cut-chars cut -c 3-9 lines.txt
t head head -n 25 lines.txt
t head-c head -c 1000 data.bin
t tail tail -n 17 lines.txt
t tail-c tail -c 333 lines.txt
t tac tac nums.txt
t grep grep -n 'gamma 9' lines.txt
t grep-count grep -c -E '^(alpha|beta) [0-9]+5 ' lines.txt
t grep-v-i grep -v -i -e ALPHA -e beta words.txt
t nl-fold sh -c 'head -n 30 lines.txt | nl | fold -w 17'
t paste-rev sh -c 'head -n 50 words.txt > w1; tail -n 50 words.txt | rev > w2; paste w1 w2'

# ---- sed and awk -------------------------------------------------------------------
t sed-subst sed 's/a\([lm]\)/<\1>/g; s/[0-9][0-9]*$/#&#/' lines.txt
t sed-range sed -n '100,120p; 19990,$p' lines.txt
t sed-tac sed -n '1!G; h; $p' nums.txt
t sed-y-delete sed -e 'y/abc/xyz/' -e '/zetx/d' -e '/^e/,/^k/s/^/* /' words.txt
t awk-sum awk '{ s += $2 } END { print s, NR, s / NR }' lines.txt
t awk-assoc awk '{ n[$1]++; t[$1] += $2 } END { for (k in n) print k, n[k], t[k] }' lines.txt
t awk-printf awk 'NR % 997 == 0 { printf "%5d|%-8s|%08.3f|%x|%e|%c\n", NR, $1, $2 / 7, $2, $2 * 1e10, 65 + NR % 26 }' lines.txt
t awk-func awk 'function f(n) { return n < 2 ? n : f(n - 1) + f(n - 2) } BEGIN { for (i = 0; i < 22; i += 3) print i, f(i) }'
t awk-strings awk -F, '{ a = toupper(substr($1, 1, 3)); b = length($0); gsub(/a/, "A", $1); if (NR <= 30) print a, b, $1, index($0, "e"), split($1, p, " ") }' lines.txt
# (Debian's busybox awk has no math library: no ^, sin, exp.)
t awk-arith awk 'BEGIN { x = 1; p = 1; for (i = 1; i <= 12; i++) { x = x * 3.5 - i / 7; p = p * 32; printf "%.6f %.3e %d %d %g %d\n", x, x * x, int(-i / 3), i % 5, p, p % 1000 } }'
t awk-rand awk 'BEGIN { srand(42); for (i = 0; i < 5; i++) printf "%.8f\n", rand() }'

# ---- checksums and encodings ---------------------------------------------------------
t md5sum md5sum lines.txt data.bin
t sha1sum sha1sum data.bin
t sha256sum sha256sum lines.txt data.bin
t sha512sum sha512sum data.bin
t sha3sum sha3sum data.bin
t crc32 crc32 data.bin
t base64 base64 data.bin
t base64-d sh -c 'base64 -d data.b64 | md5sum'
t od od -A x -t x1 -N 512 data.bin
t od-d4 od -t d4 -N 4096 data.bin
t hexdump hexdump -C -n 300 data.bin
t xxd xxd -l 256 data.bin
t strings strings -n 6 data.bin

# ---- compression ------------------------------------------------------------------------
t gzip-bytes gzip -c -9 lines.txt
t gzip-n-6 gzip -c -n -6 nums.txt
t gzip-roundtrip sh -c 'gzip -c -1 lines.txt | gunzip -c | md5sum'
t gunzip gunzip -c lines.txt.gz
t zcat-md5 sh -c 'zcat lines.txt.gz | md5sum'
t bzip2-bytes bzip2 -c words.txt
t bunzip2 sh -c 'bunzip2 -c lines.txt.bz2 | sha256sum'
t tar sh -c 'tar -cf - tree | md5sum; tar -cf t.tar tree && tar -tvf t.tar && tar -xOf t.tar tree/sub/deep.txt'

# ---- numbers and small utilities ---------------------------------------------------------
t seq seq 1 3 100
t seq-w seq -w 8 12
t seq-neg seq 10 -3 -20
t expr sh -c 'expr 7 \* 6; expr length "hello world"; expr substr abcdefgh 3 4; expr 100 / 7 % 5; expr abc123 : "[a-z]*\([0-9]*\)"; expr 5 \> 3 \& 0 \| 9'
t expr-false expr 0 + 0
t printf printf '%5.2f|%x|%o|%-6s|%c|%5d|%e|%s\n' 3.14159 255 8 str A -42 12345.678 'a b'
t printf-b printf '%b\n' 'tab\there\nnew line\0101'
t factor factor 600851475143 9999999967 1234567890 2147483647 4294967297
t bc sh -c 'echo "2^200; scale=30; 4*a(1); sqrt(2); 17 % 5" | bc -l'
t dc dc -e '2 128 ^ p 10 k 1 3 / p 7 v p'
t cal cal 2 2024
t date date -u -d @1234567890 '+%Y-%m-%d %H:%M:%S %j %a'
t stat-tree sh -c 'cd tree && ls -la --full-time . sub | sed "s/^\([^ ]*\) *[0-9]* [^ ]* *[^ ]*/\1/"'
t find sh -c 'find tree -type f | sort; find tree -name "t*" -newer tree/sub | sort'
t xargs sh -c 'seq 1 20 | xargs -n 6 echo'
t cmp-diff sh -c 'seq 1 30 > a; seq 1 30 | sed "17s/.*/x/" > b; cmp a b; diff a b; echo "diff status $?"'
t dd sh -c 'dd if=data.bin bs=1000 skip=3 count=5 2>/dev/null | md5sum'
t yes-head sh -c 'yes loom | head -n 5000 | md5sum'

harness_finish busybox
