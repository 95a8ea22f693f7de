#!/usr/bin/env bash
# The differential tester's coverage report (coverage.c says what it counts).
#
#   tests/isa/coverage.sh [--cases N] [--seed S] [--batch LIST]
#
# Generates and builds the batches as run.sh does (no loom run needed), then
# prints every instruction class Zydis knows for x86-64-v1..v3, which the
# tester covers with how many cases, which it does not, and a summary.
# --cases 1000 is the full mode (>= 1,000 cases per form); only the case
# counts are generated, not the cases.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cases=32
seed=1
batch=int,alias,pair,mem,string,sse,sse4,x87,bmi,crypto,mmx,misc,avx,avx2,fma
while [ $# -gt 0 ]; do
	case $1 in
	--cases) cases=$2; shift ;;
	--seed) seed=$2; shift ;;
	--batch) batch=$2; shift ;;
	*) echo "$0: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
out=$root/build/isa/cov-c$cases-s$seed
mkdir -p "$out"
python3 "$here/gen.py" "$out" --counts-only --cases "$cases" --seed "$seed" --batch "$batch" >"$out/gen.log" 2>&1 ||
	{ echo "coverage: gen.py failed: $(tail -n 3 "$out/gen.log")"; exit 1; }
gcc -O2 -Wall -Wextra -o "$out/coverage" "$here/coverage.c" -lZydis ||
	{ echo "coverage: building coverage.c failed"; exit 1; }
IFS=, read -ra batches <<<"$batch"
for b in "${batches[@]}"; do
	(cd "$out" && gcc -static -no-pie -O1 -I"$here" -o "$b.bin" "$b.S" "$here/tramp.S" "$here/harness.c") ||
		{ echo "coverage: building batch $b failed"; exit 1; }
done
"$out/coverage" "$out" "${batches[@]}"
st=$?
rm -f "$out"/*.cases "$out"/*.bin
exit $st
