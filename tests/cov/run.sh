#!/usr/bin/env bash
# Coverage files and build/loom-cov, checked from outside loom's C code:
# drcov and modoff files by tests/cov/drcov.py (an independent Python
# reader), crafted inputs with known answers, lcov lines against addr2line
# and genhtml, and the one-line errors for bad files.
#
#   tests/cov/run.sh BUILDDIR        prints PASS/FAIL lines, then "N passed, N failed"
set -uo pipefail

if [ $# -ne 1 ]; then
	echo "usage: $0 BUILDDIR" >&2
	exit 2
fi
root=$(cd "$(dirname "$0")/../.." && pwd)
bdir=$(cd "$1" && pwd)
lc=$bdir/loom-cov
py="python3 $root/tests/cov/drcov.py"
tmp=$(mktemp -d /tmp/loom-cov-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

passed=0 failed=0 skipped=0
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() {
	local name=$1
	echo "FAIL $name"
	shift
	for l in "$@"; do echo "    $l"; done
	echo "    repro: tests/cov/run.sh $bdir  (case $name)"
	failed=$((failed + 1))
}
# check NAME CMD...: passes when CMD succeeds; its output is the detail.
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		pass "$name"
	else
		fail "$name" "$(echo "$out" | head -n 5)"
	fi
}

for b in "$lc" "$bdir/cov/covtest"; do
	if [ ! -x "$b" ]; then
		echo "FAIL setup: $b is missing (make MODE=... test-cov builds it)"
		echo "0 passed, 1 failed"
		exit 1
	fi
done

# --- the library, as the recorder calls it, checked by the Python reader ---
mkdir lib
check covtest "$bdir/cov/covtest" lib
check lib-drcov-independent $py check-truth lib/lib.drcov lib/truth.txt
check lib-modoff-independent $py check-modoff lib/lib.modoff lib/truth.txt
check lib-bitmap-independent $py check-bitmap lib/lib.bitmap lib/truth.txt /lib/x86_64-linux-gnu/libc.so.6
check lib-no-temporaries test -z "$(ls lib | grep -v -E '^(lib\.(drcov|modoff|bitmap)|truth\.txt)$')"

# --- reading drcov as DynamoRIO's versions write it ---
for kind in v2bin v2text v2win v1 v4seg v4foreign v5dr3; do
	$py craft $kind $kind.drcov
	$py expect $kind >$kind.want
	if "$lc" export --format modoff $kind.drcov -o $kind.got 2>$kind.err &&
		cmp -s $kind.want $kind.got; then
		pass "read-$kind"
	else
		fail "read-$kind" "$(cat $kind.err)" "$(diff $kind.want $kind.got | head -n 4)"
	fi
done

# --- round trips ---
"$lc" export --format drcov lib/lib.drcov -o rt.drcov
check roundtrip-drcov cmp lib/lib.drcov rt.drcov
"$lc" export --format modoff lib/lib.modoff -o rt.modoff
check roundtrip-modoff cmp lib/lib.modoff rt.modoff
"$lc" export --format bitmap --module /lib/x86_64-linux-gnu/libc.so.6 --range 0-0x215000 \
	lib/lib.bitmap -o rt.bitmap
check roundtrip-bitmap cmp lib/lib.bitmap rt.bitmap
"$lc" export --format modoff lib/lib.drcov -o d2m.modoff
check drcov-to-modoff cmp lib/lib.modoff d2m.modoff
"$lc" merge lib/lib.drcov lib/lib.drcov -o self.drcov
$py dump lib/lib.drcov >self.want
$py dump self.drcov >self.got
check merge-self-is-identity cmp self.want self.got

# --- diff and merge on crafted inputs with known answers ---
# The same two libraries at other addresses (ASLR) in NEW: offsets decide.
cat >base.spec <<'EOF'
M /bin/app 0x555555554000 0x55555555c000
M /lib/libz.so.1 0x7f0000000000 0x7f0000020000
B 0 0x1000 10
B 0 0x1020 4
B 1 0x500 7
EOF
cat >new.spec <<'EOF'
M /lib/libz.so.1 0x7f1234560000 0x7f1234580000
M /bin/app 0x565656560000 0x565656568000
M /lib/libm.so.6 0x7f2000000000 0x7f2000010000
B 1 0x1000 10
B 1 0x1030 3
B 0 0x500 7
B 0 0x600 2
B 2 0x44 8
B 1 0x1020 4
B 1 0x200 1
EOF
$py write-drcov base.drcov base.spec
$py write-drcov new.drcov new.spec
cat >diff.want <<'EOF'
app+0x00000200
app+0x00001030
libm.so.6+0x00000044
libz.so.1+0x00000600
EOF
"$lc" diff base.drcov new.drcov >diff.got 2>diff.err
check diff-known-answer cmp diff.want diff.got
check diff-sorted env LC_ALL=C sort -c diff.got
"$lc" export --format modoff base.drcov -o base.modoff
"$lc" diff base.modoff new.drcov >diff2.got 2>&1
check diff-modoff-base cmp diff.want diff2.got
"$lc" diff new.drcov new.drcov >diff3.got 2>&1
check diff-self-empty test ! -s diff3.got
"$lc" diff new.drcov base.drcov >diff4.got 2>&1
check diff-reverse-empty test ! -s diff4.got
# Two libc.so.6 in BASE (the second named libc.so.6#2); NEW has only the
# second, which it names libc.so.6: paths, not names, say they are one.
printf 'M /lib/a/libc.so.6 0x10000 0x20000\nM /opt/b/libc.so.6 0x30000 0x40000\nB 0 0x10 4\nB 1 0x20 4\n' >twin-base.spec
printf 'M /opt/b/libc.so.6 0x50000 0x60000\nB 0 0x20 4\nB 0 0x10 4\n' >twin-new.spec
$py write-drcov twin-base.drcov twin-base.spec
$py write-drcov twin-new.drcov twin-new.spec
"$lc" diff twin-base.drcov twin-new.drcov >twin.got 2>&1
check diff-matches-paths-not-names test "$(cat twin.got)" = "libc.so.6+0x00000010"
"$lc" merge twin-base.drcov twin-new.drcov --format modoff -o twin.modoff
check merge-matches-paths test "$(tr '\n' ' ' <twin.modoff)" = \
	"libc.so.6#2+0x00000010 libc.so.6#2+0x00000020 libc.so.6+0x00000010 "
cat >merge.want <<'EOF'
app+0x00000200
app+0x00001000
app+0x00001020
app+0x00001030
libm.so.6+0x00000044
libz.so.1+0x00000500
libz.so.1+0x00000600
EOF
"$lc" merge base.drcov new.drcov -o merged.drcov
$py dump merged.drcov >merge.got
check merge-known-answer cmp merge.want merge.got
"$lc" merge base.modoff new.drcov --format modoff -o merged.modoff
check merge-mixed-formats cmp merge.want merged.modoff
"$lc" summary merged.drcov >summary.out
check summary-totals grep -qE '^total +7 +35$' summary.out
check summary-module grep -qE '^app +4 +18 +/bin/app$' summary.out
"$lc" diff merged.drcov new.drcov >diff5.got 2>&1
check diff-after-merge-empty test ! -s diff5.got

# A bitmap over an absolute range: granules of 16 bytes.
"$lc" export --format bitmap --range 0x565656560000-0x565656562000 new.drcov -o abs.bitmap
"$lc" export --format modoff abs.bitmap -o abs.modoff
printf '%s\n' '[absolute]+0x565656560200' '[absolute]+0x565656561000' \
	'[absolute]+0x565656561020' '[absolute]+0x565656561030' >abs.want
check bitmap-absolute-range cmp abs.want abs.modoff
"$lc" export --format bitmap --module app --granularity 4096 new.drcov -o page.bitmap
"$lc" summary page.bitmap >page.sum
check bitmap-granularity grep -qE '^total +2 +8192$' page.sum

# --- errors: exit 1 and one line "loom-cov: FILE: ..." ---
# bad_input NAME FILE [CMD...]: loom-cov summary FILE (or CMD) fails as it should.
bad_input() {
	local name=$1 file=$2
	shift 2
	local cmd=("$@")
	[ ${#cmd[@]} -eq 0 ] && cmd=(summary "$file")
	"$lc" "${cmd[@]}" >bad.out 2>bad.err
	local st=$? lines
	lines=$(wc -l <bad.err)
	if [ $st -eq 1 ] && [ "$lines" -eq 1 ] && grep -q "^loom-cov: $file: " bad.err; then
		pass "error-$name"
	else
		fail "error-$name" "exit $st, $lines stderr lines:" "$(head -n 3 bad.err)"
	fi
}
bad_input missing-file no/such/file
mkdir adir
bad_input directory adir
head -c $(($(stat -c %s new.drcov) - 3)) new.drcov >trunc-bb.drcov
bad_input truncated-bb-table trunc-bb.drcov
head -n 4 new.drcov >trunc-mod.drcov
bad_input truncated-module-table trunc-mod.drcov
cp new.drcov trailing.drcov
printf 'xyz' >>trailing.drcov
bad_input bytes-after-bb-table trailing.drcov
sed '1s/.*/DRCOV VERSION: x/' new.drcov >badver.drcov
bad_input bad-version badver.drcov
sed '1s/.*/DRCOV VERSION: 9/' new.drcov >ver9.drcov
bad_input unknown-version ver9.drcov
sed '6s/^  1,/  7,/' new.drcov >badid.drcov
bad_input module-id badid.drcov
sed '3s/count 3/count 4/' new.drcov >badcount.drcov
bad_input module-count badcount.drcov
sed 's/0x00007f2000000000/0x00007fzz00000000/' new.drcov >badnum.drcov
bad_input module-number badnum.drcov
printf 'DRCOV VERSION: 2\nDRCOV FLAVOR: drcov\nModule Table: version 2, count 0\nColumns: id, base, end, entry, path\nBB Table: many bbs\n' >badbb.drcov
bad_input bb-header badbb.drcov
head -c 64 /bin/sh >garbage.bin
bad_input binary-garbage garbage.bin
printf 'app+0x10\nthis is not modoff\n' >bad1.modoff
bad_input modoff-no-plus bad1.modoff
printf 'app+0x10\napp+0xzz\n' >bad2.modoff
bad_input modoff-bad-offset bad2.modoff
head -c -2 lib/lib.bitmap >trunc.bitmap
bad_input truncated-bitmap trunc.bitmap
sed '5s/.*/Granularity: 0/' lib/lib.bitmap >gran0.bitmap
bad_input bitmap-granularity-0 gran0.bitmap
printf 'TN:\nSF:/x.c\nDA:1,1\nend_of_record\n' >x.info
bad_input lcov-input x.info
bad_input diff-bad-new trunc-bb.drcov diff new.drcov trunc-bb.drcov
bad_input merge-bad-second badver.drcov merge new.drcov badver.drcov -o m.drcov
bad_input unwritable-output no/dir/out.drcov export --format drcov new.drcov -o no/dir/out.drcov
check error-left-no-file test ! -e m.drcov

# --- usage: exit 2 ---
usage_case() {
	local name=$1
	shift
	"$lc" "$@" >/dev/null 2>&1
	local st=$?
	if [ $st -eq 2 ]; then pass "usage-$name"; else fail "usage-$name" "exit $st"; fi
}
usage_case none
usage_case unknown-command frobnicate
usage_case diff-one-file diff new.drcov
usage_case export-no-format export new.drcov -o x.drcov
usage_case export-bad-format export --format svg new.drcov -o x.drcov
usage_case merge-no-output merge new.drcov
usage_case bitmap-no-module export --format bitmap new.drcov -o x.bitmap
usage_case bad-range export --format bitmap --range 9-3 new.drcov -o x.bitmap
usage_case unknown-option summary --frob new.drcov
"$lc" --help >help.out 2>&1
check help grep -q 'loom-cov diff BASE NEW' help.out

# --- lcov through DWARF line tables, for DWARF 5 and 4 ---
cat >prog.c <<'EOF'
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

int main(int argc, char **argv)
{
	printf("%d\n", square(argc) + cube(argc));
	return 0;
}
EOF
# nm's address is a link address; module offsets start at the lowest
# PT_LOAD page (0 for PIE, 0x400000 for a classic executable).
load_base() { readelf -lW "$1" | awk '$1 == "LOAD" { print $3; exit }'; }
for variant in dwarf5-pie:-gdwarf-5 dwarf4-nopie:"-gdwarf-4 -no-pie"; do
	name=${variant%%:*} flags=${variant#*:}
	# shellcheck disable=SC2086
	if ! gcc -g -O0 $flags -o "$tmp/prog-$name" prog.c 2>gcc.err; then
		fail "lcov-$name-build" "$(head -n 3 gcc.err)"
		continue
	fi
	exe=$tmp/prog-$name
	base=$(($(load_base "$exe") & ~0xfff))
	for fn in square cube main; do
		read -r addr size < <(nm -S "$exe" | awk -v f="$fn" '$4 == f { print $1, $2 }')
		off=$((0x$addr - base)) len=$((0x$size))
		printf 'M %s 0x7f0000000000 0x7f0000010000\nM /bin/true 0x7f1000000000 0x7f1000010000\nB 0 %d %d\nB 1 0x20 3\n' \
			"$exe" "$off" "$len" >lc.spec
		$py write-drcov lc.drcov lc.spec
		if ! "$lc" export --format lcov --test-name "$fn" lc.drcov -o "$fn.info" 2>lc.err; then
			fail "lcov-$name-$fn" "$(cat lc.err)"
			continue
		fi
		# The oracle: addr2line on every byte of the function.
		want=$(for ((a = 0x$addr; a < 0x$addr + len; a++)); do printf '0x%x\n' $a; done |
			addr2line -e "$exe" | sed -E 's/ \(discriminator [0-9]+\)//' |
			awk -F: '$2 != "?" && $2 != 0 { print $2 }' | sort -n -u | tr '\n' ' ')
		got=$(awk -F'[:,]' '$1 == "DA" && $3 > 0 { print $2 }' "$fn.info" | sort -n -u | tr '\n' ' ')
		zero=$(awk -F'[:,]' '$1 == "DA" && $3 == 0' "$fn.info" | wc -l)
		# and by prog.c's layout: the function's own lines, nothing else
		case $fn in
		square) lo=3 hi=9 ;;
		cube) lo=11 hi=15 ;;
		main) lo=17 hi=21 ;;
		esac
		for l in $got; do
			[ "$l" -ge $lo ] && [ "$l" -le $hi ] || got="$got (line $l outside $lo-$hi)"
		done
		if [ -n "$want" ] && [ "$want" = "$got" ] && [ "$zero" -gt 0 ] &&
			grep -q "^SF:$tmp/prog.c$" "$fn.info" && grep -q "^TN:$fn$" "$fn.info" &&
			grep -q 'note: /bin/true: no DWARF line table' lc.err; then
			pass "lcov-$name-$fn"
		else
			fail "lcov-$name-$fn" "want lines: $want" "got lines:  $got ($zero at 0)" "$(head -n 2 lc.err)"
		fi
		# Function records: every function of prog.c at the line of its
		# first byte (addr2line), entered only if it is the one covered.
		want=$(for g in cube main square; do
			a=$(nm "$exe" | awk -v f="$g" '$3 == f { print $1 }')
			l=$(addr2line -e "$exe" "0x$a" | sed -E 's/.*:([0-9]+).*/\1/')
			echo "FN:$l,$g FNDA:$([ "$g" = "$fn" ] && echo 1 || echo 0),$g"
		done | tr '\n' ' ')
		got=$(for g in cube main square; do
			echo "$(grep "^FN:[0-9]*,$g$" "$fn.info") $(grep "^FNDA:[0-9]*,$g$" "$fn.info")"
		done | tr '\n' ' ')
		if [ "$want" = "$got" ] && grep -q '^FNH:1$' "$fn.info"; then
			pass "lcov-$name-$fn-functions"
		else
			fail "lcov-$name-$fn-functions" "want: $want" "got:  $got"
		fi
	done
	if command -v genhtml >/dev/null; then
		check "lcov-$name-genhtml" genhtml -q -o "html-$name" square.info cube.info
	else
		echo "SKIP lcov-$name-genhtml: genhtml not installed (scripts/install-deps.sh adds lcov)"
		skipped=$((skipped + 1))
	fi
done

# A bigger line table: loom-cov's own functions (DWARF 5, many units and
# files), every byte of each looked up with addr2line.
exe=$lc
base=$(($(load_base "$exe") & ~0xfff))
nm -S --defined-only "$exe" | awk '$3 ~ /^[Tt]$/ && $4 ~ /^(cov_|cmd_|read_|write_|parse_)/' |
	head -n 40 >funcs.txt
: >self.spec
printf 'M %s 0x7f0000000000 0x7f0000400000\n' "$exe" >self.spec
: >self.addrs
while read -r addr size _ fn; do
	[ $((0x$size)) -gt 0 ] || continue
	printf 'B 0 %d %d\n' $((0x$addr - base)) $((0x$size)) >>self.spec
	for ((a = 0x$addr; a < 0x$addr + 0x$size; a++)); do printf '0x%x\n' $a; done >>self.addrs
done <funcs.txt
$py write-drcov self-lc.drcov self.spec
if "$lc" export --format lcov self-lc.drcov -o self.info 2>self.err; then
	addr2line -e "$exe" <self.addrs | sed -E 's/ \(discriminator [0-9]+\)//' |
		awk -F: '$2 != "?" && $2 != 0' | sort -u >self.want
	awk -F'[:,]' '$1 == "SF" { f = substr($0, 4) } $1 == "DA" && $3 > 0 { print f ":" $2 }' self.info |
		sort -u >self.got
	if [ -s self.want ] && cmp -s self.want self.got; then
		pass "lcov-vs-addr2line-$(wc -l <funcs.txt)-functions"
	else
		fail "lcov-vs-addr2line" "$(diff self.want self.got | head -n 6)"
	fi
else
	fail "lcov-vs-addr2line" "$(cat self.err)"
fi

# --- damaged inputs: exit 0 or one line and exit 1, never a crash ---
check mutate-drcov-v4 python3 "$root/tests/cov/mutate.py" "$lc" summary v4seg.drcov 300
check mutate-drcov-text python3 "$root/tests/cov/mutate.py" "$lc" summary v5dr3.drcov 200
check mutate-bitmap python3 "$root/tests/cov/mutate.py" "$lc" summary lib/lib.bitmap 100
check mutate-modoff python3 "$root/tests/cov/mutate.py" "$lc" summary merged.modoff 100
if [ -x "$tmp/prog-dwarf5-pie" ]; then
	cp "$tmp/prog-dwarf5-pie" dw5.elf
	check mutate-dwarf5 python3 "$root/tests/cov/mutate.py" "$lc" lcov dw5.elf 0x1139 150
fi
if [ -x "$tmp/prog-dwarf4-nopie" ]; then
	check mutate-dwarf4 python3 "$root/tests/cov/mutate.py" "$lc" lcov "$tmp/prog-dwarf4-nopie" 0x1139 150
fi

if [ $skipped -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ $failed -eq 0 ]
