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
# 3. Debian's kernel (build/guest/vmlinuz and initrd.img from
#    scripts/guest-kernel.sh; skipped, visibly, without them) booted with
#    loom.plugtest=1, under libsyscall (file=) and libexeclog
#    (comm=sysprobe): the guest script runs tests/system/guest/sysprobe and
#    prints the guest's own `ps -o pid,comm,vsz` while it waits.  The guest
#    is the oracle: every user process ps lists (VSZ > 0) made system calls
#    under its pid and name in the trace; no kernel thread ps lists (VSZ 0)
#    appears in it; sysprobe's pid made exactly its 1000 getppid calls
#    (sysprobe.c) and nothing else is called sysprobe.  The instruction
#    trace holds exactly 1000 executions of sysprobe's syscall instruction,
#    and every traced instruction is sysprobe's: its bytes equal those of
#    sysprobe's ELF file at that address (or of its loop page, whose bytes
#    sysprobe.c gives), none in the kernel's half.
# Prints PASS/FAIL/SKIP lines and "N passed, N failed, N skipped".
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tests/system/lib.sh"
system_test_args "$@"
ctl=$builddir/loom-ctl
image=$root/build/tests/system/baremetal.bin
tpdir=$root/build/tests/plugins
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT


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
	# each command's answer on one line, "COMMAND => LINE | LINE", the
	# command's echo left out; a toggle is given time to take effect
	sleep 0.3
	for cw in "plugin list:0" "plugin disable tcount:0.4" "plugin list:0" \
		"plugin enable tcount:0.4" "plugin disable nosuch:0" "plugin frob:0"; do
		cmd=${cw%:*}
		ans=$(hmp "$msock" "$cmd" 2>&1 | tr -d '\r' | grep -vxF -e "$cmd" -e '' |
			awk 'NR > 1 { printf " | " } { printf "%s", $0 }')
		echo "$cmd => $ans" >>"$tmp/mon.txt"
		sleep "${cw##*:}"
	done
	hmp "$msock" quit >/dev/null 2>&1
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

# --- 3. Debian's kernel: the syscall tracer and a one-process instruction trace ------
kernel=$root/build/guest/vmlinuz
initrd=$root/build/guest/initrd.img
probe=$root/build/tests/system/guest/sysprobe
pdir=$builddir/plugins
if [ ! -f "$kernel" ] || [ ! -f "$initrd" ]; then
	skip debian-plugins "no $kernel or $initrd (scripts/guest-kernel.sh)"
elif [ ! -f "$probe" ] || [ ! -f "$pdir/libsyscall.so" ] || [ ! -f "$pdir/libexeclog.so" ]; then
	fail debian-plugins-built "no $probe, $pdir/libsyscall.so or libexeclog.so" \
		"(make system-guest plugins; then scripts/guest-kernel.sh)"
elif [ "$(zcat "$initrd" | grep -ac sysprobe)" -eq 0 ]; then
	fail debian-plugins-initrd "$initrd has no sysprobe (scripts/guest-kernel.sh rebuilds it)"
else
	timeout -k 10 600 "$bin" -M pc -m 512 -nographic -no-reboot -kernel "$kernel" \
		-initrd "$initrd" -append "console=ttyS0 quiet panic=-1 loom.plugtest=1" \
		-plugin "$pdir/libsyscall.so,file=$tmp/sys.trace" \
		-plugin "$pdir/libexeclog.so,comm=sysprobe,mem=off,outfile=$tmp/exec.trace" \
		</dev/null >"$tmp/deb.out" 2>&1
	status=$?
	tr -d '\r' <"$tmp/deb.out" >"$tmp/deb.txt"
	if [ "$status" -ne 0 ] || ! grep -q '^== end' "$tmp/deb.txt"; then
		fail debian-plugins-boot "exit status $status; the console's last lines:" \
			"$(tail -n 5 "$tmp/deb.txt")"
	else
		pass debian-plugins-boot
		python3 - "$tmp/deb.txt" "$tmp/sys.trace" "$tmp/exec.trace" "$probe" \
			>"$tmp/checks.txt" 2>&1 <<'PY'
import re, struct, sys
console, systrace, exectrace, probe = sys.argv[1:5]
def check(name, ok, detail=""):
    print(("PASS " if ok else "FAIL ") + name + ("" if ok else "\n    " + detail))

text = open(console, errors="replace").read()
m = re.search(r"^sysprobe pid (\d+) comm (\S+) code (0x[0-9a-f]+) syscall (0x[0-9a-f]+) "
              r"calls (\d+)$", text, re.M)
ps_part = text.split("== ps\n", 1)[-1].split("== ps end", 1)[0]
ps = []
for line in ps_part.splitlines()[1:]:
    f = line.split()
    if len(f) >= 3 and f[0].isdigit():
        # the name may hold spaces: it is what lies between pid and vsz
        ps.append((int(f[0]), line.split(None, 1)[1].rsplit(None, 1)[0].strip(), f[-1]))
check("guest-printed-probe-and-ps", m is not None and len(ps) > 10,
      "sysprobe line %s, %d ps rows" % (bool(m), len(ps)))
if not m:
    sys.exit(0)
ppid_, pcomm, pcode, psys, pcalls = int(m[1]), m[2], int(m[3], 16), int(m[4], 16), int(m[5])

calls = {}		# (pid, comm) -> count
getppid = 0
other_probe = 0
for line in open(systrace, errors="replace"):
    f = line.rstrip("\n").split(" ", 3)
    if len(f) < 3 or not f[0].isdigit():
        continue
    pid, comm, what = int(f[0]), f[1], f[2]
    calls[(pid, comm)] = calls.get((pid, comm), 0) + 1
    if pid == ppid_ and comm == pcomm and what == "110(getppid)":
        getppid += 1
    if comm == pcomm and pid != ppid_:
        other_probe += 1
users = [(p, c) for p, c, v in ps if v != "0"]
kthreads = {p for p, c, v in ps if v == "0"}
missing = [u for u in users if u not in calls]
check("systrace-ps-user-processes (%d: %s)" % (len(users), " ".join("%d:%s" % u for u in users)),
      len(users) >= 3 and not missing, "not in the trace: %s" % missing)
named_kthreads = sorted({p for p, c in calls if p in kthreads})
check("systrace-no-kernel-threads", not named_kthreads,
      "kernel threads (ps VSZ 0) in the trace: %s" % named_kthreads)
check("systrace-probe-getppid-%d" % pcalls, getppid == pcalls and other_probe == 0,
      "%d getppid calls by %d %s; %d calls by other processes named %s"
      % (getppid, ppid_, pcomm, other_probe, pcomm))

# sysprobe's loop page, as sysprobe.c writes it
loop = bytes([0x53, 0xbb, pcalls & 0xff, pcalls >> 8, 0, 0, 0xb8, 110, 0, 0, 0, 0x0f, 0x05,
              0xff, 0xcb, 0x75, 0xf5, 0x5b, 0xc3])
elf = open(probe, "rb").read()
phoff, phentsize, phnum = struct.unpack_from("<Q", elf, 32)[0], *struct.unpack_from("<HH", elf, 54)
loads = []
for i in range(phnum):
    ptype, flags, off, vaddr, _, filesz = struct.unpack_from("<IIQQQQ", elf, phoff + i * phentsize)
    if ptype == 1:
        loads.append((vaddr, off, filesz))
def probe_bytes(pc, n):
    if pcode <= pc and pc + n <= pcode + len(loop):
        return loop[pc - pcode:pc - pcode + n]
    for vaddr, off, filesz in loads:
        if vaddr <= pc and pc + n <= vaddr + filesz:
            return elf[off + pc - vaddr:off + pc - vaddr + n]
    return None
execs = 0
at_syscall = 0
bad = []
for line in open(exectrace, errors="replace"):
    f = line.split(", ", 3)
    if len(f) < 3:
        continue
    pc = int(f[1], 16)
    got = bytes.fromhex(f[2].replace(" ", ""))
    execs += 1
    at_syscall += pc == psys
    if pc >> 47 or probe_bytes(pc, len(got)) != got:
        bad.append(line.strip())
check("execlog-probe-syscall-%d" % pcalls, at_syscall == pcalls,
      "%d executions of the syscall at %#x" % (at_syscall, psys))
check("execlog-only-sysprobe (%d instructions)" % execs, execs > pcalls and not bad,
      "%d of %d traced instructions are not sysprobe's, e.g. %s" % (len(bad), execs, bad[:3]))
PY
		pystatus=$?
		while IFS= read -r l; do
			case $l in
			"PASS "*) pass "${l#PASS }" ;;
			"FAIL "*) fail "${l#FAIL }" ;;
			*) echo "$l" ;;
			esac
		done <"$tmp/checks.txt"
		[ "$pystatus" -eq 0 ] || fail debian-plugins-checker "the checker exited with $pystatus"
	fi
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
