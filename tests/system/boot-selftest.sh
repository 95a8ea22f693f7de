#!/usr/bin/env bash
# Checks that tests/system/boot.sh can fail (the `sysboot-self` subsuite):
#
#   tests/system/boot-selftest.sh
#
# Runs boot.sh against fake emulators, small scripts that print a console
# transcript and exit, built from the guest script's native run: SeaBIOS's
# escape sequences and kernel lines around and inside the script's output,
# carriage returns, the /init lines and the kernel's power-down line.  No
# kernel, qemu or loom-system is involved, so it takes seconds.  Each case
# checks boot.sh's PASS/FAIL/SKIP lines and its exit status:
#   good         a faithful transcript: everything passes
#   changed      one line of one section differs: that section fails, only it
#   hang         output stops in the middle and the emulator hangs: the
#                timeout fails the power-off with the last lines shown, and
#                the missing sections fail
#   status       a full transcript but exit status 1: the power-off fails
#   panic        no script output at all: "boots to the guest script" fails
#   cannot-run   a loom-system exiting with status 3: one SKIP, no PASS for it
#   two          two emulators that differ: the comparison between them fails
# Prints PASS/FAIL lines and "N passed, N failed".
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
boot=$root/tests/system/boot.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

passed=0 failed=0
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() {
	echo "FAIL $1"
	shift
	local l
	for l in "$@"; do printf '%s\n' "$l" | sed 's/^/    /'; done
	failed=$((failed + 1))
}

# The native output, as boot.sh's oracle will see it.
if ! make -s --no-print-directory -C "$root" system-guest >"$tmp/make.log" 2>&1; then
	fail "build the guest programs" "$(tail -n 5 "$tmp/make.log")"
	echo "$passed passed, $failed failed"
	exit 1
fi
mkdir -p "$tmp/bb" "$tmp/ntmp"
/bin/busybox --install -s "$tmp/bb"
env -i PATH="$tmp/bb" GUEST_BIN="$root/build/tests/system/guest" GUEST_TMP="$tmp/ntmp" \
	/bin/busybox sh "$root/tests/system/guest/run" >"$tmp/native" 2>&1
: >"$tmp/kernel"
: >"$tmp/initrd"

# transcript OUT [SED]: a console transcript around the native output, with
# SED applied to the script's lines; a kernel line lands after "== fork".
transcript() {
	{
		printf '\033c\033[?7l\033[2J\033[0mSeaBIOS (version 1.16.2)\r\n\r\nBooting from ROM...\r\n'
		printf '\033c\033[?7l\033[2Jloom-guest: init up\r\n'
		sed -e "${2:-}" "$tmp/native" | awk '{ printf "%s\r\n", $0 }
			/^== fork$/ { printf "[    3.141592] random: crng init done\r\n" }'
		printf 'loom-guest: test exit 0\r\nloom-guest: poweroff\r\n'
		printf '[   11.629256] reboot: Power down\r\n'
	} >"$1"
}

# fake NAME TRANSCRIPT STATUS [SLEEP]: an emulator printing TRANSCRIPT, then
# sleeping SLEEP seconds, then exiting with STATUS.
fake() {
	mkdir -p "$tmp/$1"
	printf '#!/bin/sh\ncat "%s"\nsleep %s\nexit %s\n' "$2" "${4:-0}" "$3" >"$tmp/$1/$1"
	chmod +x "$tmp/$1/$1"
	echo "$tmp/$1/$1"
}

# run CASE ARGS...: boot.sh's output in $tmp/CASE.out, its status in rc.
run() {
	local c=$1
	shift
	"$boot" --timeout 5 --kernel "$tmp/kernel" --initrd "$tmp/initrd" "$@" >"$tmp/$c.out" 2>&1
	rc=$?
}

# expect CASE DESCRIPTION CONDITION...: each CONDITION is a shell test run
# with $out set to boot.sh's output file.
expect() {
	local c=$1 what=$2 cond
	shift 2
	out=$tmp/$c.out
	for cond in "$@"; do
		if ! eval "$cond"; then
			fail "$c: $what" "condition failed: $cond" "boot.sh printed:" \
				"$(grep -v '^PASS' "$out" | head -n 15)"
			return
		fi
	done
	pass "$c: $what"
}
count() { grep -c "$1" "$out"; }

transcript "$tmp/good.txt"
sections=$(grep -c '^== ' "$tmp/native")

emu=$(fake qemu-good "$tmp/good.txt" 0)
run good "$emu"
expect good "a faithful transcript passes every check" '[ "$rc" -eq 0 ]' \
	'[ "$(count "^FAIL")" -eq 0 ]' \
	'[ "$(count "^PASS qemu-good: section\|^PASS qemu-good: the output is complete")" -eq $((sections - 1)) ]' \
	'grep -q "^PASS qemu-good: powers off with exit status 0" "$out"'

transcript "$tmp/changed.txt" '/^b561f87202d04959e37588ee05cf5b10/s/^b5/b6/'
emu=$(fake qemu-changed "$tmp/changed.txt" 0)
run changed "$emu"
expect changed "one changed line fails its section and only it" '[ "$rc" -ne 0 ]' \
	'[ "$(count "^FAIL")" -eq 1 ]' 'grep -q "^FAIL qemu-changed: section md5sum" "$out"' \
	'grep -q "^    +b6" "$out"'

head -c "$(($(wc -c <"$tmp/good.txt") / 2))" "$tmp/good.txt" >"$tmp/hang.txt"
emu=$(fake qemu-hang "$tmp/hang.txt" 0 60)
run hang "$emu"
expect hang "a hung guest fails on the timeout, showing the last lines" '[ "$rc" -ne 0 ]' \
	'grep -q "^FAIL qemu-hang: powers off with exit status 0" "$out"' \
	'grep -q "hung: still running after the 5 s timeout" "$out"' \
	'grep -q "^FAIL qemu-hang: the output is complete" "$out"'

emu=$(fake qemu-status "$tmp/good.txt" 1)
run status "$emu"
expect status "a non-zero exit status fails the power-off" '[ "$rc" -ne 0 ]' \
	'[ "$(count "^FAIL")" -eq 1 ]' \
	'grep -q "^FAIL qemu-status: powers off with exit status 0" "$out"'

printf 'Kernel panic - not syncing: VFS: Unable to mount root fs\r\n' >"$tmp/panic.txt"
emu=$(fake qemu-panic "$tmp/panic.txt" 0)
run panic "$emu"
expect panic "no script output fails the boot, showing the console" '[ "$rc" -ne 0 ]' \
	'grep -q "^FAIL qemu-panic: boots to the guest script" "$out"' \
	'grep -q "Kernel panic" "$out"'

printf 'loom-system: stopped at the kernel entry: no CPU to run it yet\n' >"$tmp/norun.txt"
emu=$(fake loom-system "$tmp/norun.txt" 3)
run cannot-run "$emu"
expect cannot-run "a loom-system that cannot run guest code is one SKIP" '[ "$rc" -eq 0 ]' \
	'[ "$(count "^SKIP loom-system")" -eq 1 ]' '[ "$(count "^PASS loom-system")" -eq 0 ]' \
	'grep -q ", 1 skipped$" "$out"'

a=$(fake qemu-a "$tmp/good.txt" 0)
b=$(fake qemu-b "$tmp/changed.txt" 0)
run two "$a" "$b"
expect two "two emulators that differ fail their comparison" '[ "$rc" -ne 0 ]' \
	'grep -q "^FAIL qemu-b prints what qemu-a prints" "$out"'

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
