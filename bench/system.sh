#!/usr/bin/env bash
# Times whole-system boots and guest workloads under qemu-system-x86_64 (TCG)
# and loom-system in the same run, and prints a markdown table with ratios.
#
#   bench/system.sh [LOOM_SYSTEM]      (default: build/release/loom-system)
#
# Both boot build/guest/vmlinuz and build/guest/initrd.img (fetched and built
# by scripts/guest-kernel.sh, which this runs) with the arguments of the boot
# test, plus loom.bench=1 on the kernel's command line:
#   -M pc -m 512 -nographic -no-reboot -kernel K -initrd I
#   -append "console=ttyS0 quiet panic=-1 loom.bench=1"
# which makes the guest script (tests/system/guest/run) print the guest's
# uptime when it starts and time, by the guest's own clock (timeit), a
# 20,000-iteration busybox shell loop, md5sum of 20 MB and gzip -6 of 20 MB.
# The host measures the wall time from the emulator's start to the script's
# first line ("== begin") and to the emulator's exit after poweroff (LOG.times
# has the host time each console line arrived, to cross-check the guest's
# clock).  The
# same script also runs natively (same busybox, same programs) for a native
# column.  An emulator that is missing, fails, or (loom-system) cannot
# execute guest code yet (exit status 3) reads "n/a", with the reason below
# the table.  Ratios: emulator ÷ native, and qemu ÷ loom-system (loom-system's
# speed-up; above 1 is faster than qemu).
# Environment: QEMU (default qemu-system-x86_64), RUNS (boots per emulator,
# the best figure of each row is kept; default 1), TIMEOUT (per boot,
# default 600 s).  Logs go to build/bench/system/.  Never part of `make test`.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
loomsys=${1:-$root/build/release/loom-system}
[ $# -le 1 ] || {
	echo "usage: $0 [LOOM_SYSTEM]" >&2
	exit 2
}
qemu=${QEMU:-qemu-system-x86_64}
runs=${RUNS:-1}
tmo=${TIMEOUT:-600}
out=$root/build/bench/system
rm -rf "$out"
mkdir -p "$out"
append="console=ttyS0 quiet panic=-1 loom.bench=1"

paths=$("$root/scripts/guest-kernel.sh") || {
	echo "bench/system: scripts/guest-kernel.sh failed" >&2
	exit 1
}
kernel=$(echo "$paths" | sed -n 1p)
initrd=$(echo "$paths" | sed -n 2p)

rows=(boot-to-script uptime-at-script total-wall shell-loop-20000 md5sum-20M gzip-6-20M)
declare -A label=(
	[boot-to-script]="start to the script's first line (host wall)"
	[uptime-at-script]="guest uptime when the script starts"
	[total-wall]="start to exit after poweroff (host wall)"
	[shell-loop-20000]="busybox sh loop, 20,000 iterations (in guest)"
	[md5sum-20M]="md5sum of 20 MB (in guest)"
	[gzip-6-20M]="gzip -6 of 20 MB (in guest)"
)
declare -A val # val[runner:row] = seconds (the best of the runs)
notes=()

# keep RUNNER ROW SECONDS: remembers the smaller figure.
keep() {
	local k=$1:$2
	if [ -z "${val[$k]:-}" ] || awk -v a="$3" -v b="${val[$k]}" 'BEGIN { exit !(a < b) }'; then
		val[$k]=$3
	fi
}

# parse RUNNER LOG: the "bench NAME SECONDS" lines the script printed.
parse() {
	local name secs
	while read -r _ name secs; do
		case $name in uptime) name=uptime-at-script ;; esac
		keep "$1" "$name" "$secs"
	done < <(tr -d '\r' <"$2" | grep -E '^bench [A-Za-z0-9-]+ [0-9.]+$')
}

# --- native ---------------------------------------------------------------
bb=/bin/busybox
mkdir -p "$out/bb" "$out/ntmp"
"$bb" --install -s "$out/bb"
for ((r = 1; r <= runs; r++)); do
	env -i PATH="$out/bb" GUEST_BIN="$root/build/tests/system/guest" GUEST_TMP="$out/ntmp" \
		GUEST_MODE=bench "$bb" sh "$root/tests/system/guest/run" >"$out/native.$r.log" 2>&1
	parse native "$out/native.$r.log"
done
unset 'val[native:uptime-at-script]' # the host's uptime means nothing here

# --- the emulators ------------------------------------------------------------
# boot RUNNER LOG CMD...: one boot, the console copied to LOG line by line,
# the host time of the "== begin" line noted as it arrives.
boot() {
	local runner=$1 log=$2 t0 tb="" t1 line status
	shift 2
	t0=$EPOCHREALTIME
	while IFS= read -r line; do
		line=${line%$'\r'}
		[ -z "$tb" ] && [[ $line == *"== begin"* ]] && tb=$EPOCHREALTIME
		printf '%s\n' "$line" >>"$log"
		printf '%s %s\n' "$EPOCHREALTIME" "$line" >>"$log.times"
	done < <(timeout -k 10 "$tmo" "$@" -M pc -m 512 -nographic -no-reboot \
		-kernel "$kernel" -initrd "$initrd" -append "$append" </dev/null 2>&1
		echo "bench-exit-status $?")
	t1=$EPOCHREALTIME
	status=$(sed -n 's/^bench-exit-status //p' "$log")
	boot_status=$status
	if [ "$status" != 0 ] || [ -z "$tb" ] || ! grep -q '^== end' "$log"; then
		return 1
	fi
	keep "$runner" boot-to-script "$(awk -v a="$t0" -v b="$tb" 'BEGIN { printf "%.2f", b - a }')"
	keep "$runner" total-wall "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')"
	parse "$runner" "$log"
}

if command -v "$qemu" >/dev/null 2>&1; then
	for ((r = 1; r <= runs; r++)); do
		boot qemu "$out/qemu.$r.log" "$qemu" ||
			notes+=("qemu-system-x86_64: run $r failed (exit status $boot_status; $out/qemu.$r.log)")
	done
else
	notes+=("qemu-system-x86_64: not installed ($qemu)")
fi
if [ -x "$loomsys" ]; then
	for ((r = 1; r <= runs; r++)); do
		if ! boot loom "$out/loom.$r.log" "$loomsys"; then
			if [ "$boot_status" = 3 ]; then
				notes+=("loom-system: cannot execute guest code yet (exit status 3: $(grep -v '^bench-exit' "$out/loom.$r.log" | tail -n 1))")
				break
			fi
			notes+=("loom-system: run $r failed (exit status $boot_status; $out/loom.$r.log)")
		fi
	done
else
	notes+=("loom-system: $loomsys does not exist (make MODE=release build/release/loom-system)")
fi

# --- the table --------------------------------------------------------------
fmt() { [ -n "${1:-}" ] && printf '%s' "$1" || printf 'n/a'; }
ratio() {
	if [ -n "${1:-}" ] && [ -n "${2:-}" ]; then
		awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else printf "n/a" }'
	else
		printf 'n/a'
	fi
}
echo "Whole-system benchmark, $(date -u +%Y-%m-%d) on $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "Kernel $(cat "$root/build/guest/vmlinuz.from" 2>/dev/null | sed 's/_amd64.deb//'), -M pc -m 512; seconds, best of $runs; qemu-system-x86_64 $("$qemu" --version 2>/dev/null | sed -n '1s/.*version \([^ ]*\).*/\1/p') with TCG"
echo
echo "| workload | native | qemu-system | loom-system | qemu ÷ native | loom-system ÷ native | qemu ÷ loom-system |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
for row in "${rows[@]}"; do
	n=${val[native:$row]:-} q=${val[qemu:$row]:-} l=${val[loom:$row]:-}
	echo "| ${label[$row]} | $(fmt "$n") | $(fmt "$q") | $(fmt "$l") | $(ratio "$q" "$n") | $(ratio "$l" "$n") | $(ratio "$q" "$l") |"
done
[ ${#notes[@]} -gt 0 ] && echo
for n in "${notes[@]}"; do
	echo "- $n"
done
exit 0
