#!/usr/bin/env bash
# Host instructions per guest instruction, counted with callgrind (this
# kind of VM has no hardware performance counters, and loom's -d stats
# counts what it translates, not what runs).  Each workload runs once
# natively under `valgrind --tool=callgrind`, whose instruction count is
# the guest's, and once under each LOOM given, whose count is the host's:
# everything loom executes for it (translated code, translation, the exec
# loop, helpers, the system calls' emulation), so the figure includes
# start-up.  Each run's stdout must equal the native run's.  Runs are made
# repeatable: address randomization off (setarch -R), PYTHONHASHSEED=0 and
# PERL_HASH_SEED=0 (python3's counts otherwise vary by 1% from run to run).
#
#   bench/hipg.sh LOOM [LOOM...]
#
# Workloads (small, since callgrind runs code some 50 times slower):
# Debian's gzip -9 on 1 MB of generated text, and python3 and perl loops of
# function calls and arithmetic.  valgrind loads a PIE at 0x108000, and
# loom's 10 MB (most of it bss) would then cover 0x400000, where a non-PIE
# guest such as Debian's python3 must go: give this script
# build/release/loom-hipg, the same objects linked without PIE at
# 0x50000000 (`make build/release/loom-hipg`; `make bench` does), or the
# python3 row fails.  Needs valgrind (scripts/install-deps.sh installs it).
# HIPG_ONLY="NAME..." runs only those workloads.  Part of `make bench`,
# never of `make test`.
set -uo pipefail

if [ $# -lt 1 ]; then
	echo "usage: $0 LOOM [LOOM...]" >&2
	exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
if ! command -v valgrind >/dev/null; then
	echo "hipg: valgrind is not installed (scripts/install-deps.sh installs it): skipped"
	exit 0
fi
looms=()
for l in "$@"; do
	case $l in /*) ;; *) l=$(cd "$(dirname "$l")" && pwd)/$(basename "$l") ;; esac
	[ -x "$l" ] || { echo "hipg: $l is not executable" >&2; exit 2; }
	looms+=("$l")
done
out=$root/build/bench/hipg
mkdir -p "$out" "$root/build/bench/bin"
gen=$root/build/bench/bin/gen
if [ ! -x "$gen" ] || [ "$root/bench/src/gen.c" -nt "$gen" ]; then
	gcc -static -O2 -o "$gen" "$root/bench/src/gen.c" || exit 1
fi
[ -s "$out/text1m.txt" ] || "$gen" text 1000000 >"$out/text1m.txt"
cat >"$out/loop.py" <<'EOF'
def f(x):
    return x * x % 7 + x // 3
s = 0
for i in range(150000):
    s += f(i)
print(s)
EOF
cat >"$out/loop.pl" <<'EOF'
sub f { my $x = shift; return $x * $x % 7; }
my %h; my $s = 0;
for my $i (1 .. 150000) { $s += f($i); $h{$i & 1023} = $s; }
print "$s ", scalar(keys %h), "\n";
EOF

names=(gzip-9 python3-loop perl-loop)
cmds=("/usr/bin/gzip -9 -c $out/text1m.txt" "/usr/bin/python3 $out/loop.py" "/usr/bin/perl $out/loop.pl")

# count PREFIX CMD TAG: callgrind's instruction count of one run, or FAIL.
count() {
	local prefix=$1 cmd=$2 tag=$3
	# shellcheck disable=SC2086  # plain words
	PYTHONHASHSEED=0 PERL_HASH_SEED=0 setarch -R valgrind --tool=callgrind --callgrind-out-file=/dev/null \
		--log-file="$out/$tag.log" $prefix $cmd >"$out/$tag.out" 2>/dev/null </dev/null
	if [ "$tag" != "${tag%.native}" ] || cmp -s "$out/${tag%.*}.native.out" "$out/$tag.out"; then
		sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$out/$tag.log" | tail -1
	else
		echo FAIL
	fi
}

printf '%-14s %14s' workload "guest insns"
for i in "${!looms[@]}"; do printf ' %14s %9s' "host [$((i + 1))]" "per guest"; done
echo
for k in "${!names[@]}"; do
	name=${names[$k]} cmd=${cmds[$k]}
	[ -n "${HIPG_ONLY:-}" ] && [[ " $HIPG_ONLY " != *" $name "* ]] && continue
	exe=${cmd%% *}
	if [ ! -x "$exe" ]; then
		echo "hipg: $exe not installed: $name skipped"
		continue
	fi
	g=$(count "" "$cmd" "$name.native")
	printf '%-14s %14s' "$name" "${g:-FAIL}"
	for i in "${!looms[@]}"; do
		h=$(count "${looms[$i]}" "$cmd" "$name.loom$i")
		r=$(awk -v h="$h" -v g="$g" 'BEGIN { if (h ~ /^[0-9]+$/ && g > 0) printf "%.2f", h / g; else print "n/a" }')
		printf ' %14s %9s' "${h:-FAIL}" "$r"
	done
	echo
done
for i in "${!looms[@]}"; do echo "[$((i + 1))] ${looms[$i]}"; done
