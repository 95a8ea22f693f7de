#!/usr/bin/env bash
# The layer rule as a unit test: scripts/check-layers.sh passes on src/, and
# fails on copies of src/ into which an include that crosses the layers the
# wrong way was put (so that the check itself can fail).  Run by the unit
# subsuite of tests/run-all.sh; ends with "N passed, N failed".
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
check=$root/scripts/check-layers.sh
passed=0
failed=0
ok() { echo "PASS: $1"; passed=$((passed + 1)); }
ko() { echo "FAIL: $1"; failed=$((failed + 1)); }

out=$("$check" "$root/src" 2>&1)
if [ $? -eq 0 ]; then
	ok "src/ keeps its layers"
else
	ko "src/ includes across the layers the wrong way:"
	echo "$out" | grep '^FAIL' | sed 's/^/    /'
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# bad FILE INCLUDE WANT: a copy of src/ with INCLUDE added to FILE must fail
# with a line naming WANT.
bad() {
	rm -rf "$tmp/src"
	cp -r "$root/src" "$tmp/src"
	printf '#include "%s"\n' "$2" >>"$tmp/src/$1"
	local o
	o=$("$check" "$tmp/src" 2>&1)
	if [ $? -ne 0 ] && grep -q "FAIL: $1:.*$3" <<<"$o"; then
		ok "the check refuses $1 including $2"
	else
		ko "the check let $1 include $2"
	fi
}
# good FILE INCLUDE: the same with an include the table allows must pass.
good() {
	rm -rf "$tmp/src"
	cp -r "$root/src" "$tmp/src"
	printf '#include "%s"\n' "$2" >>"$tmp/src/$1"
	if "$check" "$tmp/src" >/dev/null 2>&1; then
		ok "the check lets $1 include $2"
	else
		ko "the check refused $1 including $2"
	fi
}
bad exec/tb.c guest/guest.h "exec may not include guest"
bad host/host.h exec/exec.h "host may not include exec"
bad guest/x86/cpu.h instrument/instrument.h "guest may not include instrument"
bad instrument/api.c linux/linux.h "instrument may not include linux"
bad linux/thread.c system/pc.h "linux may not include system"
bad system/pc.c linux/linux.h "system may not include linux"
bad main.c system/pc.h "main may not include system"
good guest/x86/translate.c exec/exec.h
good instrument/api.c guest/x86/cpu.h
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
