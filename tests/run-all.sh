#!/usr/bin/env bash
# The suite driver behind `make test`.
#
#   tests/run-all.sh BUILDDIR [unit|guest|busybox|debian|debian-all|cpython|strace|elf|isa|isa-random|plugins|cov|instrument|afl|system|sysboot|sysboot-self|sysboot-all|all|programs]
#
# Runs the chosen subsuites against BUILDDIR/loom (all: every subsuite but
# debian-all and cpython, which are slow; programs: busybox, debian-all and
# cpython, what `make test-programs` runs):
#   unit     every test binary in BUILDDIR/unit/ (each ends "N passed, N failed"),
#            and tests/unit/layers.sh: no include crosses the layers the wrong way
#   guest    tests/guest/run.sh: guest programs, native vs loom in three modes
#   busybox  tests/programs/busybox.sh: busybox applets, native vs loom
#   debian   tests/programs/debian.sh --fast: Debian's dynamic programs, native
#            vs loom, without the cases marked slow
#   debian-all  tests/programs/debian.sh: every case
#   cpython  tests/programs/cpython.sh: a selection of CPython's regression
#            tests, pass/fail per test natively and under loom
#   strace   tests/programs/strace.sh: loom -strace against strace(1)
#   elf      tests/elf/run.sh, if present and executable
#   isa      tests/isa/run.sh --fast: generated instruction tests, native vs loom
#   isa-random  tests/isa/random.sh: a fixed sample of 3,000 random instruction
#            streams, native vs loom in three modes (make test-isa-random N=...
#            runs more)
#   plugins  tests/plugins/run.sh: bundled plugins on the guest programs, exact
#            counts, API conformance, plugin loading and its errors
#   cov      tests/cov/run.sh: coverage files and BUILDDIR/loom-cov
#   instrument  tests/instrument/run.sh: coverage recording, the control channel
#   afl      tests/afl/run.sh: loom as AFL++'s QEMU-mode target (fork server,
#            persistent mode, CMPLOG, afl-showmap/-fuzz/-tmin/-cmin)
#   system   tests/system/run.sh: BUILDDIR/loom-system's command line, bad
#            kernels and initrds, the bare-metal image under qemu-system
#            and loom-system's instrumentation (tests/system/instrument.sh),
#            plugins (tests/system/plugins.sh: hwaddr, vCPU callbacks,
#            plugin enable/disable), introspection and attributed coverage
#            (tests/system/osi.sh)
#   sysboot  tests/system/boot.sh --fast: Debian's kernel booted under
#            qemu-system-x86_64 and BUILDDIR/loom-system, the guest script's
#            output compared with its native run (skipped, visibly, when
#            the kernel has not been fetched: `make test` fetches it); and
#            tests/system/virtio.sh --fast: virtio-blk and virtio-net
#            (-drive, -nic user,hostfwd=...) under both; and
#            tests/system/workflow.sh: differential coverage of an HTTP
#            server in the guest, idle against serving requests
#   sysboot-self  tests/system/boot-selftest.sh: boot.sh against fake
#            emulators, that it fails what it must (no kernel needed)
#   sysboot-all  the same as sysboot without --fast (what `make test-system` runs):
#            fetches the kernel, and boots loom-system with -nochain and
#            -one-insn-per-tb too (virtio.sh: the same boots as --fast)
# Each subsuite's full output goes to BUILDDIR/test-logs/<suite>.log; this
# prints one line per failing test (with how to reproduce it), a summary per
# subsuite, and last the totals as "N passed, N failed".  A subsuite that
# crashes or prints no count line counts as one failure.  Exit status is
# non-zero iff anything failed.
set -uo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: $0 BUILDDIR [unit|guest|busybox|debian|debian-all|cpython|strace|elf|isa|isa-random|plugins|cov|instrument|afl|system|sysboot|sysboot-self|sysboot-all|all|programs]" >&2
	exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
builddir=$(cd "$1" 2>/dev/null && pwd) || {
	echo "$0: no build directory $1" >&2
	echo "0 passed, 1 failed"
	exit 1
}
subset=${2:-all}
case $subset in
unit | guest | busybox | debian | debian-all | cpython | strace | elf | isa | isa-random | plugins | cov | instrument | afl | system | sysboot | sysboot-self | sysboot-all | all | programs) ;;
*)
	echo "$0: unknown subset '$subset' (unit, guest, busybox, debian, debian-all, cpython, strace, elf, isa, isa-random, plugins, cov, instrument, afl, system, sysboot, sysboot-self, sysboot-all, all or programs)" >&2
	exit 2
	;;
esac
loom=$builddir/loom
logs=$builddir/test-logs
mkdir -p "$logs"

total_passed=0
total_failed=0

# count_line FILE: prints "P F" from the last "N passed, N failed" line (one
# word and a colon may precede it, ", N skipped" may follow), or nothing.
count_line() {
	grep -aE '^([A-Za-z_-]+: )?[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$' "$1" |
		tail -n 1 | sed -E 's/^([A-Za-z_-]+: )?([0-9]+) passed, ([0-9]+) failed.*/\2 \3/'
}

# add SUITE PASSED FAILED: adds to the totals and prints the summary line.
add() {
	total_passed=$((total_passed + $2))
	total_failed=$((total_failed + $3))
	printf '%-11s %d passed, %d failed\n' "$1:" "$2" "$3"
}

# run_suite SUITE REPRO CMD...: runs a driver that prints PASS/FAIL lines and
# a final count; shows its FAIL lines (and their indented details, briefly)
# and its SKIP lines.
run_suite() {
	local suite=$1 repro=$2
	shift 2
	local log=$logs/$suite.log status counts
	"$@" >"$log" 2>&1
	status=$?
	# FAIL lines with the first lines of their details and the repro line.
	awk -v suite="$suite" '
		/^FAIL / { print "  " suite ": " substr($0, 6); n = 0; show = 1; next }
		/^SKIP / { print "  " suite ": " $0; show = 0; next }
		/^    repro: / && show { print "  " $0; next }
		/^    / && show { if (n++ < 5) print "  " $0; next }
		{ show = 0 }
	' "$log"
	counts=$(count_line "$log")
	if [ -z "$counts" ]; then
		echo "  $suite: the driver printed no count line (exit status $status); see $log"
		echo "  $suite: reproduce with: $repro"
		add "$suite" 0 1
		return
	fi
	local p f
	read -r p f <<<"$counts"
	if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "  $suite: the driver exited with status $status but reported no failure; see $log"
		f=1
	fi
	[ "$f" -gt 0 ] && echo "  $suite: full log in $log; rerun with: $repro"
	add "$suite" "$p" "$f"
}

run_unit() {
	local log=$logs/unit.log p=0 f=0 bin counts status
	: >"$log"
	local bins=("$builddir"/unit/test_*)
	if [ ! -e "${bins[0]}" ]; then
		echo "  unit: no unit test binaries in $builddir/unit (run: make test)"
		add unit 0 1
		return
	fi
	# and the layer rule (scripts/check-layers.sh, tested both ways)
	bins+=("$root/tests/unit/layers.sh")
	for bin in "${bins[@]}"; do
		[ -x "$bin" ] || continue
		local out
		out=$logs/unit.$(basename "$bin").out
		# The outer subshell keeps bash's "Segmentation fault" notice quiet.
		( (cd "$root" && timeout -k 5 300 "$bin") >"$out" 2>&1; echo $? >"$out.status") 2>/dev/null
		status=$(cat "$out.status")
		{
			echo "== $bin (exit $status)"
			cat "$out"
		} >>"$log"
		counts=$(tail -n 1 "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$' |
			sed -E 's/([0-9]+) passed, ([0-9]+) failed(, ([0-9]+) skipped)?/\1 \2 \4/')
		if [ -z "$counts" ]; then
			echo "  unit: $(basename "$bin") crashed or printed no count (exit status $status); reproduce: $bin"
			tail -n 3 "$out" | sed 's/^/    /'
			f=$((f + 1))
			rm -f "$out" "$out.status"
			continue
		fi
		local up uf us
		read -r up uf us <<<"$counts"
		p=$((p + up))
		# Skipped checks count as neither passed nor failed, visibly
		if [ -n "$us" ] && [ "$us" -gt 0 ]; then
			echo "  unit: $(basename "$bin"): $us skipped"
			grep -a '^SKIP ' "$out" | sed 's/^/    /'
		fi
		if [ "$uf" -gt 0 ] || [ "$status" -ne 0 ]; then
			f=$((f + (uf > 0 ? uf : 1)))
			echo "  unit: $(basename "$bin"): $uf failed (exit status $status); reproduce: $bin"
			grep -a 'CHECK.*failed' "$out" | head -n 5 | sed 's/^/    /'
		fi
		rm -f "$out" "$out.status"
	done
	add unit "$p" "$f"
}

# want SUITE: whether SUITE is part of the chosen subset.
want() {
	case $subset:$1 in
	"$1":* | all:unit | all:guest | all:busybox | all:debian | all:strace | all:elf | all:isa | all:isa-random | \
		all:plugins | all:cov | all:instrument | all:afl | all:system | all:sysboot | all:sysboot-self) return 0 ;;
	programs:busybox | programs:debian-all | programs:cpython) return 0 ;;
	esac
	return 1
}

if want guest || want busybox || want debian || want debian-all || want cpython || want strace || want elf || want plugins; then
	[ -x "$loom" ] || echo "note: $loom does not exist or is not executable: its tests will fail"
fi

want unit && run_unit
want guest && run_suite guest "tests/guest/run.sh $loom [NAME...]" \
	"$root/tests/guest/run.sh" "$loom"
want busybox && run_suite busybox "tests/programs/busybox.sh $loom [NAME...]" \
	"$root/tests/programs/busybox.sh" "$loom"
want debian && run_suite debian "tests/programs/debian.sh --fast $loom [NAME...]" \
	"$root/tests/programs/debian.sh" --fast "$loom"
want debian-all && run_suite debian-all "tests/programs/debian.sh $loom [NAME...]" \
	"$root/tests/programs/debian.sh" "$loom"
want cpython && run_suite cpython "tests/programs/cpython.sh $loom [TEST...]" \
	"$root/tests/programs/cpython.sh" "$loom"
want strace && run_suite strace "tests/programs/strace.sh $loom" \
	"$root/tests/programs/strace.sh" "$loom"
if want elf; then
	if [ -x "$root/tests/elf/run.sh" ]; then
		run_suite elf "tests/elf/run.sh $loom" "$root/tests/elf/run.sh" "$loom"
	elif [ "$subset" = elf ]; then
		echo "  elf: tests/elf/run.sh is missing or not executable"
		add elf 0 1
	else
		echo "note: tests/elf/run.sh not present yet; elf subsuite not run"
	fi
fi

want isa && run_suite isa "tests/isa/run.sh $loom --fast" \
	"$root/tests/isa/run.sh" "$loom" --fast
want isa-random && run_suite isa-random "tests/isa/random.sh $loom --streams 3000" \
	"$root/tests/isa/random.sh" "$loom" --streams 3000
want cov && run_suite cov "tests/cov/run.sh $builddir" \
	"$root/tests/cov/run.sh" "$builddir"
want instrument && run_suite instrument "tests/instrument/run.sh $builddir" \
	"$root/tests/instrument/run.sh" "$builddir"

want plugins && run_suite plugins "tests/plugins/run.sh $loom [PREFIX...]" \
	"$root/tests/plugins/run.sh" "$loom"
want afl && run_suite afl "tests/afl/run.sh $loom [NAME...]" "$root/tests/afl/run.sh" "$loom"
want system && run_suite system "tests/system/run.sh $builddir" \
	"$root/tests/system/run.sh" "$builddir"
want system && run_suite system-instrument "tests/system/instrument.sh $builddir" \
	"$root/tests/system/instrument.sh" "$builddir"
want system && run_suite system-plugins "tests/system/plugins.sh $builddir" \
	"$root/tests/system/plugins.sh" "$builddir"
want system && run_suite system-osi "tests/system/osi.sh $builddir" \
	"$root/tests/system/osi.sh" "$builddir"
want sysboot && run_suite sysboot "tests/system/boot.sh --fast qemu-system-x86_64 $builddir/loom-system" \
	"$root/tests/system/boot.sh" --fast qemu-system-x86_64 "$builddir/loom-system"
want sysboot && run_suite sysboot-virtio "tests/system/virtio.sh --fast qemu-system-x86_64 $builddir/loom-system" \
	"$root/tests/system/virtio.sh" --fast qemu-system-x86_64 "$builddir/loom-system"
want sysboot && run_suite sysboot-workflow "tests/system/workflow.sh $builddir" \
	"$root/tests/system/workflow.sh" "$builddir"
want sysboot-self && run_suite sysboot-self "tests/system/boot-selftest.sh" \
	"$root/tests/system/boot-selftest.sh"
want sysboot-all && run_suite sysboot-all "tests/system/boot.sh qemu-system-x86_64 $builddir/loom-system" \
	"$root/tests/system/boot.sh" qemu-system-x86_64 "$builddir/loom-system"
want sysboot-all && run_suite sysboot-all-virtio "tests/system/virtio.sh qemu-system-x86_64 $builddir/loom-system" \
	"$root/tests/system/virtio.sh" qemu-system-x86_64 "$builddir/loom-system"
want sysboot-all && run_suite sysboot-all-workflow "tests/system/workflow.sh $builddir" \
	"$root/tests/system/workflow.sh" "$builddir"

echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
