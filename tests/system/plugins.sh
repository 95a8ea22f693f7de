#!/usr/bin/env bash
# Plugins in whole-system mode (part of the `system` subsuite):
#
#   tests/system/plugins.sh BUILDDIR
#
# 1. The bare-metal image (build/tests/system/baremetal.bin, make baremetal)
#    under tests/plugins/syshw.c, in the three translation modes.  The
#    expectations are the image's own (tests/system/baremetal/probes.asm):
#    its page tables map the virtual page 0x1a4000 to the physical page
#    0x1a6000, so the accesses to 0x1a4018 are RAM at 0x1a6018; they map
#    0x1a5000 to the local APIC at 0xfee00000, so its register accesses are
#    I/O at 0xfee00xxx (the device: lapic) -- seven of them in the image, and
#    no other MMIO access anywhere; translate_vaddr agrees with get_hwaddr;
#    the stored value reads back by physical address; a read of the APIC's
#    page by physical address is refused (ACCESS_DENIED), one past RAM is
#    INVALID_ADDRESS, and a write/read round trip in RAM works; one vCPU
#    init and one exit; the image's `sti; hlt` waiting for its APIC timer
#    makes the vCPU idle and resume (at least once each: the image has one
#    hlt before its power-off, a resume only follows a sleep).
# 2. `plugin list|enable|disable` on the control socket (loom-ctl) and on the
#    HMP monitor (a unix socket) against a guest spinning in one block
#    (tests/system/craft.py spin), with tests/plugins/tcount.c counting
#    blocks inline and reporting its count at every code-cache flush:
#    disabling flushes with a count > 0, the count stays the same while the
#    plugin is off (the flush that enabling causes reports the same number),
#    and it grows again once enabled.  A plugin name that is not loaded is an
#    error on both.
# Prints PASS/FAIL/SKIP lines and "N passed, N failed, N skipped".
set -uo pipefail

if [ $# -ne 1 ]; then
	echo "usage: $0 BUILDDIR" >&2
	exit 2
fi
root=$(cd "$(dirname "$0")/../.." && pwd)
builddir=$(cd "$1" && pwd)
bin=$builddir/loom-system
ctl=$builddir/loom-ctl
image=$root/build/tests/system/baremetal.bin
tpdir=$root/build/tests/plugins
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

passed=0 failed=0 skipped=0
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() {
	echo "FAIL $1"
	shift
	for l in "$@"; do echo "    $l"; done
	failed=$((failed + 1))
}
skip() { echo "SKIP $1: $2"; skipped=$((skipped + 1)); }

# want NAME FILE REGEX: a line of FILE matches REGEX.
want() {
	if grep -qE "$3" "$2"; then
		pass "$1"
	else
		fail "$1" "no line matching /$3/ in:" "$(grep '^syshw' "$2" | head -n 8)"
	fi
}

# --- 1. hwaddr, translate_vaddr, hwaddr operations, vCPU callbacks ----------------
if [ ! -f "$image" ] || [ ! -f "$tpdir/libsyshw.so" ]; then
	fail syshw-built "no $image or $tpdir/libsyshw.so (make baremetal plugin-tests)"
else
	for mode in default -one-insn-per-tb -nochain; do
		opt=$mode
		[ "$mode" = default ] && opt=
		log=$tmp/syshw$mode.log
		timeout -k 5 60 "$bin" -kernel "$image" -m 64 -nographic -no-reboot $opt \
			-plugin "$tpdir/libsyshw.so" -d plugin -D "$log" </dev/null \
			>"$tmp/syshw$mode.out" 2>&1
		status=$?
		if [ "$status" -ne 0 ] || ! grep -q '^syshw: accesses' "$log"; then
			fail "syshw-run $mode" "exit status $status" "$(tail -n 3 "$tmp/syshw$mode.out")"
			continue
		fi
		pass "syshw-run $mode"
		want "hwaddr-alias-load $mode" "$log" \
			'^syshw: alias load va=0x1a4018 pa=0x1a6018 io=0 dev=RAM xlate=0x1a6018$'
		want "hwaddr-alias-store $mode" "$log" \
			'^syshw: alias store va=0x1a4018 pa=0x1a6018 io=0 dev=RAM xlate=0x1a6018 readback=1$'
		want "hwaddr-apic-load $mode" "$log" \
			'^syshw: apic load va=0x1a5030 pa=0xfee00030 io=1 dev=lapic xlate=0xfee00030$'
		want "hwaddr-apic-store $mode" "$log" \
			'^syshw: apic store va=0x1a50f0 pa=0xfee000f0 io=1 dev=lapic xlate=0xfee000f0$'
		# enum qemu_plugin_hwaddr_operation_result: OK 0, ACCESS_DENIED 3,
		# INVALID_ADDRESS 4
		want "hwaddr-ops $mode" "$log" '^syshw: ops mmio=3 range=4 write=0 read=0 same=1$'
		want "hwaddr-io-count $mode" "$log" '^syshw: accesses [1-9][0-9]* io 7 nohwaddr 0$'
		want "vcpu-lifecycle $mode" "$log" \
			'^syshw: vcpu init 1 exit 1 idle [1-9][0-9]* resume [1-9][0-9]*$'
	done
fi

# --- 2. plugin list / enable / disable ------------------------------------------------
# flushes LOG: tcount's flush counts, space-separated; exitcount LOG: its last.
flushes() { sed -n 's/^tcount: flush \([0-9]*\)$/\1/p' "$1" | tr '\n' ' '; }
exitcount() { sed -n 's/^tcount: exit \([0-9]*\)$/\1/p' "$1"; }
# check_toggle NAME LOG: the last two flushes (disable, then enable) report
# the same count > 0, and the exit count is larger.
check_toggle() {
	local f n a b e
	f=$(flushes "$2")
	n=$(echo "$f" | wc -w)
	e=$(exitcount "$2")
	if [ "$n" -lt 2 ] || [ -z "$e" ]; then
		fail "$1" "flush counts '$f', exit count '$e' (want two flushes and an exit)"
		return
	fi
	a=$(echo "$f" | awk '{print $(NF-1)}')
	b=$(echo "$f" | awk '{print $NF}')
	if [ "$a" -gt 0 ] && [ "$a" -eq "$b" ] && [ "$e" -gt "$b" ]; then
		pass "$1 (counted $a, still $b while off, then $e)"
	else
		fail "$1" "at disable $a, at enable $b, at exit $e" \
			"(want disable > 0, enable = disable, exit > enable)"
	fi
}

python3 "$root/tests/system/craft.py" spin "$tmp/spin.img"
if [ ! -f "$tpdir/libtcount.so" ]; then
	fail tcount-built "no $tpdir/libtcount.so (make plugin-tests)"
elif [ ! -x "$ctl" ]; then
	fail control-built "no $ctl (make loom-ctl)"
else
	sock=$tmp/ctl.sock
	log=$tmp/ctl.log
	"$bin" -kernel "$tmp/spin.img" -m 64 -serial none -control "$sock" \
		-plugin "$tpdir/libtcount.so" -d plugin -D "$log" </dev/null >"$tmp/ctl.out" 2>&1 &
	pid=$!
	for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
	sleep 0.3
	got=$("$ctl" "$sock" plugin list 2>&1)
	[ "$got" = "ok tcount=on" ] && pass control-plugin-list ||
		fail control-plugin-list "'$got' (want 'ok tcount=on')"
	got=$("$ctl" "$sock" plugin disable tcount 2>&1)
	[ "$got" = "ok tcount disabled" ] && pass control-plugin-disable ||
		fail control-plugin-disable "'$got'"
	sleep 0.4
	got=$("$ctl" "$sock" plugin list 2>&1)
	[ "$got" = "ok tcount=off" ] && pass control-plugin-list-off ||
		fail control-plugin-list-off "'$got' (want 'ok tcount=off')"
	got=$("$ctl" "$sock" plugin enable tcount 2>&1)
	[ "$got" = "ok tcount enabled" ] && pass control-plugin-enable ||
		fail control-plugin-enable "'$got'"
	sleep 0.4
	got=$("$ctl" "$sock" plugin disable nosuch 2>&1)
	echo "$got" | grep -q "^error: no plugin named 'nosuch'" && pass control-plugin-unknown ||
		fail control-plugin-unknown "'$got'"
	kill -TERM $pid
	wait $pid
	check_toggle control-plugin-toggle "$log"
fi

# The monitor on a unix socket: each command is written after the prompt
# and answered before the next prompt.
if [ -f "$tpdir/libtcount.so" ]; then
	msock=$tmp/mon.sock
	log=$tmp/mon.log
	"$bin" -kernel "$tmp/spin.img" -m 64 -serial none -monitor "unix:$msock,server,nowait" \
		-plugin "$tpdir/libtcount.so" -d plugin -D "$log" </dev/null >"$tmp/mon.out" 2>&1 &
	pid=$!
	for _ in $(seq 50); do [ -S "$msock" ] && break; sleep 0.1; done
	python3 - "$msock" >"$tmp/mon.txt" 2>&1 <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(10)
buf = b""
def until_prompt():
    global buf
    while b"(qemu) " not in buf:
        d = s.recv(4096)
        if not d:
            raise SystemExit("monitor closed")
        buf += d
    out, _, buf = buf.partition(b"(qemu) ")
    return out.decode(errors="replace")
until_prompt()
time.sleep(0.3)
for cmd, wait in (("plugin list", 0), ("plugin disable tcount", 0.4), ("plugin list", 0),
                  ("plugin enable tcount", 0.4), ("plugin disable nosuch", 0),
                  ("plugin frob", 0)):
    s.sendall(cmd.encode() + b"\n")
    text = until_prompt().replace("\r", "")
    lines = [l for l in text.split("\n") if l and l != cmd]
    print("%s => %s" % (cmd, " | ".join(lines)))
    time.sleep(wait)
s.sendall(b"quit\n")
PY
	wait $pid
	status=$?
	mon_want() {	# NAME LINE
		if grep -qxF -- "$2" "$tmp/mon.txt"; then pass "$1"; else
			fail "$1" "want: $2" "$(head -n 8 "$tmp/mon.txt")"; fi
	}
	mon_want monitor-plugin-list "plugin list => tcount on"
	mon_want monitor-plugin-disable "plugin disable tcount => "
	mon_want monitor-plugin-list-off "plugin list => tcount off"
	mon_want monitor-plugin-enable "plugin enable tcount => "
	mon_want monitor-plugin-unknown \
		"plugin disable nosuch => Error: no plugin named 'nosuch' (plugin list shows them)"
	mon_want monitor-plugin-bad "plugin frob => plugin: list, enable NAME or disable NAME | Try \"help plugin\" for more information"
	[ "$status" -eq 0 ] && pass monitor-plugin-quit || fail monitor-plugin-quit "exit status $status"
	check_toggle monitor-plugin-toggle "$log"
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
