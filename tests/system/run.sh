#!/usr/bin/env bash
# loom-system's tests that need no guest kernel (the `system` subsuite):
#
#   tests/system/run.sh BUILDDIR
#
# 1. The command line and bad input: each bad option, value or file gives
#    exactly one line on stderr naming it, nothing on stdout, and the
#    documented exit status (1: usage, 127: the kernel or initrd cannot be
#    loaded).  Crafted kernels come from tests/system/craft.py.
# 2. The HMP monitor (stdio and a unix socket) on the machine as loaded
#    (-S: stopped at the kernel's entry): the kernel's bytes, the zero
#    page, the entry registers.
# 3. The bare-metal image build/tests/system/baremetal.bin (make
#    baremetal): under qemu-system-x86_64, the peer, when it is installed,
#    and under loom-system in its three translation modes; every check it
#    reports must PASS and the machine must power off.
# 4. A running machine: SIGTERM leaves a guest spinning in translated
#    code, a halted guest uses (almost) no host CPU, the monitor answers
#    beside a running guest (stop, cont), and -S waits for cont.
# Prints PASS/FAIL/SKIP lines and "N passed, N failed, N skipped".
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tests/system/lib.sh"
system_test_args "$@"
image=$root/build/tests/system/baremetal.bin
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT


# expect NAME STATUS REGEX ARGS...: loom-system ARGS exits with STATUS and
# prints one line on stderr matching REGEX (nothing on stdout).
expect() {
	local name=$1 want=$2 re=$3 status
	shift 3
	"$bin" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	status=$?
	local lines
	lines=$(wc -l <"$tmp/err")
	if [ "$status" -ne "$want" ] || [ "$lines" -ne 1 ] || [ -s "$tmp/out" ] ||
		! grep -qE "$re" "$tmp/err"; then
		fail "$name" "repro: $bin $*" "exit status $status (want $want), $lines stderr lines:" \
			"$(head -n 3 "$tmp/err")" "stdout: $(head -c 200 "$tmp/out")"
		return
	fi
	pass "$name"
}

# expect_ok NAME REGEX ARGS...: exit status 0 and stdout matching REGEX.
expect_ok() {
	local name=$1 re=$2 status
	shift 2
	"$bin" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	status=$?
	if [ "$status" -ne 0 ] || [ -s "$tmp/err" ] || ! grep -qE "$re" "$tmp/out"; then
		fail "$name" "repro: $bin $*" "exit status $status, stderr: $(head -n 2 "$tmp/err")"
		return
	fi
	pass "$name"
}

if [ ! -x "$bin" ]; then
	fail loom-system-built "no $bin (make MODE=... $bin)"
	echo "$passed passed, $failed failed, $skipped skipped"
	exit 1
fi

for k in good nohdrs old no64 zimage short trunc huge smallcmd; do
	python3 "$root/tests/system/craft.py" "$k" "$tmp/$k.img"
done
: >"$tmp/empty.img"
head -c 8192 /dev/urandom >"$tmp/random.img"
# An initrd larger than -m 4M: sparse, so it costs no disk.
truncate -s 5M "$tmp/big.initrd"
: >"$tmp/small.initrd"
head -c 70000 /dev/urandom >"$tmp/small.initrd"

# --- the command line --------------------------------------------------------
expect_ok help '^usage: loom-system' -help
expect_ok help-h '^usage: loom-system' -h
expect_ok version '^loom-system version' -version
expect_ok version-dashdash '^loom-system version' --version
expect_ok machine-help '^pc ' -M help
expect_ok log-help '^cpu_reset ' -d help
expect no-kernel 1 'no -kernel given' 
expect unknown-option 1 "unknown option '-hda'" -hda disk.img
expect unknown-option-late 1 "unknown option '-bogus'" -kernel "$tmp/good.img" -bogus
expect positional 1 "'disk.img': unexpected argument" disk.img
expect missing-value 1 "option '-kernel' needs an argument" -kernel
expect missing-value-m 1 "option '-m' needs an argument" -kernel "$tmp/good.img" -m
for m in abc 12Q 0 1K 1M 2T -5 512MB; do
	expect "bad-m-$m" 1 "^loom-system: -m $m: " -kernel "$tmp/good.img" -m "$m"
done
expect bad-machine 1 '^loom-system: -M q35: unsupported machine type' -kernel "$tmp/good.img" -M q35
expect bad-smp 1 '^loom-system: -smp 2: only 1 CPU' -kernel "$tmp/good.img" -smp 2
expect bad-smp-word 1 '^loom-system: -smp x: not a number' -kernel "$tmp/good.img" -smp x
expect bad-serial 1 '^loom-system: -serial tcp:1234: unknown character device' \
	-kernel "$tmp/good.img" -serial tcp:1234
expect bad-serial-nopath 1 '^loom-system: -serial unix:: no socket path' \
	-kernel "$tmp/good.img" -serial unix:
expect bad-serial-opt 1 "unknown option 'telnet'" -kernel "$tmp/good.img" \
	-serial unix:/tmp/x,server,telnet
expect bad-serial-onoff 1 "'server' must be on or off" -kernel "$tmp/good.img" \
	-serial unix:/tmp/x,server=maybe
expect two-serials 1 'one serial port' -kernel "$tmp/good.img" -serial null -serial null
expect bad-monitor-file 1 '^loom-system: -monitor file:/tmp/m: the monitor needs input' \
	-kernel "$tmp/good.img" -monitor file:/tmp/m
expect monitor-serial-stdio 1 '^loom-system: -monitor stdio: stdio is the serial port' \
	-kernel "$tmp/good.img" -monitor stdio
expect monitor-nographic-stdio 1 '^loom-system: -monitor stdio: stdio is the serial port' \
	-kernel "$tmp/good.img" -nographic -monitor stdio
expect bad-log-item 1 "^loom-system: -d: unknown log item 'bogus'" -kernel "$tmp/good.img" -d int,bogus
expect bad-log-file 1 '^loom-system: -D /nonexistent/dir/log: ' -kernel "$tmp/good.img" \
	-D /nonexistent/dir/log

# --- kernels and initrds that cannot be loaded -------------------------------
expect kernel-missing 127 "^loom-system: $tmp/none.img: No such file or directory" \
	-kernel "$tmp/none.img"
expect kernel-directory 127 "^loom-system: $tmp: not a regular file" -kernel "$tmp"
expect kernel-empty 127 "^loom-system: $tmp/empty.img: truncated" -kernel "$tmp/empty.img"
expect kernel-short 127 "^loom-system: $tmp/short.img: truncated" -kernel "$tmp/short.img"
expect kernel-trunc 127 "^loom-system: $tmp/trunc.img: truncated .*promises" -kernel "$tmp/trunc.img"
expect kernel-random 127 "^loom-system: $tmp/random.img: not a Linux bzImage" -kernel "$tmp/random.img"
expect kernel-nohdrs 127 "^loom-system: $tmp/nohdrs.img: not a Linux bzImage" -kernel "$tmp/nohdrs.img"
expect kernel-old 127 "^loom-system: $tmp/old.img: boot protocol 2.10 is too old" -kernel "$tmp/old.img"
expect kernel-no64 127 "^loom-system: $tmp/no64.img: the kernel has no 64-bit entry" -kernel "$tmp/no64.img"
expect kernel-zimage 127 "^loom-system: $tmp/zimage.img: a zImage" -kernel "$tmp/zimage.img"
expect kernel-too-big 127 "^loom-system: $tmp/huge.img: the kernel does not fit in RAM" \
	-kernel "$tmp/huge.img" -m 64
expect cmdline-too-long 127 "^loom-system: $tmp/smallcmd.img: the command line is 17 bytes; this kernel takes 16" \
	-kernel "$tmp/smallcmd.img" -append "console=ttyS0 abc"
expect initrd-missing 127 "^loom-system: $tmp/none.initrd: No such file" -kernel "$tmp/good.img" \
	-initrd "$tmp/none.initrd"
expect initrd-larger-than-ram 127 "^loom-system: $tmp/big.initrd: the initrd .* is larger than RAM" \
	-kernel "$tmp/good.img" -initrd "$tmp/big.initrd" -m 4M
# The crafted kernel is well formed: it loads, and the vCPU (held by -S)
# is at its 64-bit entry, pref_address 0x1000000 + 0x200.
printf 'info registers\nquit\n' | timeout -k 5 20 "$bin" -kernel "$tmp/good.img" \
	-initrd "$tmp/small.initrd" -append "console=ttyS0" -m 64M -serial none -S \
	-monitor stdio >"$tmp/good.out" 2>"$tmp/good.err"
status=$?
if [ $status -eq 0 ] && [ ! -s "$tmp/good.err" ] &&
	grep -q 'RIP=0000000001000200 ' "$tmp/good.out"; then
	pass kernel-good-loads
else
	fail kernel-good-loads "exit status $status" "$(head -n 2 "$tmp/good.err")"
fi

# -d cpu_reset shows the boot protocol's 64-bit entry state: rip at the
# load address (pref_address 0x100000 in the image) + 0x200, rsi the zero
# page, and the e820 map for -m 64.
if [ -f "$image" ]; then
	"$bin" -kernel "$image" -m 64 -serial none -d cpu_reset -D "$tmp/reset.log" >/dev/null 2>&1
	if grep -q '^RIP=0000000000100200 RSI=0000000000007000 ' "$tmp/reset.log" &&
		grep -q '^CS =0010 DS =0018 ES =0018 SS =0018' "$tmp/reset.log" &&
		grep -q '^e820: \[mem 0x0000000000100000-0x0000000003ffffff\] usable$' "$tmp/reset.log"; then
		pass log-cpu-reset
	else
		fail log-cpu-reset "$(head -n 4 "$tmp/reset.log")"
	fi
fi

# --- the monitor on the loaded machine ---------------------------------------
# The CPU stops at the kernel's entry; the monitor shows the machine as the
# loader left it.  Expected bytes come from the image file itself (od).
if [ -f "$image" ]; then
	# The 64-bit entry: file offset (setup_sects + 1) * 512 + 0x200.
	sects=$(od -An -tu1 -j $((0x1f1)) -N1 "$image" | tr -d ' ')
	want=$(od -An -tx4 -j $(((sects + 1) * 512 + 0x200)) -N8 "$image" |
		awk '{printf "0x%s 0x%s", $1, $2}')
	printf 'xp /2xw 0x100200
info status
xp /xb 0x71e8
info registers
x /2xw 0x100200
quit
' |
		"$bin" -kernel "$image" -m 64 -serial none -S -monitor stdio >"$tmp/mon.out" 2>"$tmp/mon.err"
	status=$?
	tr -d '\r' <"$tmp/mon.out" | sed 's/^(qemu) //' >"$tmp/mon.txt"
	mon_expect() {	# NAME LINE: the monitor printed LINE exactly
		if grep -qxF -- "$2" "$tmp/mon.txt"; then
			pass "$1"
		else
			fail "$1" "want the line: $2" "monitor output: $tmp/mon.txt" \
				"$(head -n 5 "$tmp/mon.txt")"
		fi
	}
	if [ "$status" -eq 0 ]; then pass monitor-stdio-quit; else
		fail monitor-stdio-quit "exit status $status: $(head -n 2 "$tmp/mon.err")"; fi
	mon_expect monitor-xp-entry "0000000000100200: $want"
	mon_expect monitor-x-entry-identity-map "0000000000100200: $want"
	mon_expect monitor-info-status "VM status: paused"
	mon_expect monitor-e820-entries "00000000000071e8: 0x04"
	mon_expect monitor-info-registers-rip "RIP=0000000000100200 RFL=00000002 [-------] CPL=0 II=0 A20=1 SMM=0 HLT=0"
	mon_expect monitor-info-registers-cs "CS =0010 0000000000000000 ffffffff 00af9b00 DPL=0 CS64 [-RA]"
	mon_expect monitor-info-registers-rsi "RSI=0000000000007000 RDI=0000000000000000 RBP=0000000000000000 RSP=0000000000009000"

	# A unix socket in QEMU's spelling; a client runs one command and quits.
	sock=$tmp/mon.sock
	"$bin" -kernel "$image" -m 64 -serial none -S -monitor "unix:$sock,server,nowait" \
		>"$tmp/monu.out" 2>&1 &
	pid=$!
	python3 - "$sock" >"$tmp/monu.txt" 2>&1 <<'PY'
import socket, sys, time
for _ in range(100):
    try:
        s = socket.socket(socket.AF_UNIX)
        s.connect(sys.argv[1])
        break
    except OSError:
        time.sleep(0.05)
s.sendall(b"xp /xb 0x71e8\nquit\n")
out = b""
s.settimeout(10)
while True:
    d = s.recv(4096)
    if not d:
        break
    out += d
sys.stdout.write(out.decode())
PY
	timeout 10 tail --pid=$pid -f /dev/null || kill $pid 2>/dev/null
	wait $pid
	status=$?
	if [ "$status" -eq 0 ] && grep -q '^(qemu) 00000000000071e8: 0x04' "$tmp/monu.txt"; then
		pass monitor-unix-socket
	else
		fail monitor-unix-socket "exit status $status" "$(head -n 4 "$tmp/monu.txt")"
	fi
fi

# --- the bare-metal image ----------------------------------------------------
# baremetal_check NAME LOG STATUS: the image's report in LOG: every line
# PASS, a final "N passed, 0 failed" with N > 0, and a clean power-off.
baremetal_check() {
	local name=$1 log=$2 status=$3 counts
	tr -d '\r' <"$log" | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g; s/\x1bc//g' >"$log.clean"
	counts=$(grep -aE '^[0-9]+ passed, [0-9]+ failed$' "$log.clean" | tail -n 1)
	if [ "$status" -ne 0 ] || [ -z "$counts" ] || ! echo "$counts" | grep -q ' 0 failed$' ||
		grep -aq '^FAIL ' "$log.clean" || [ "${counts%% *}" -lt 10 ]; then
		fail "$name" "exit status $status; report: ${counts:-none}" \
			"$(grep -a '^FAIL ' "$log.clean" | head -n 4)" "full output: $log"
		cp "$log.clean" "$builddir/test-logs/$name.out" 2>/dev/null
		return
	fi
	pass "$name ($counts)"
}

if [ ! -f "$image" ]; then
	fail baremetal-image "no $image (make baremetal; needs nasm)"
elif ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
	skip baremetal-qemu "qemu-system-x86_64 is not installed (scripts/install-deps.sh)"
else
	timeout -k 5 60 qemu-system-x86_64 -M pc -m 64 -nographic -no-reboot -kernel "$image" \
		</dev/null >"$tmp/qemu.log" 2>&1
	baremetal_check baremetal-qemu "$tmp/qemu.log" $?
fi
# Under loom-system in the three translation modes: the same report, the
# same power-off through ACPI.
if [ -f "$image" ]; then
	for mode in default -one-insn-per-tb -nochain; do
		opt=$mode
		[ "$mode" = default ] && opt=
		timeout -k 5 60 "$bin" -kernel "$image" -m 64 -nographic -no-reboot $opt \
			</dev/null >"$tmp/loom$mode.log" 2>&1
		status=$?
		if [ "$status" -eq 3 ] && grep -q 'does not execute guest code yet' "$tmp/loom$mode.log"; then
			skip "baremetal-loom-system $mode" \
				"loom-system does not execute guest code yet (the image loads)"
		else
			baremetal_check "baremetal-loom-system $mode" "$tmp/loom$mode.log" "$status"
		fi
	done
fi

# --- a running machine: signals, an idle guest, the monitor beside it --------
# Crafted kernels that run: spin (jmp . at the entry) and idle (cli; hlt).
python3 "$root/tests/system/craft.py" spin "$tmp/spin.img"
python3 "$root/tests/system/craft.py" idle "$tmp/idle.img"
timeout -k 5 5 "$bin" -kernel "$tmp/spin.img" -m 64 -serial none </dev/null \
	>"$tmp/probe.out" 2>&1
if [ $? -eq 3 ] && grep -q 'does not execute guest code yet' "$tmp/probe.out"; then
	for t in sigterm-spinning-guest idle-guest-sleeps monitor-running-guest monitor-cont \
		triple-fault-no-reboot triple-fault-resets; do
		skip "$t" "loom-system does not execute guest code yet"
	done
else
	# A guest spinning in translated code still leaves it for SIGTERM.
	"$bin" -kernel "$tmp/spin.img" -m 64 -serial none </dev/null >"$tmp/term.out" 2>&1 &
	pid=$!
	sleep 1
	kill -TERM $pid
	timeout 5 tail --pid=$pid -f /dev/null
	if kill -0 $pid 2>/dev/null; then
		kill -KILL $pid
		fail sigterm-spinning-guest "still running 5 s after SIGTERM"
	else
		wait $pid
		status=$?
		if [ $status -eq 0 ] && grep -q 'terminating on signal 15' "$tmp/term.out"; then
			pass sigterm-spinning-guest
		else
			fail sigterm-spinning-guest "exit status $status" "$(head -n 2 "$tmp/term.out")"
		fi
	fi

	# A halted guest (interrupts off, nothing to wake it) sleeps: under
	# 0.2 s of host CPU in 2 s.
	"$bin" -kernel "$tmp/idle.img" -m 64 -serial none </dev/null >"$tmp/idle.out" 2>&1 &
	pid=$!
	sleep 1
	cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
	t0=$(cpu_ticks $pid)
	sleep 2
	t1=$(cpu_ticks $pid)
	kill -TERM $pid
	wait $pid
	hz=$(getconf CLK_TCK)
	if [ $((t1 - t0)) -le $((hz / 5)) ]; then
		pass "idle-guest-sleeps ($((t1 - t0)) ticks of $hz/s in 2 s)"
	else
		fail idle-guest-sleeps "$((t1 - t0)) ticks of host CPU (at $hz/s) in 2 s"
	fi

	# The monitor beside a spinning guest: status, stop, cont, registers.
	sock=$tmp/run.sock
	"$bin" -kernel "$tmp/spin.img" -m 64 -serial none -monitor "unix:$sock,server,nowait" \
		</dev/null >"$tmp/run.out" 2>&1 &
	pid=$!
	python3 - "$sock" >"$tmp/run.txt" 2>&1 <<'PY'
import socket, sys, time
for _ in range(100):
    try:
        s = socket.socket(socket.AF_UNIX)
        s.connect(sys.argv[1])
        break
    except OSError:
        time.sleep(0.05)
s.settimeout(10)
out = b""
for cmd in [b"info status", b"stop", b"info status", b"info registers", b"cont",
            b"info status", b"quit"]:
    s.sendall(cmd + b"\n")
    time.sleep(0.3)
while True:
    try:
        d = s.recv(4096)
    except socket.timeout:
        break
    if not d:
        break
    out += d
sys.stdout.write(out.decode(errors="replace"))
PY
	timeout 10 tail --pid=$pid -f /dev/null || kill $pid 2>/dev/null
	wait $pid
	status=$?
	tr -d '\r' <"$tmp/run.txt" | sed 's/^\((qemu) \)*//' >"$tmp/run.clean"
	if [ $status -eq 0 ] && [ "$(grep -c '^VM status: running$' "$tmp/run.clean")" -eq 2 ] &&
		grep -q '^VM status: paused$' "$tmp/run.clean" &&
		grep -q '^RIP=0000000001000200 ' "$tmp/run.clean"; then
		pass monitor-running-guest
	else
		fail monitor-running-guest "exit status $status" "$(head -n 6 "$tmp/run.clean")"
	fi

	# A triple fault resets the machine; under -no-reboot it ends it.
	python3 "$root/tests/system/craft.py" triple "$tmp/triple.img"
	timeout -k 5 20 "$bin" -kernel "$tmp/triple.img" -m 64 -serial none -no-reboot \
		</dev/null >"$tmp/triple.out" 2>&1
	status=$?
	if [ $status -eq 0 ] && grep -q 'triple fault' "$tmp/triple.out"; then
		pass triple-fault-no-reboot
	else
		fail triple-fault-no-reboot "exit status $status" "$(head -n 2 "$tmp/triple.out")"
	fi
	"$bin" -kernel "$tmp/triple.img" -m 64 -serial none -d cpu_reset -D "$tmp/triple.log" \
		</dev/null >/dev/null 2>&1 &
	pid=$!
	sleep 1
	kill -TERM $pid
	wait $pid
	n=$(grep -c '^cpu_reset: triple fault' "$tmp/triple.log")
	if [ "$n" -ge 2 ] && [ "$(grep -c '^RIP=0000000001000200 ' "$tmp/triple.log")" -ge 2 ]; then
		pass "triple-fault-resets ($n resets in 1 s)"
	else
		fail triple-fault-resets "$n resets logged" "$(head -n 3 "$tmp/triple.log")"
	fi

	# -S: the vCPU waits for cont; the bare-metal image then runs to its
	# power-off.
	if [ -f "$image" ]; then
		(echo cont; sleep 30) | timeout -k 5 60 "$bin" -kernel "$image" -m 64 -no-reboot \
			-serial "file:$tmp/cont.log" -S -monitor stdio >"$tmp/cont.out" 2>&1
		baremetal_check monitor-cont "$tmp/cont.log" $?
	fi
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
