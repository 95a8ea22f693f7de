#!/usr/bin/env bash
# Boots Debian 12's kernel with the test initramfs under each EMULATOR and
# compares what the guest script prints (the `sysboot` subsuites):
#
#   tests/system/boot.sh [--fast] [--timeout SECONDS] [--kernel K --initrd I]
#                        EMULATOR...
#
# EMULATOR is qemu-system-x86_64 (a name on PATH or a path), the peer, or a
# loom-system binary (any path whose name contains "loom-system").  Each one
# boots build/guest/vmlinuz and build/guest/initrd.img (scripts/guest-kernel.sh
# fetches and builds them) with the same arguments:
#   -M pc -m 512 -nographic -no-reboot -kernel K -initrd I
#   -append "console=ttyS0 quiet panic=-1"
# The guest's /init runs tests/system/guest/run, which prints "== begin",
# sections opened by "== NAME", and "== end", then powers off.  From the
# serial console this keeps only the lines between the markers (SeaBIOS's
# escape sequences and the kernel's "[ time]" lines dropped).
#
# The oracle is the host: the same script runs natively first, with the same
# busybox and the same static programs, and every section each emulator
# prints must equal the native one.  When two emulators reach the end, their
# whole outputs are compared too.  Each emulator must also reach the script,
# see it exit 0, and power off with exit status 0 before the timeout (a hung
# guest is a FAIL showing the console's last lines).
#
# A loom-system that does not exist, or that exits with status 3 (it loads the
# kernel but cannot execute guest code yet) before the script starts, is a
# visible SKIP, never a pass; so is qemu-system-x86_64 when not installed.
# --fast (`make test`): skip the boots, visibly, when the kernel has not been
# fetched yet, rather than download it (the native run still runs).  Without --fast (`make test-system`)
# the kernel is fetched if needed and loom-system also boots with -nochain
# and with -one-insn-per-tb.  --timeout: per boot (default 300 s with --fast,
# else 900 s).  --kernel and --initrd: boot these instead of the ones
# scripts/guest-kernel.sh provides (tests/system/boot-selftest.sh uses them).
# Prints PASS/FAIL/SKIP lines and "N passed, N failed, N skipped".
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
fast=0
timeout=
kernel=
initrd=
usage() {
	echo "usage: $0 [--fast] [--timeout SECONDS] [--kernel FILE --initrd FILE] EMULATOR..." >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case $1 in
	--fast) fast=1 ;;
	--timeout)
		[ $# -ge 2 ] && [[ $2 =~ ^[0-9]+$ ]] || usage
		timeout=$2
		shift
		;;
	--kernel | --initrd)
		[ $# -ge 2 ] && [ -r "$2" ] || usage
		[ "$1" = --kernel ] && kernel=$2 || initrd=$2
		shift
		;;
	-*) usage ;;
	*) break ;;
	esac
	shift
done
[ $# -ge 1 ] || usage
[ -n "$kernel" ] && [ -z "$initrd" ] && usage
[ -z "$kernel" ] && [ -n "$initrd" ] && usage
# A debug loom-system with -one-insn-per-tb is the slowest run of the full set.
[ -n "$timeout" ] || timeout=$((fast ? 300 : 900))

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
append="console=ttyS0 quiet panic=-1"

. "$root/tests/system/lib.sh"

# extract LOG: the script's lines between "== begin" and "== end" of a
# console log, with carriage returns, escape sequences and kernel lines
# removed; "== end" is kept so that a cut-off output shows.
extract() {
	tr -d '\r' <"$1" |
		sed -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1b[c]//g' |
		awk '/^== begin$/ { on = 1; next }
			on && /^\[ *[0-9]+\.[0-9]+\] / { next }
			on { print }
			/^== end$/ { on = 0 }'
}

# split OUT DIR: one file per section in DIR, and DIR/.order.
split_sections() {
	mkdir -p "$2"
	awk -v dir="$2" '
		/^== / { name = substr($0, 4); f = dir "/" name; printf "" > f
			print name >> (dir "/.order"); next }
		f != "" { print >> f }' "$1"
	touch "$2/.order"
}

# --- the native run: the oracle -------------------------------------------
bb=/bin/busybox
if [ ! -x "$bb" ]; then
	fail "native run of the guest script (the oracle)" "$bb is missing (apt-get install busybox-static)"
	finish
fi
if ! make -s --no-print-directory -C "$root" system-guest >"$tmp/make.log" 2>&1; then
	fail "native run of the guest script (the oracle)" "make system-guest failed:" \
		"$(tail -n 5 "$tmp/make.log")"
	finish
fi
mkdir -p "$tmp/bb" "$tmp/ntmp"
"$bb" --install -s "$tmp/bb"
env -i PATH="$tmp/bb" GUEST_BIN="$root/build/tests/system/guest" GUEST_TMP="$tmp/ntmp" \
	"$bb" sh "$root/tests/system/guest/run" >"$tmp/native.log" 2>&1
nstatus=$?
extract "$tmp/native.log" >"$tmp/native.out"
if [ $nstatus -ne 0 ] || [ "$(tail -n 1 "$tmp/native.out")" != "== end" ] ||
	grep -q '^BAD ' "$tmp/native.out"; then
	fail "native run of the guest script (the oracle)" \
		"repro: env GUEST_BIN=build/tests/system/guest GUEST_TMP=/tmp/x busybox sh tests/system/guest/run" \
		"exit status $nstatus; last lines:" "$(tail -n 8 "$tmp/native.log")"
	finish
fi
pass "native run of the guest script (the oracle)"
split_sections "$tmp/native.out" "$tmp/native"

# --- the kernel and the initramfs -----------------------------------------
guest=$root/build/guest
if [ -n "$kernel" ]; then
	: # given on the command line
elif [ $fast = 1 ] && [ ! -s "$guest/vmlinuz" ] &&
	! ls "$guest"/deb/linux-image-*.deb >/dev/null 2>&1; then
	skip "boot" "the guest kernel is not fetched yet (scripts/guest-kernel.sh, or make test-system)"
	finish
fi
if [ -z "$kernel" ]; then
	if ! "$root/scripts/guest-kernel.sh" "$guest" >"$tmp/paths" 2>"$tmp/gk.err"; then
		fail "guest kernel and initramfs" "scripts/guest-kernel.sh failed:" \
			"$(tail -n 5 "$tmp/gk.err")"
		finish
	fi
	kernel=$(sed -n 1p "$tmp/paths")
	initrd=$(sed -n 2p "$tmp/paths")
fi

# --- the emulators ----------------------------------------------------------
# boot LABEL LOG CMD...: runs one boot; sets status and secs.
boot() {
	local label=$1 log=$2 t0 t1
	shift 2
	t0=$(date +%s%N)
	timeout -k 10 "$timeout" "$@" -M pc -m 512 -nographic -no-reboot \
		-kernel "$kernel" -initrd "$initrd" -append "$append" </dev/null >"$log" 2>&1
	status=$?
	t1=$(date +%s%N)
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
	echo "    $label: exit status $status after $secs s wall"
}

# last_lines LOG: the console's last lines, cleaned, for a failure report.
last_lines() {
	tr -d '\r' <"$1" | sed -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1b[c]//g' |
		grep -v '^ *$' | tail -n 12
}

# check_run LABEL LOG REPRO: the checks of one boot against the oracle.
# Returns 1 when the script never started (so no output to compare).
check_run() {
	local label=$1 log=$2 repro=$3
	local out=$tmp/$label.out dir=$tmp/$label.sections
	extract "$log" >"$out"
	if ! grep -q '^== begin' <(tr -d '\r' <"$log"); then
		local why="exit status $status"
		[ "$status" -eq 124 ] || [ "$status" -eq 137 ] && why="no script output within the $timeout s timeout"
		fail "$label: boots to the guest script" "repro: $repro" "$why; the console's last lines:" \
			"$(last_lines "$log")"
		return 1
	fi
	pass "$label: boots to the guest script"
	if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
		fail "$label: powers off with exit status 0" "repro: $repro" \
			"hung: still running after the $timeout s timeout; the console's last lines:" \
			"$(last_lines "$log")"
	elif [ "$status" -ne 0 ] || ! grep -q 'loom-guest: poweroff' "$log"; then
		fail "$label: powers off with exit status 0" "repro: $repro" "exit status $status;" \
			"the console's last lines:" "$(last_lines "$log")"
	else
		pass "$label: powers off with exit status 0"
	fi
	if tr -d '\r' <"$log" | grep -qx 'loom-guest: test exit 0'; then
		pass "$label: the guest script exits 0"
	else
		fail "$label: the guest script exits 0" "repro: $repro" \
			"$(tr -d '\r' <"$log" | grep 'loom-guest: test exit' || echo 'no exit line')"
	fi
	split_sections "$out" "$dir"
	local name test
	while read -r name; do
		test="$label: section $name"
		[ "$name" = end ] && test="$label: the output is complete (== end)"
		if [ ! -e "$dir/$name" ]; then
			fail "$test" "repro: $repro" "missing; the script's output ends:" \
				"$(tail -n 5 "$out")"
		elif ! diff -u "$tmp/native/$name" "$dir/$name" >"$tmp/diff"; then
			fail "$test" "repro: $repro" "differs from the native run (- native, + $label):" \
				"$(sed -n '3,20p' "$tmp/diff")"
		else
			pass "$test"
		fi
	done <"$tmp/native/.order"
	while read -r name; do
		grep -qxF "$name" "$tmp/native/.order" ||
			fail "$label: no section the native run lacks" "extra section \"$name\":" \
				"$(head -n 5 "$dir/$name")"
	done <"$dir/.order"
	return 0
}

ran=() # labels whose script output can be compared
for emu in "$@"; do
	label=$(basename "$emu")
	case $label in
	*loom-system*)
		if [ ! -x "$emu" ]; then
			skip "$label" "$emu does not exist yet (make build/debug/loom-system)"
			continue
		fi
		variants=("")
		[ $fast = 1 ] || variants+=(-nochain -one-insn-per-tb)
		for v in "${variants[@]}"; do
			vlabel=$label${v:+ $v}
			flabel=${vlabel// /}
			repro="$emu ${v:+$v }-M pc -m 512 -nographic -no-reboot -kernel $kernel -initrd $initrd -append \"$append\""
			boot "$vlabel" "$tmp/$flabel.log" "$emu" $v
			if [ "$status" -eq 3 ] && ! grep -q '^== begin' <(tr -d '\r' <"$tmp/$flabel.log"); then
				skip "$vlabel" "it cannot execute guest code yet (exit status 3: $(tr -d '\r' <"$tmp/$flabel.log" | grep -v '^ *$' | tail -n 1))"
				break
			fi
			check_run "$flabel" "$tmp/$flabel.log" "$repro" && ran+=("$flabel")
		done
		;;
	*)
		if ! command -v "$emu" >/dev/null 2>&1; then
			skip "$label" "not installed (apt-get install qemu-system-x86)"
			continue
		fi
		repro="$emu -M pc -m 512 -nographic -no-reboot -kernel $kernel -initrd $initrd -append \"$append\""
		boot "$label" "$tmp/$label.log" "$emu"
		check_run "$label" "$tmp/$label.log" "$repro" && ran+=("$label")
		;;
	esac
done

# Emulators against each other: the whole output, the first as reference.
if [ ${#ran[@]} -ge 2 ]; then
	ref=${ran[0]}
	for other in "${ran[@]:1}"; do
		if diff -u "$tmp/$ref.out" "$tmp/$other.out" >"$tmp/diff"; then
			pass "$other prints what $ref prints"
		else
			fail "$other prints what $ref prints" "(- $ref, + $other)" "$(sed -n '3,20p' "$tmp/diff")"
		fi
	done
fi
finish
