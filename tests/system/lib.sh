# The whole-system test scripts' common part (sourced): the PASS/FAIL/SKIP
# lines and the count line tests/run-all.sh reads, and a client for the
# HMP monitor's Unix socket.
#
#   pass NAME               PASS NAME
#   fail NAME [LINE...]     FAIL NAME, then each LINE (which may hold
#                           newlines) indented under it
#   skip NAME WHY           SKIP NAME: WHY (never counted as passed)
#   finish                  "N passed, N failed, N skipped", and exit with
#                           status 1 if anything failed
#   hmp SOCKET COMMAND...   each COMMAND sent to the monitor at SOCKET; its
#                           answers (prompts removed) on stdout
#   system_test_args "$@"   a script's one argument, BUILDDIR: sets builddir
#                           and bin (BUILDDIR/loom-system), or prints the
#                           usage line and exits with status 2

passed=0 failed=0 skipped=0
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() {
	echo "FAIL $1"
	shift
	local l
	for l in "$@"; do printf '%s\n' "$l" | sed 's/^/    /'; done
	failed=$((failed + 1))
}
skip() { echo "SKIP $1: $2"; skipped=$((skipped + 1)); }
finish() {
	echo "$passed passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ]
	exit
}
hmp() { python3 "$root/tests/system/hmp.py" "$@"; }
system_test_args() {
	if [ $# -ne 1 ]; then
		echo "usage: $0 BUILDDIR" >&2
		exit 2
	fi
	builddir=$(cd "$1" && pwd)
	bin=$builddir/loom-system
}
