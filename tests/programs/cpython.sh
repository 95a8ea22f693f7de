#!/usr/bin/env bash
# A fixed selection of CPython's own regression tests (Debian's
# libpython3.11-testsuite), each test module run by /usr/bin/python3 natively
# and under loom; the result of every test method (pass, fail, error, skip)
# must be the same.  Timings are not compared.
#
#   tests/programs/cpython.sh LOOM [TEST...]
#
# TESTs (module names such as test_math) replace the default selection.
# Prints PASS/FAIL per module and ends with "N passed, N failed"; without the
# test suite installed it prints a SKIP line and "0 passed, 0 failed".
# Environment: CPYTHON_TIMEOUT (seconds per run, default 900), JOBS (modules
# run at once, default 1: many of these tests measure time), KEEP_WORK=1.
#
# The option set is fixed: `python3 -m test --junit-xml FILE -i PATTERN...
# TEST`, in one process (no -j), in the default order (no -r), with no -u: the
# optional resources (network, cpu, largefile, audio, gui, ...) are off, so
# tests that need them are skipped, natively and under loom alike.
set -uo pipefail

if [ $# -lt 1 ]; then
	echo "usage: $0 LOOM [TEST...]" >&2
	exit 2
fi
root=$(cd "$(dirname "$0")/../.." && pwd)
loom=$1
shift
case $loom in /*) ;; *) [ -e "$loom" ] && loom=$(cd "$(dirname "$loom")" && pwd)/$(basename "$loom") ;; esac
python=/usr/bin/python3

# The issue's list, then modules that reach other parts of loom cheaply
# (fork, ptys, epoll, fcntl locks, clocks, the C accelerators of zlib,
# hashlib and decimal).
tests=(test_math test_float test_struct test_re test_json test_signal test_threading
	test_subprocess test_os test_mmap test_ctypes test_socket test_select
	test_zlib test_hashlib test_fork1 test_fcntl test_epoll test_pty test_time
	test_tempfile test_decimal)
[ $# -gt 0 ] && tests=("$@")

# Tests left out, as -i patterns (regrtest matches them against test ids),
# each with the reason.  The rule: a test is excluded only when its result
# is not a property of the program (it differs between two native runs, or
# it hangs natively on this kind of machine).
ignore=(
	# AF_VSOCK: the connection test blocks forever natively in a VM without
	# a vsock peer (the module is there, nothing answers).
	'*VSOCK*'
)

if [ ! -e /usr/lib/python3.11/test/regrtest.py ] || [ ! -x $python ]; then
	echo "SKIP cpython: libpython3.11-testsuite is not installed"
	echo "0 passed, 0 failed"
	exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/loom-cpython.XXXXXX")
keep_work=${KEEP_WORK:-0}
trap '[ "$keep_work" = 1 ] || rm -rf "$work"' EXIT
ulimit -c 0

. "$root/tests/guest/harness.sh"
harness_limit=${CPYTHON_TIMEOUT:-900}
jobs=${JOBS:-1}
ign_args=()
for p in "${ignore[@]}"; do ign_args+=(-i "$p"); done

# results XML: one "id outcome" line per test method, sorted.
results() {
	$python - "$1" <<'EOF'
import sys, xml.etree.ElementTree as ET
try:
	root = ET.parse(sys.argv[1]).getroot()
except (OSError, ET.ParseError) as e:
	sys.exit(1)
out = []
for tc in root.iter("testcase"):
	kinds = [c.tag for c in tc if c.tag in ("failure", "error", "skipped")]
	out.append("%s %s" % (tc.get("name"), kinds[0] if kinds else "pass"))
print("\n".join(sorted(out)))
EOF
}

# summary FILE: "N run, N failed, N errors, N skipped".
summary() {
	awk '{ n++; c[$2]++ } END { printf "%d run, %d failed, %d errors, %d skipped", n, c["failure"], c["error"], c["skipped"] }' "$1"
}

# run_module TEST: native and loom runs, each in a directory of its own.
run_module() {
	local t=$1 side
	for side in native loom; do
		local dir=$work/$t.$side
		mkdir -p "$dir"
		harness_cwd=$dir
		harness_env=(PATH=/usr/bin:/bin HOME="$dir" LANG=C.UTF-8 TMPDIR="$dir" TZ=UTC)
		local cmd=("$python" -m test --junit-xml "$dir/results.xml" "${ign_args[@]}" "$t")
		[ $side = loom ] && cmd=("$loom" "${cmd[@]}")
		harness_run "$work/$t.$side" "${cmd[@]}"
		results "$dir/results.xml" >"$work/$t.$side.results" 2>/dev/null ||
			echo "(no results: $(harness_describe "$(cat "$work/$t.$side.status")"))" >"$work/$t.$side.results"
	done
	local n=$work/$t.native.results l=$work/$t.loom.results
	if grep -q '^(no results' "$n"; then
		echo "FAIL $t: the native run gave no results (a test bug): $(cat "$n")"
		tail -n 5 "$work/$t.native.out" | sed 's/^/    /'
		return
	fi
	if cmp -s "$n" "$l"; then
		echo "PASS $t: $(summary "$n") (native and loom)"
		return
	fi
	if grep -q '^(no results' "$l"; then
		echo "FAIL $t: $(cat "$l"); native: $(summary "$n")"
	else
		echo "FAIL $t: native: $(summary "$n"); loom: $(summary "$l")"
		diff "$n" "$l" | grep '^[<>]' | head -n 12 | sed 's/^/    /'
	fi
	echo "    loom output (last lines):"
	grep -v '^\(0:\|\[\)' "$work/$t.loom.out" | tail -n 8 | cut -c1-200 | sed 's/^/      /'
	echo "    repro: cd /tmp && $loom $python -m test -v$(printf ' %q' "${ign_args[@]}") $t"
}

# The case queue of harness.sh: modules run JOBS at a time, report in order.
filters=()
mkdir -p "$work/out"
run_case() { run_module "$1"; }
for t in "${tests[@]}"; do
	harness_case "$t" "$t"
done
harness_finish cpython
