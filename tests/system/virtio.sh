#!/usr/bin/env bash
# virtio-blk and virtio-net under each EMULATOR (run by the sysboot
# subsuites):
#
#   tests/system/virtio.sh [--fast] [--timeout SECONDS] EMULATOR...
#
# EMULATOR is qemu-system-x86_64 (the peer) or a loom-system binary (a path
# whose name contains "loom-system").  Each boots build/guest/vmlinuz and
# initrd.img (scripts/guest-kernel.sh) with loom.test=virtio, so /init
# loads the virtio modules, runs udhcpc and then tests/system/guest/virtio,
# and the same devices:
#   -drive file=DISK,format=raw,if=none,id=d0
#   -device virtio-blk-pci,drive=d0,serial=loomdisk0
#   -drive file=RO,format=raw,if=virtio,readonly=on
#   -nic user,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:PORT-:80
# DISK (4 MiB) and RO (1 MiB) are made here of seeded random bytes.  The
# oracles are the host's: the MD5s of the images, DISK after power-off
# equal to the image with the guest's write (64 KiB of `seq 1 20000` at
# sector 2048) spliced in on the host, QEMU's user network (10.0.2.15/24
# from DHCP, gateway 10.0.2.2, DNS 10.0.2.3, MAC 52:54:00:12:34:56), and
# the bytes the guest's busybox httpd must serve: a page and a CGI script's
# output, fetched from the host through the forwarded port.  When two
# emulators run, their "virtio:" lines must be equal too.  Nothing outside
# the machine is contacted.
#
# loom-system also has a monitor: stopped, it answers no HTTP client, and
# after cont (the client that gave up left slirp a dead socket) it serves
# again.  Also, for loom-system only and without a kernel: bad -drive/-nic/-netdev
# options and a missing image file are one line on stderr and exit status
# 1; a host port already taken is one line and status 1.  And while the
# guest idles (halted, waiting for the host), loom-system uses little host
# CPU.
#
# Without --fast, loom-system boots a second time with -netdev/-device
# instead of -nic and with -nochain.  --fast (`make test`): no kernel
# fetched if there is none yet (the boots are a visible SKIP).  qemu-system-x86_64 missing is a SKIP of its boot.
# Prints PASS/FAIL/SKIP lines and "N passed, N failed, N skipped".
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
fast=0
timeout=
while [ $# -gt 0 ]; do
	case $1 in
	--fast) fast=1 ;;
	--timeout)
		[ $# -ge 2 ] && [[ $2 =~ ^[0-9]+$ ]] || { echo "usage: $0 [--fast] [--timeout S] EMULATOR..." >&2; exit 2; }
		timeout=$2
		shift
		;;
	-*) echo "usage: $0 [--fast] [--timeout SECONDS] EMULATOR..." >&2; exit 2 ;;
	*) break ;;
	esac
	shift
done
[ $# -ge 1 ] || { echo "usage: $0 [--fast] [--timeout SECONDS] EMULATOR..." >&2; exit 2; }
[ -n "$timeout" ] || timeout=300

tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT

. "$root/tests/system/lib.sh"

# check NAME WANT GOT [REPRO]
check() {
	if [ "$2" = "$3" ]; then
		pass "$1"
	else
		fail "$1" "want: $2" "got:  $3" ${4:+"repro: $4"}
	fi
}

# A TCP port nothing listens on now.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# fetch URL: the body, byte for byte (curl, else python3's urllib).
fetch() {
	if command -v curl >/dev/null; then
		curl -s -m 20 "$1"
	else
		python3 -c 'import sys, urllib.request; sys.stdout.buffer.write(urllib.request.urlopen(sys.argv[1], timeout=20).read())' "$1"
	fi
}

# --- bad input (loom-system, no kernel needed) ------------------------------
# bad NAME ARGS...: one line on stderr, exit status 1.
bad() {
	local name=$1 sys=$2
	shift 2
	"$sys" -kernel /nonexistent/vmlinuz "$@" </dev/null >"$tmp/bad.out" 2>"$tmp/bad.err"
	local st=$? lines
	lines=$(wc -l <"$tmp/bad.err")
	if [ $st -eq 1 ] && [ "$lines" -eq 1 ] && [ ! -s "$tmp/bad.out" ]; then
		pass "$name: $(cat "$tmp/bad.err")"
	else
		fail "$name" "repro: $sys -kernel /nonexistent/vmlinuz $*" \
			"want exit status 1 and one line on stderr; got status $st and:" \
			"$(head -n 5 "$tmp/bad.err")"
	fi
}

for emu in "$@"; do
	case $(basename "$emu") in *loom-system*) ;; *) continue ;; esac
	if [ ! -x "$emu" ]; then
		fail "bad input: $emu exists" "no such executable (make build/debug/loom-system)"
		continue
	fi
	bad "missing image" "$emu" -drive file="$tmp/none.img",format=raw,if=virtio
	bad "qcow2 image" "$emu" -drive file="$tmp/x.img",format=qcow2,if=virtio
	bad "ide drive" "$emu" -drive file="$tmp/x.img",if=ide
	bad "drive without file" "$emu" -drive format=raw,if=virtio
	bad "unknown drive option" "$emu" -drive file="$tmp/x.img",if=virtio,cache=none
	bad "nic type" "$emu" -nic tap
	bad "nic model" "$emu" -nic user,model=e1000
	bad "nic option" "$emu" -nic user,bogus=1
	bad "hostfwd rule" "$emu" -nic user,hostfwd=tcp:127.0.0.1:80
	bad "hostfwd port" "$emu" -nic user,hostfwd=tcp::99999-:80
	bad "nic mac" "$emu" -nic user,mac=01:02:03:04:05:06
	bad "netdev without device" "$emu" -netdev user,id=n0
	bad "device without netdev" "$emu" -device virtio-net-pci,netdev=n1
	bad "unknown device" "$emu" -device e1000,netdev=n0
	: >"$tmp/x.img"
	python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
print(s.getsockname()[1], flush=True); time.sleep(30)' >"$tmp/busy.port" &
	pids+=($!)
	for _ in $(seq 50); do [ -s "$tmp/busy.port" ] && break; sleep 0.1; done
	bad "hostfwd port in use" "$emu" -nic user,hostfwd=tcp:127.0.0.1:"$(cat "$tmp/busy.port")"-:80
done

# --- the kernel and the initramfs -----------------------------------------
guest=$root/build/guest
if [ $fast = 1 ] && [ ! -s "$guest/vmlinuz" ] &&
	! ls "$guest"/deb/linux-image-*.deb >/dev/null 2>&1; then
	skip "boots" "the guest kernel is not fetched yet (scripts/guest-kernel.sh, or make test-system)"
	finish
fi
if ! "$root/scripts/guest-kernel.sh" "$guest" >"$tmp/paths" 2>"$tmp/gk.err"; then
	fail "guest kernel and initramfs" "scripts/guest-kernel.sh failed:" "$(tail -n 5 "$tmp/gk.err")"
	finish
fi
kernel=$(sed -n 1p "$tmp/paths")
initrd=$(sed -n 2p "$tmp/paths")

# --- the images and what the host expects of them ---------------------------
python3 -c 'import random, sys
r = random.Random(14)
open(sys.argv[1], "wb").write(r.randbytes(4 << 20))
open(sys.argv[2], "wb").write(r.randbytes(1 << 20))' "$tmp/disk.orig" "$tmp/ro.img"
cp "$tmp/disk.orig" "$tmp/disk.want"
seq 1 20000 | head -c 65536 | dd of="$tmp/disk.want" bs=512 seek=2048 conv=notrunc 2>/dev/null
md5() { md5sum <"$1" | cut -d' ' -f1; }
disk_md5=$(md5 "$tmp/disk.orig")
want_md5=$(md5 "$tmp/disk.want")
ro_md5=$(md5 "$tmp/ro.img")
page_want="hello from the guest"
cgi_want="sum 42 from Linux"

# monitor SOCKET COMMAND: one HMP command over the monitor's unix socket.
monitor() { hmp "$1" "$2" >/dev/null; }

# cpu_ticks PID: user + system time of a process, in clock ticks (the
# fields after the command name, which may contain spaces).
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 }'; }

# run_one LABEL EMULATOR NIC [OPTION...]: NIC is "nic" (-nic user,...) or
# "netdev" (-netdev user,id=n0,... -device virtio-net-pci,netdev=n0).
run_one() {
	local label=$1 emu=$2 nic=$3 port disk log pid st
	shift 3
	port=$(free_port)
	disk=$tmp/$label.img
	log=$tmp/$label.log
	cp "$tmp/disk.orig" "$disk"
	local args=(-M pc -m 512 -nographic -no-reboot -kernel "$kernel" -initrd "$initrd"
		-append "console=ttyS0 quiet panic=-1 loom.test=virtio"
		-drive "file=$disk,format=raw,if=none,id=d0"
		-device "virtio-blk-pci,drive=d0,serial=loomdisk0"
		-drive "file=$tmp/ro.img,format=raw,if=virtio,readonly=on")
	if [ "$nic" = nic ]; then
		args+=(-nic "user,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:$port-:80")
	else
		args+=(-netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$port-:80"
			-device virtio-net-pci,netdev=n0)
	fi
	args+=("$@")
	local mon=
	case $(basename "$emu") in
	*loom-system*)
		mon=$tmp/$label.mon
		args+=(-monitor "unix:$mon,server,nowait")
		;;
	esac
	local repro="$emu ${args[*]}"
	local t0=$SECONDS
	timeout -k 10 "$timeout" "$emu" "${args[@]}" </dev/null >"$log" 2>&1 &
	pid=$!
	pids+=($pid)
	while ! grep -q 'virtio: httpd up' "$log" 2>/dev/null && kill -0 $pid 2>/dev/null; do
		sleep 0.5
	done
	if ! grep -q 'virtio: httpd up' "$log"; then
		wait $pid
		fail "$label: boots and serves HTTP" "repro: $repro" "exit status $?; last lines:" \
			"$(tr -d '\r' <"$log" | grep -v '^ *$' | tail -n 12)"
		return
	fi
	pass "$label: boots and serves HTTP (after $((SECONDS - t0)) s)"
	check "$label: page over hostfwd" "$page_want" "$(fetch "http://127.0.0.1:$port/index.html")" "$repro"
	check "$label: CGI output over hostfwd" "$cgi_want" \
		"$(fetch "http://127.0.0.1:$port/cgi-bin/sum?a=2&b=40")" "$repro"
	# The guest now sleeps in 0.5 s steps until told it is done: halted
	# nearly all the time.
	case $(basename "$emu") in
	*loom-system*)
		local c0 c1 hz epid
		hz=$(getconf CLK_TCK)
		# timeout(1)'s child is the emulator.
		epid=$(cat "/proc/$pid/task/$pid/children" 2>/dev/null | awk '{ print $1 }')
		c0=$(cpu_ticks "${epid:-$pid}")
		sleep 3
		c1=$(cpu_ticks "${epid:-$pid}")
		# 3 s of an idle guest: under a third of a host CPU.
		if [ $((c1 - c0)) -lt "$hz" ]; then
			pass "$label: idle guest costs little host CPU ($((c1 - c0)) ticks of $((hz * 3)))"
		else
			fail "$label: idle guest costs little host CPU" "repro: $repro" \
				"$((c1 - c0)) of $((hz * 3)) clock ticks in 3 s while the guest waits"
		fi
		;;
	esac
	if [ -n "$mon" ]; then
		# Stopped by the monitor, the machine answers no one; a client
		# that gives up meanwhile leaves slirp a dead socket, which must
		# not end the machine (SIGPIPE) once it runs again.
		monitor "$mon" stop
		check "$label: no answer while stopped" "" "$(curl -s -m 3 "http://127.0.0.1:$port/index.html")" "$repro"
		monitor "$mon" cont
		check "$label: page again after cont" "$page_want" \
			"$(fetch "http://127.0.0.1:$port/index.html")" "$repro"
	fi
	check "$label: done page" "bye" "$(fetch "http://127.0.0.1:$port/cgi-bin/done")" "$repro"
	wait $pid
	st=$?
	tr -d '\r' <"$log" | grep -a '^virtio: ' >"$tmp/$label.lines"
	if [ $st -eq 0 ] && grep -q 'loom-guest: test exit 0' "$log" &&
		grep -q 'loom-guest: poweroff' "$log"; then
		pass "$label: powers off with exit status 0"
	else
		fail "$label: powers off with exit status 0" "repro: $repro" "exit status $st; last lines:" \
			"$(tr -d '\r' <"$log" | grep -v '^ *$' | tail -n 12)"
	fi
	g() { sed -n "s/^virtio: $1 //p" "$tmp/$label.lines" | head -n 1; }
	check "$label: vda size" "8192" "$(g 'vda sectors')"
	check "$label: vda serial (GET_ID)" "[loomdisk0]" "$(g 'vda serial')"
	check "$label: vda MD5 equals the image's" "$disk_md5" "$(g 'vda md5')"
	check "$label: vda MD5 after the guest's write" "$want_md5" "$(g 'vda md5 after')"
	check "$label: the image after power-off has the guest's write" "$want_md5" "$(md5 "$disk")"
	check "$label: vdb read-only" "1" "$(g 'vdb ro')"
	check "$label: vdb MD5 equals the image's" "$ro_md5" "$(g 'vdb md5')"
	check "$label: vdb refuses a write" "refused" "$(g 'vdb write')"
	check "$label: read-only image unchanged" "$ro_md5" "$(md5 "$tmp/ro.img")"
	check "$label: eth0 MAC" "52:54:00:12:34:56" "$(g 'eth0 mac')"
	check "$label: eth0 address from DHCP" "10.0.2.15/24" "$(g "eth0 addr")"
	check "$label: default route" "10.0.2.2" "$(g route)"
	check "$label: DNS server" "10.0.2.3" "$(g dns)"
	check "$label: the host said done" "done" "$(g host)"
	ran+=("$label")
}

ran=()
for emu in "$@"; do
	case $(basename "$emu") in
	*loom-system*)
		label=loom-system
		if [ ! -x "$emu" ]; then
			fail "$label: boots" "$emu does not exist (make build/debug/loom-system)"
			continue
		fi
		;;
	*)
		label=$(basename "$emu")
		if ! command -v "$emu" >/dev/null; then
			skip "$label: boots" "$emu is not installed (scripts/install-deps.sh)"
			continue
		fi
		;;
	esac
	run_one "$label" "$emu" nic
	# Without --fast: the NIC in QEMU's two halves, with chaining off.
	case $label in
	loom-system) [ $fast = 1 ] || run_one loom-system-netdev "$emu" netdev -nochain ;;
	esac
done
for other in "${ran[@]:1}"; do
	if cmp -s "$tmp/${ran[0]}.lines" "$tmp/$other.lines"; then
		pass "${ran[0]} and $other print the same virtio: lines"
	else
		fail "${ran[0]} and $other print the same virtio: lines" \
			"$(diff "$tmp/${ran[0]}.lines" "$tmp/$other.lines" | head -n 20)"
	fi
done
finish
