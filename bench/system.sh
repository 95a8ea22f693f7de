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
# speed-up; above 1 is faster than qemu), of the best figures, and the
# median and the lowest of the rounds' own ratios: round r boots
# qemu-system, then loom-system (and its variants), so that the two boots
# of a round are minutes apart at most; on a shared machine, whose speed
# moves by a factor of two from one minute to the next, the best figures
# of two series can come from different spells.
# Environment: QEMU (default qemu-system-x86_64; empty: no qemu column), RUNS
# (boots per emulator, the best figure of each row is kept; default 1),
# TIMEOUT (per boot, default 600 s).  Logs go to build/bench/system/.  Never
# part of `make test`.
#
# What instrumentation costs, with the same binary:
#   BENCH_COV=1     adds loom-system boots with -cov FILE (attributed
#                   coverage, drcov);
#   BENCH_PLUGIN=1  adds loom-system boots with the inline per-block counter
#                   bench/plugins/bcount.c (mode=tb: one inline add per
#                   block; built here as bench/plugins.sh builds it).
# The boots alternate (plain, -cov, plugin, plain, ...) so that the load of
# a shared machine falls on all of them alike, and a second table gives
# each its overhead against plain loom-system: by the guest's clock, and by
# the host CPU time (user + system) of the loom-system process, read from
# /proc at each console line, for the whole boot and for each workload
# alone (between the script's "bench-start NAME" and "bench NAME" lines).
# On a loaded machine the guest's clock, which follows the host's, counts
# the time loom-system waited for a CPU; its CPU time does not.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
loomsys=${1:-$root/build/release/loom-system}
[ $# -le 1 ] || {
	echo "usage: $0 [LOOM_SYSTEM]" >&2
	exit 2
}
qemu=${QEMU-qemu-system-x86_64}
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
declare -A rv  # rv[runner:row:round] = seconds in that round
round=0
cpu_rows=(cpu-boot-to-script cpu-total cpu-shell-loop-20000 cpu-md5sum-20M cpu-gzip-6-20M)
label[cpu-boot-to-script]="host CPU, start to the script's first line"
label[cpu-total]="host CPU, whole boot to exit"
label[cpu-shell-loop-20000]="host CPU, busybox sh loop"
label[cpu-md5sum-20M]="host CPU, md5sum of 20 MB"
label[cpu-gzip-6-20M]="host CPU, gzip -6 of 20 MB"
notes=()

# keep RUNNER ROW SECONDS: remembers the smaller figure.
keep() {
	local k=$1:$2
	rv[$k:$round]=$3
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
	round=$r
	env -i PATH="$out/bb" GUEST_BIN="$root/build/tests/system/guest" GUEST_TMP="$out/ntmp" \
		GUEST_MODE=bench "$bb" sh "$root/tests/system/guest/run" >"$out/native.$r.log" 2>&1
	parse native "$out/native.$r.log"
done
unset 'val[native:uptime-at-script]' # the host's uptime means nothing here

# --- the emulators ------------------------------------------------------------
# cpu_of PID: the process's user + system CPU time so far, in clock ticks
# (empty when it is gone).
cpu_of() {
	local stat f
	read -r stat 2>/dev/null <"/proc/$1/stat" || return 0
	f=(${stat##*) })
	echo $((f[11] + f[12]))
}

# boot RUNNER LOG CMD...: one boot, the console copied to LOG line by line,
# the host time of the "== begin" line noted as it arrives, and the
# emulator's CPU time at each line (LOG.times: host time, CPU ticks, line).
boot() {
	local runner=$1 log=$2 t0 tb="" t1 line status tpid="" pid="" cpu="" cb="" cs="" hz
	local -A start=()
	hz=$(getconf CLK_TCK)
	shift 2
	t0=$EPOCHREALTIME
	while IFS= read -r line; do
		line=${line%$'\r'}
		if [[ $line == "bench-pid "* ]]; then
			tpid=${line#bench-pid }
			continue
		fi
		if [ -z "$pid" ] && [ -n "$tpid" ]; then
			# timeout's child is the emulator (forked by the time it
			# prints its first line)
			pid=$(cat "/proc/$tpid/task/$tpid/children" 2>/dev/null)
			pid=${pid%% *}
		fi
		[ -n "$pid" ] && cs=$(cpu_of "$pid") && [ -n "$cs" ] && cpu=$cs
		if [ -z "$tb" ] && [[ $line == *"== begin"* ]]; then
			tb=$EPOCHREALTIME
			cb=$cpu
		fi
		if [[ $line =~ ^bench-start\ ([A-Za-z0-9-]+)$ ]]; then
			start[${BASH_REMATCH[1]}]=$cpu
		elif [[ $line =~ ^bench\ ([A-Za-z0-9-]+)\ [0-9.]+$ ]] && [ -n "${start[${BASH_REMATCH[1]}]:-}" ] && [ -n "$cpu" ]; then
			keep "$runner" "cpu-${BASH_REMATCH[1]}" \
				"$(awk -v a="${start[${BASH_REMATCH[1]}]}" -v b="$cpu" -v hz="$hz" 'BEGIN { printf "%.2f", (b - a) / hz }')"
		fi
		printf '%s\n' "$line" >>"$log"
		printf '%s %s %s\n' "$EPOCHREALTIME" "${cpu:--}" "$line" >>"$log.times"
	done < <(timeout -k 10 "$tmo" "$@" -M pc -m 512 -nographic -no-reboot \
		-kernel "$kernel" -initrd "$initrd" -append "$append" </dev/null 2>&1 &
		echo "bench-pid $!"
		wait $!
		echo "bench-exit-status $?")
	t1=$EPOCHREALTIME
	status=$(sed -n 's/^bench-exit-status //p' "$log")
	boot_status=$status
	if [ "$status" != 0 ] || [ -z "$tb" ] || ! grep -q '^== end' "$log"; then
		return 1
	fi
	keep "$runner" boot-to-script "$(awk -v a="$t0" -v b="$tb" 'BEGIN { printf "%.2f", b - a }')"
	keep "$runner" total-wall "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')"
	if [ -n "$cb" ] && [ -n "$cpu" ]; then
		keep "$runner" cpu-boot-to-script "$(awk -v a="$cb" -v hz="$hz" 'BEGIN { printf "%.2f", a / hz }')"
		keep "$runner" cpu-total "$(awk -v a="$cpu" -v hz="$hz" 'BEGIN { printf "%.2f", a / hz }')"
	fi
	parse "$runner" "$log"
}

run_qemu=0
if [ -z "$qemu" ]; then
	notes+=("qemu-system-x86_64: not run (QEMU is empty)")
elif command -v "$qemu" >/dev/null 2>&1; then
	run_qemu=1
else
	notes+=("qemu-system-x86_64: not installed ($qemu)")
fi

# The loom-system variants: plain, and with the instrumentation asked for.
variants=(loom)
declare -A vargs=([loom]="")
declare -A vname=([loom]="loom-system")
if [ "${BENCH_COV:-0}" = 1 ]; then
	variants+=(cov)
	vargs[cov]="-cov $out/cov.drcov"
	vname[cov]="-cov"
fi
if [ "${BENCH_PLUGIN:-0}" = 1 ]; then
	# the benchmark plugin, built as bench/plugins.sh builds it
	if gcc -O2 -fPIC -shared -fvisibility=hidden -I"$root/include" $(pkg-config --cflags glib-2.0) \
		-o "$out/bcount.so" "$root/bench/plugins/bcount.c"; then
		variants+=(plugin)
		vargs[plugin]="-plugin $out/bcount.so,mode=tb"
		vname[plugin]="bcount mode=tb"
	else
		notes+=("bcount: the plugin did not build")
	fi
fi
# Round r boots qemu-system once, then each loom-system variant once, so
# that a slow spell of a shared machine falls on both emulators alike.
[ -x "$loomsys" ] || notes+=("loom-system: $loomsys does not exist (make MODE=release build/release/loom-system)")
loom_ok=1
for ((r = 1; r <= runs; r++)); do
	round=$r
	if [ $run_qemu = 1 ] && ! boot qemu "$out/qemu.$r.log" "$qemu"; then
		notes+=("qemu-system-x86_64: run $r failed (exit status $boot_status; $out/qemu.$r.log)")
	fi
	if [ -x "$loomsys" ] && [ $loom_ok = 1 ]; then
		for v in "${variants[@]}"; do
			# shellcheck disable=SC2086 # vargs are words
			if ! boot "$v" "$out/$v.$r.log" "$loomsys" ${vargs[$v]}; then
				if [ "$boot_status" = 3 ]; then
					notes+=("loom-system: cannot execute guest code yet (exit status 3: $(grep -v '^bench-exit' "$out/$v.$r.log" | tail -n 1))")
					loom_ok=0
					break
				fi
				notes+=("loom-system ${vargs[$v]}: run $r failed (exit status $boot_status; $out/$v.$r.log)")
			fi
		done
	fi
done

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
# round_ratios ROW: qemu ÷ loom-system of each round both finished, the
# median of them and the lowest (a round's two boots ran minutes apart at
# most, so a slow spell of the machine weighs less than in the best-of
# figures' ratio).
round_ratios() {
	local r q l list=
	for ((r = 1; r <= runs; r++)); do
		q=${rv[qemu:$1:$r]:-} l=${rv[loom:$1:$r]:-}
		[ -n "$q" ] && [ -n "$l" ] && list+="$q $l "
	done
	[ -n "$list" ] || {
		printf 'n/a | n/a'
		return
	}
	echo "$list" | awk '{ n = 0; for (i = 1; i < NF; i += 2) if ($(i + 1) > 0) x[n++] = $i / $(i + 1)
		for (i = 0; i < n; i++) for (j = i + 1; j < n; j++) if (x[j] < x[i]) { t = x[i]; x[i] = x[j]; x[j] = t }
		m = n % 2 ? x[(n - 1) / 2] : (x[n / 2 - 1] + x[n / 2]) / 2
		printf "%.1f | %.1f", m, x[0] }'
}
echo "| workload | native | qemu-system | loom-system | qemu ÷ native | loom-system ÷ native | qemu ÷ loom-system | same round: median | same round: lowest |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for row in "${rows[@]}"; do
	n=${val[native:$row]:-} q=${val[qemu:$row]:-} l=${val[loom:$row]:-}
	echo "| ${label[$row]} | $(fmt "$n") | $(fmt "$q") | $(fmt "$l") | $(ratio "$q" "$n") | $(ratio "$l" "$n") | $(ratio "$q" "$l") | $(round_ratios "$row") |"
done
if [ ${#variants[@]} -gt 1 ]; then
	# overhead: +N% of the variant against plain loom-system
	pct() {
		if [ -n "${1:-}" ] && [ -n "${2:-}" ]; then
			awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%+.0f%%", (a / b - 1) * 100; else printf "n/a" }'
		else
			printf 'n/a'
		fi
	}
	echo
	head="| workload | loom-system |" sep="| --- | ---: |"
	for v in "${variants[@]:1}"; do
		head+=" ${vname[$v]} | overhead |"
		sep+=" ---: | ---: |"
	done
	echo "$head"
	echo "$sep"
	for row in uptime-at-script shell-loop-20000 md5sum-20M gzip-6-20M "${cpu_rows[@]}"; do
		line="| ${label[$row]} | $(fmt "${val[loom:$row]:-}") |"
		for v in "${variants[@]:1}"; do
			line+=" $(fmt "${val[$v:$row]:-}") | $(pct "${val[$v:$row]:-}" "${val[loom:$row]:-}") |"
		done
		echo "$line"
	done
fi
[ ${#notes[@]} -gt 0 ] && echo
for n in "${notes[@]}"; do
	echo "- $n"
done
exit 0
