#!/usr/bin/env bash
# Times each workload natively, under loom and under qemu-x86_64 in the same
# run, and prints a table of seconds and ratios with geometric means.
#
#   bench/run.sh LOOM [WORKLOAD...]
#
# Workloads: busybox applets on generated data (gzip -9 of 20 MB, md5sum,
# sha256sum, sort of 500k lines, a 20000-iteration sh loop, awk summing a
# column), the static C programs in bench/src/ (built with gcc -static -O2;
# fpsim is the floating-point-heavy one),
# and Debian's dynamic python3 (start-up and a json/re/zlib script), perl,
# xz and sqlite3 where they are installed.
# Each is run once first under every runner and its stdout and exit status
# compared with the native run: a runner that fails or differs shows "FAIL"
# and is not timed.  Timing uses hyperfine (--runs 3 --warmup 1, the best run
# is reported) when hyperfine and python3 are installed, else a bash loop
# with date +%s.%N (one warm-up, best of 3).  qemu columns read "n/a" when
# qemu-x86_64 is not installed.  Outputs and JSON go to build/bench/.
# Environment: BENCH_TIMER=loop (skip hyperfine), QEMU (the qemu binary;
# empty to leave qemu out), BUSYBOX (default /bin/busybox), BENCH_COV=1 (also
# time loom -cov, coverage recording, and print its overhead).
# Never part of `make test`.
set -uo pipefail

if [ $# -lt 1 ]; then
	echo "usage: $0 LOOM [WORKLOAD...]" >&2
	exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
loom=$1
shift
case $loom in /*) ;; *) [ -e "$loom" ] && loom=$(cd "$(dirname "$loom")" && pwd)/$(basename "$loom") ;; esac
only=("$@")
bb=${BUSYBOX:-/bin/busybox}
out=$root/build/bench
mkdir -p "$out/bin" "$out/data" "$out/runs"
qemu=${QEMU-$(command -v qemu-x86_64 || true)}
use_hyperfine=0
command -v hyperfine >/dev/null && command -v python3 >/dev/null && use_hyperfine=1
[ "${BENCH_TIMER:-}" = loop ] && use_hyperfine=0

# ---- build the C workloads and generate the inputs -------------------------
for src in "$root"/bench/src/*.c; do
	bin=$out/bin/$(basename "$src" .c)
	if [ ! -x "$bin" ] || [ "$src" -nt "$bin" ]; then
		gcc -static -O2 -o "$bin" "$src" -lm || {
			echo "bench: failed to build $src" >&2
			exit 1
		}
	fi
done
data=$out/data
[ -s "$data/text20m.txt" ] || "$out/bin/gen" text 20000000 >"$data/text20m.txt"
[ -s "$data/lines500k.txt" ] || "$out/bin/gen" lines 500000 >"$data/lines500k.txt"
cat >"$data/loop.sh" <<'EOF'
i=0
s=0
while [ $i -lt 20000 ]; do
	i=$((i + 1))
	s=$((s + i % 7))
done
echo $s
EOF
# shellcheck disable=SC2016  # an awk program
echo '{ s += $2 } END { print s, NR }' >"$data/sum.awk"
# Dynamic programs from Debian; the *-startup rows mostly measure translation.
cat >"$data/work.py" <<'EOF'
import json, re, zlib
d = [{"k": i, "v": str(i) * 3} for i in range(60000)]
s = json.dumps(d)
print(len(re.findall(r'"k": (\d+)', s)), zlib.crc32(s.encode()), sum(x["k"] for x in json.loads(s)))
EOF
cat >"$data/work.pl" <<'EOF'
my %h; my $t = 0;
for my $i (1 .. 300000) { my $k = "key" . ($i % 5000); $h{$k} += $i; $t += length($k) if $k =~ /7/; }
my $s = 0; $s += $h{$_} for sort keys %h; print "$s $t\n";
EOF
cat >"$data/work.sql" <<'EOF'
create table t(a integer, b text);
with recursive c(x) as (select 1 union all select x + 1 from c where x < 200000)
insert into t select x, hex(x * 7919) from c;
select count(*), sum(a), max(b) from t where b like '%A%';
EOF
if [ ! -x "$bb" ]; then
	echo "bench: $bb not found (scripts/install-deps.sh installs busybox-static)" >&2
	exit 1
fi

# ---- workloads: name, then the command (words without shell quoting) ------
names=()
cmds=()
w() {
	local name=$1
	shift
	if [ ${#only[@]} -gt 0 ]; then
		local keep=0 o
		for o in "${only[@]}"; do [ "$o" = "$name" ] && keep=1; done
		[ $keep = 1 ] || return 0
	fi
	names+=("$name")
	cmds+=("$*")
}
w gzip-9 "$bb" gzip -9 -c "$data/text20m.txt"
w md5sum "$bb" md5sum "$data/text20m.txt"
w sha256sum "$bb" sha256sum "$data/text20m.txt"
w sort "$bb" sort "$data/lines500k.txt"
w sh-loop "$bb" sh "$data/loop.sh"
w awk-sum "$bb" awk -f "$data/sum.awk" "$data/lines500k.txt"
w lz "$out/bin/lz"
w sieve "$out/bin/sieve"
w strops "$out/bin/strops"
w fpsim "$out/bin/fpsim"
py=/usr/bin/python3
[ -x "$py" ] && w python3-startup "$py" -c pass
[ -x "$py" ] && w python3-json "$py" "$data/work.py"
[ -x /usr/bin/perl ] && w perl-hash /usr/bin/perl "$data/work.pl"
[ -x /usr/bin/xz ] && w xz-6 /usr/bin/xz -6 -T1 -c "$data/lines500k.txt"
[ -x /usr/bin/sqlite3 ] && w sqlite3 /usr/bin/sqlite3 -init "$data/work.sql" :memory: .quit
if [ ${#names[@]} -eq 0 ]; then
	echo "bench: no workload selected" >&2
	exit 2
fi

# runner_prefix RUNNER: the words put before a workload's command.
runner_prefix() {
	case $1 in
	native) echo "" ;;
	loom) echo "$loom" ;;
	qemu) echo "$qemu" ;;
	loomcov) echo "$loom -cov $out/runs/cov.drcov" ;;
	esac
}

# check NAME RUNNER CMD: one run, compared with the native run; 0 if good.
check() {
	local name=$1 runner=$2 cmd=$3 prefix
	prefix=$(runner_prefix "$runner")
	# shellcheck disable=SC2086  # the command is a list of plain words
	(timeout -k 5 900 $prefix $cmd >"$out/runs/$name.$runner.out" 2>"$out/runs/$name.$runner.err"
		echo $? >"$out/runs/$name.$runner.status") 2>/dev/null </dev/null
	[ "$runner" = native ] && return 0
	cmp -s "$out/runs/$name.native.out" "$out/runs/$name.$runner.out" &&
		cmp -s "$out/runs/$name.native.status" "$out/runs/$name.$runner.status"
}

# time_loop CMD: best of 3 timed runs after one warm-up, in seconds.
time_loop() {
	local best="" i start end t
	for i in 0 1 2 3; do
		start=$(date +%s.%N)
		# shellcheck disable=SC2086
		$1 >/dev/null 2>&1 </dev/null
		end=$(date +%s.%N)
		[ $i -eq 0 ] && continue
		t=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.4f", b - a }')
		if [ -z "$best" ] || awk -v t="$t" -v b="$best" 'BEGIN { exit !(t < b) }'; then
			best=$t
		fi
	done
	echo "$best"
}

declare -A secs
echo "bench: $(nproc) cores; loom=$loom; qemu=${qemu:-not installed};" \
	"timing with $([ $use_hyperfine = 1 ] && echo 'hyperfine (best of 3)' || echo 'date loop (best of 3)')"
for i in "${!names[@]}"; do
	name=${names[$i]}
	cmd=${cmds[$i]}
	check "$name" native "$cmd"
	runners=(native)
	extra=()
	[ "${BENCH_COV:-0}" = 1 ] && extra=(loomcov)
	for r in loom qemu "${extra[@]}"; do
		if [ $r = qemu ] && [ -z "$qemu" ]; then
			secs[$name.$r]=n/a
		elif check "$name" $r "$cmd"; then
			runners+=("$r")
		else
			secs[$name.$r]=FAIL
			echo "bench: $name under $r failed or differs from native (see $out/runs/$name.$r.*)" >&2
		fi
	done
	if [ $use_hyperfine = 1 ]; then
		args=()
		for r in "${runners[@]}"; do
			prefix=$(runner_prefix "$r")
			args+=(-n "$r" "${prefix:+$prefix }$cmd")
		done
		json=$out/runs/$name.json
		if hyperfine -N --runs 3 --warmup 1 --style none --export-json "$json" "${args[@]}" \
			>"$out/runs/$name.hyperfine" 2>&1; then
			while read -r r t; do
				secs[$name.$r]=$t
			done < <(python3 -c '
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(r["command"], "%.4f" % r["min"])' "$json")
		else
			for r in "${runners[@]}"; do secs[$name.$r]=FAIL; done
			echo "bench: hyperfine failed on $name (see $out/runs/$name.hyperfine)" >&2
		fi
	else
		for r in "${runners[@]}"; do
			prefix=$(runner_prefix "$r")
			secs[$name.$r]=$(time_loop "${prefix:+$prefix }$cmd")
		done
	fi
done

# ---- the table ---------------------------------------------------------------
ratio() { # ratio A B: A / B, or n/a when either is not a number
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0) printf "%.2f", a / b; else print "n/a" }'
}
echo
row() { printf '%-10s %9s %9s %9s %11s %11s %9s\n' "$@"; }
row workload "native s" "loom s" "qemu s" loom/native qemu/native qemu/loom
declare -a ln qn ql
for name in "${names[@]}"; do
	n=${secs[$name.native]:-FAIL} l=${secs[$name.loom]:-FAIL} q=${secs[$name.qemu]:-n/a}
	r1=$(ratio "$l" "$n") r2=$(ratio "$q" "$n") r3=$(ratio "$q" "$l")
	row "$name" "$n" "$l" "$q" "$r1" "$r2" "$r3"
	[ "$r1" != n/a ] && ln+=("$r1")
	[ "$r2" != n/a ] && qn+=("$r2")
	[ "$r3" != n/a ] && ql+=("$r3")
done
geomean() {
	[ $# -eq 0 ] && { echo n/a; return; }
	printf '%s\n' "$@" | awk '$1 > 0 { s += log($1); n++ } END { if (n) printf "%.2f", exp(s / n); else print "n/a" }'
}
row "geomean" "" "" "" "$(geomean "${ln[@]}")" "$(geomean "${qn[@]}")" "$(geomean "${ql[@]}")"

if [ "${BENCH_COV:-0}" = 1 ]; then
	echo
	row workload "loom s" "-cov s" "overhead" "" "" ""
	declare -a cv
	for name in "${names[@]}"; do
		l=${secs[$name.loom]:-FAIL} c=${secs[$name.loomcov]:-FAIL}
		r=$(ratio "$c" "$l")
		row "$name" "$l" "$c" "$r" "" "" ""
		[ "$r" != n/a ] && cv+=("$r")
	done
	row "geomean" "" "" "$(geomean "${cv[@]}")" "" "" ""
fi
