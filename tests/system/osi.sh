#!/usr/bin/env bash
# loom-system's guest introspection and attributed coverage against the
# guest's own view of itself (the `system` subsuite):
#
#   tests/system/osi.sh BUILDDIR
#
# Debian's kernel (build/guest/vmlinuz and initrd.img from
# scripts/guest-kernel.sh; skipped, visibly, without them) boots under
# BUILDDIR/loom-system with loom.osi=1 on its command line, which makes the
# guest script (tests/system/guest/run) start two sleeps (one run from a
# copy of busybox at /tmp/alt), print /proc/kallsyms' _text and _end,
# /proc/modules (after loading crc7 and crc-itu-t from the kernel's package,
# when build/guest/deb has it), `ps -o pid,ppid,comm` and every process's
# /proc/PID/maps, then wait for a line on the console (with an empty layout
# cache, LOOM_CACHE_DIR, which the boot must fill).  The monitor (-monitor unix:) then
# answers, and is checked against what the guest printed:
#   info procs        every process ps listed (but ps itself, and kworkers,
#                     which come and go) with its ppid and name; kernel
#                     threads exactly those without maps
#   info modules      [kernel] at _text, _end - _text long; each module
#                     of /proc/modules at its address
#   info modules PID  for each process with maps, exactly the lines of its
#                     /proc/PID/maps that are executable and file-backed
#                     (manymaps among them: 128 VMAs, a maple tree of
#                     more than one level)
#                     (start, end, offset, path)
# Then coverage (-cov FILE, attributed by process and module): the monitor
# writes what ran since boot and clears it, the guest idles, `cov write
# idle.drcov`; `cov clear`, the console says go and the guest runs one
# md5sum (printing its pid first), `cov write run.drcov`.  Checked with loom-cov and the host's
# /bin/busybox (the same file the initramfs holds):
#   - run.drcov has blocks of md5sum[PID]:/bin/busybox at offsets inside
#     busybox's executable PT_LOAD segment (its ELF program headers), and
#     none outside it;
#   - kernel blocks are [kernel] with offsets below _end - _text;
#   - `loom-cov diff idle.drcov run.drcov` lists md5sum[PID] and the
#     kernel, and neither the sleeps nor init, which stayed asleep;
#   - the idle recording has kernel blocks only;
#   - loom-ctl's `status` and `cov write` on the -control socket give
#     the same md5sum blocks as the monitor's;
#   - `loom-cov export --module md5sum[PID]:busybox` holds that module
#     alone with all its blocks (a per-process view for Lighthouse);
#   - a recording written before the first clear has both sleeps' busybox
#     blocks under their own pids and paths (/bin/busybox,
#     /tmp/alt/busybox), and -cov's file, written at power-off, the
#     poweroff process and the kernel.
# Prints PASS/FAIL/SKIP lines and "N passed, N failed, N skipped".
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tests/system/lib.sh"
system_test_args "$@"
covbin=$builddir/loom-cov
kernel=$root/build/guest/vmlinuz
initrd=$root/build/guest/initrd.img
tmp=$(mktemp -d)
vm=
cleanup() {
	[ -n "$vm" ] && kill "$vm" 2>/dev/null && wait "$vm" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
[ -n "${OSI_KEEP:-}" ] && trap 'echo "kept $tmp"' EXIT


if [ ! -s "$kernel" ] || [ ! -s "$initrd" ]; then
	skip osi "no build/guest/vmlinuz or initrd.img (scripts/guest-kernel.sh)"
	finish
fi
for b in "$bin" "$covbin"; do
	if [ ! -x "$b" ]; then
		fail osi "$b is not built"
		finish
	fi
done

mon() { hmp "$tmp/mon.sock" "$@"; }

# wait_for LINE SECONDS: until the console shows LINE (0), or not (1).
wait_for() {
	local i
	for ((i = 0; i < $2 * 2; i++)); do
		tr -d '\r' <"$tmp/serial" | grep -qxF -- "$1" && return 0
		kill -0 "$vm" 2>/dev/null || return 1
		sleep 0.5
	done
	return 1
}
# section NAME: the console's lines after "== osi NAME" up to the next "=="
section() {
	tr -d '\r' <"$tmp/serial" | awk -v s="== osi $1" '
		$0 == s { on = 1; next } /^== / { on = 0 } on'
}

# Two small modules from the kernel's own package (scripts/guest-kernel.sh
# keeps it in build/guest/deb), in a second cpio archive after the
# initramfs (the kernel unpacks them one after the other); the script
# loads what it finds in /osi.
deb=$(ls "$root"/build/guest/deb/linux-image-*.deb 2>/dev/null | tail -n 1)
mods=0
if [ -n "$deb" ]; then
	mkdir -p "$tmp/extra/osi"
	for m in crc7 crc-itu-t; do
		dpkg-deb --fsys-tarfile "$deb" | tar -x -O --wildcards "*/kernel/lib/$m.ko" \
			>"$tmp/extra/osi/$m.ko" 2>/dev/null && mods=$((mods + 1))
	done
	(cd "$tmp/extra" && find . | busybox cpio -o -H newc 2>/dev/null | gzip) >"$tmp/extra.gz"
	cat "$initrd" "$tmp/extra.gz" >"$tmp/initrd.img"
	initrd=$tmp/initrd.img
fi

mkfifo "$tmp/in"
# An empty layout cache: this boot reads the layout from the kernel image
# and leaves a record (src/system/osi/cache.h) for the next.  pti=on: the
# CPU model says it is immune to Meltdown, so the kernel would run without
# page-table isolation; introspection and attributed coverage must also
# work with a process's two page-table roots.
LOOM_CACHE_DIR=$tmp/cache "$bin" -M pc -m 256 -nographic -no-reboot -kernel "$kernel" -initrd "$initrd" \
	-append "console=ttyS0 quiet panic=-1 pti=on loom.osi=1" \
	-monitor "unix:$tmp/mon.sock,server,nowait" -cov "$tmp/all.drcov" \
	-control "$tmp/ctl.sock" \
	<"$tmp/in" >"$tmp/serial" 2>"$tmp/err" &
vm=$!
exec 3>"$tmp/in"
if ! wait_for "== osi ready" 300; then
	fail osi-boot "the guest script did not reach '== osi ready'" \
		"$(tr -d '\r' <"$tmp/serial" | tail -n 5)" "$(tail -n 3 "$tmp/err")"
	finish
fi
pass osi-boot
if [ -n "$(find "$tmp/cache" -name 'osi-*' -size +0 2>/dev/null)" ]; then
	pass osi-cache-written
else
	fail osi-cache-written "no layout record in $tmp/cache" "$(ls -la "$tmp/cache" 2>&1)"
fi

# --- info procs ---------------------------------------------------------------
section ps | awk 'NR > 1 { print $1, $2, $3 }' >"$tmp/ps"
section maps >"$tmp/maps"
awk '{ print $1 }' "$tmp/maps" | sort -u >"$tmp/user-pids"
mon "info procs" >"$tmp/procs"
# pid ppid kind name, one process or thread a line
awk 'NR > 1 && $1 ~ /^[0-9]+$/ { print $1, $2, $3, $5 }' "$tmp/procs" >"$tmp/walk"
bad=$(awk -v pspid="$(awk '$3 == "ps" { print $1 }' "$tmp/ps")" '
	FILENAME == ARGV[1] { ppid[$1] = $2; name[$1] = $4; next }
	$1 == pspid || $3 ~ /^kworker/ { next }
	!($1 in ppid) { print "pid " $1 " (" $3 ") missing"; next }
	ppid[$1] != $2 { print "pid " $1 ": ppid " ppid[$1] ", ps says " $2 }
	# ps prints 15 characters at most
	substr(name[$1], 1, 15) != $3 { print "pid " $1 ": name " name[$1] ", ps says " $3 }
	' "$tmp/walk" "$tmp/ps")
n=$(wc -l <"$tmp/ps")
if [ -z "$bad" ] && [ "$n" -gt 20 ]; then
	pass "osi-info-procs ($n processes of ps)"
else
	fail osi-info-procs "ps listed $n" "$(echo "$bad" | head -n 5)" "$(head -n 5 "$tmp/procs")"
fi
# user processes are those with maps, kernel threads those without
bad=$(awk '
	FILENAME == ARGV[1] { user[$1] = 1; next }
	$3 == "thread" { next }
	($3 == "user") != ($1 in user) { print "pid " $1 " (" $4 ") is " $3 }
	' "$tmp/user-pids" "$tmp/walk" | head -n 5)
if [ -z "$bad" ] && grep -q ' user ' "$tmp/walk" && grep -q ' kthread ' "$tmp/walk"; then
	pass osi-info-procs-kinds
else
	fail osi-info-procs-kinds "$bad"
fi

# --- info modules ---------------------------------------------------------------
mon "info modules" >"$tmp/modules"
text=$(section kernel | awk '$3 == "_text" { print $1 }')
kend=$(section kernel | awk '$3 == "_end" { print $1 }')
got=$(awk '$1 == "[kernel]" { print $2, $3 }' "$tmp/modules")
want=$(printf '0x%016x 0x%x' "0x$text" $((0x$kend - 0x$text)))
if [ -n "$text" ] && [ "$got" = "$want" ]; then
	pass "osi-info-modules-kernel ($got)"
else
	fail osi-info-modules-kernel "want $want (kallsyms _text, _end - _text), got '$got'"
fi
bad=$(section modules | awk '{ print $1, $6 }' | while read -r name addr; do
	grep -qE "^$name +0x0*${addr#0x} " "$tmp/modules" || echo "$name at $addr"
done)
nmod=$(section modules | grep -c .)
if [ -z "$bad" ] && [ "$(awk 'NR > 2' "$tmp/modules" | grep -c .)" -eq "$nmod" ] &&
	[ "$nmod" -eq "$mods" ]; then
	pass "osi-info-modules-list ($nmod modules in /proc/modules)"
else
	fail osi-info-modules-list "$bad" "/proc/modules has $nmod, $mods loaded" \
		"$(cat "$tmp/modules")"
fi
[ -n "$deb" ] || skip osi-info-modules-loaded "no build/guest/deb/linux-image-*.deb to take modules from"

# --- info modules PID -----------------------------------------------------------
nlines=0
bad=
for p in $(cat "$tmp/user-pids"); do
	# /proc/PID/maps: start-end perms offset dev inode path
	awk -v p="$p" '$1 == p && $3 ~ /x/ && $7 ~ /^\// {
		split($2, r, "-"); print "0x" r[1], "0x" r[2], "0x" $4, $7 }' \
		"$tmp/maps" | sed 's/0x0*\([0-9a-f]\)/0x\1/g' | sort >"$tmp/want.$p"
	mon "info modules $p" | awk 'NR > 1 { print $1, $2, $3, $4 }' |
		sed 's/0x0*\([0-9a-f]\)/0x\1/g' | sort >"$tmp/got.$p"
	nlines=$((nlines + $(wc -l <"$tmp/want.$p")))
	if ! cmp -s "$tmp/want.$p" "$tmp/got.$p"; then
		bad="$bad pid $p: $(diff "$tmp/want.$p" "$tmp/got.$p" | head -n 3 | tr '\n' ' ')"
	fi
done
npids=$(wc -l <"$tmp/user-pids")
if [ -z "$bad" ] && [ "$nlines" -gt 0 ]; then
	pass "osi-info-modules-pid ($npids processes, $nlines executable file mappings)"
else
	fail osi-info-modules-pid "$bad"
fi
# manymaps (tests/system/guest/manymaps.c) has a VMA per page of 128: the
# walk above went through a maple tree of more than one level for it
mm=$(awk '$3 == "manymaps" { print $1 }' "$tmp/ps")
nvma=$(awk -v p="$mm" '$1 == p' "$tmp/maps" | wc -l)
if [ -n "$mm" ] && [ "$nvma" -ge 100 ] && grep -q '/test/manymaps' "$tmp/got.$mm" 2>/dev/null; then
	pass "osi-info-modules-deep-tree (pid $mm, $nvma mappings)"
else
	fail osi-info-modules-deep-tree "manymaps pid '$mm', $nvma mappings, info modules:" \
		"$(cat "$tmp/got.$mm" 2>/dev/null)"
fi
# the second sleep runs from /tmp/alt/busybox
alt=$(awk '$3 == "sleep" { print $1 }' "$tmp/ps" | while read -r p; do
	grep -l '/tmp/alt/busybox' "$tmp/got.$p" 2>/dev/null; done | wc -l)
if [ "$alt" -eq 1 ]; then pass osi-info-modules-other-path; else
	fail osi-info-modules-other-path "want one sleep from /tmp/alt/busybox, got $alt"; fi
if mon "info modules 99999" | grep -q 'no process 99999' &&
	mon "info modules x1" | grep -q "'x1' is not a process id"; then
	pass osi-info-modules-bad-pid
else
	fail osi-info-modules-bad-pid "$(mon "info modules 99999" "info modules x1")"
fi

# --- attributed coverage -----------------------------------------------------------
mon "cov write $tmp/boot.drcov" "cov clear" >"$tmp/cov.out"
sleep 3
mon "cov write $tmp/idle.drcov" "cov clear" >>"$tmp/cov.out"
echo go >&3
if ! wait_for "== osi done" 120; then
	fail osi-run "no '== osi done'" "$(tr -d '\r' <"$tmp/serial" | tail -n 3)"
	finish
fi
mon "cov write $tmp/run.drcov" "cov write $tmp/run.txt modoff" >>"$tmp/cov.out"
if [ "$(grep -c '^ok' "$tmp/cov.out")" -eq 6 ] &&
	grep -q '^ok [0-9]* blocks written to .*run.txt' "$tmp/cov.out"; then
	pass osi-cov-commands
else
	fail osi-cov-commands "$(cat "$tmp/cov.out")"
fi
mpid=$(tr -d '\r' <"$tmp/serial" | sed -n 's/^osi md5sum pid //p')
# busybox's executable segment, [offset, offset + filesz), from its ELF
# program headers (the initramfs holds this very file)
cat >"$tmp/seg.py" <<'EOF'
import struct, sys
d = open(sys.argv[1], "rb").read()
phoff, = struct.unpack_from("<Q", d, 32)
phentsize, phnum = struct.unpack_from("<HH", d, 54)
for i in range(phnum):
    t, flags, off, va, pa, filesz = struct.unpack_from("<IIQQQQ", d, phoff + i * phentsize)
    if t == 1 and flags & 1:
        print(off, off + filesz)
EOF
seg=$(python3 "$tmp/seg.py" /bin/busybox)
read -r seg_lo seg_hi <<<"$seg"
# modoff lines NAME+0xOFF: the md5sum's busybox blocks, in and out of it
inout=$(awk -F+ -v m="md5sum[$mpid]:busybox" -v lo="${seg_lo:-1}" -v hi="${seg_hi:-0}" '
	function hex(s,  i, n) {
		n = 0; s = tolower(s); sub(/^0x/, "", s)
		for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
		return n
	}
	$1 == m { o = hex($2); if (o >= lo && o < hi) i++; else out++ }
	END { print i + 0, out + 0 }' "$tmp/run.txt")
read -r nin nout <<<"$inout"
if [ -n "$mpid" ] && [ -n "$seg_lo" ] && [ "$nin" -gt 100 ] && [ "$nout" -eq 0 ] &&
	"$covbin" summary "$tmp/run.drcov" | grep -qF " md5sum[$mpid]:/bin/busybox"; then
	pass "osi-cov-process-blocks ($nin blocks of md5sum[$mpid]:/bin/busybox in [$seg_lo, $seg_hi))"
else
	fail osi-cov-process-blocks "pid '$mpid', segment '$seg', $nin in, $nout out" \
		"$("$covbin" summary "$tmp/run.drcov" | head -n 8)"
fi
ksize=$((0x${kend:-0} - 0x${text:-0}))
inout=$(awk -F+ -v hi="$ksize" '
	function hex(s,  i, n) {
		n = 0; s = tolower(s); sub(/^0x/, "", s)
		for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
		return n
	}
	$1 == "[kernel]" { o = hex($2); if (o < hi) i++; else out++ }
	END { print i + 0, out + 0 }' "$tmp/run.txt")
read -r nin nout <<<"$inout"
if [ "$ksize" -gt 0 ] && [ "$nin" -gt 1000 ] && [ "$nout" -eq 0 ]; then
	pass "osi-cov-kernel-blocks ($nin blocks of [kernel] below _end - _text)"
else
	fail osi-cov-kernel-blocks "$nin in, $nout out of [0, $ksize)"
fi
"$covbin" diff "$tmp/idle.drcov" "$tmp/run.drcov" >"$tmp/diff" 2>"$tmp/diff.err"
procs=$(cut -d+ -f1 "$tmp/diff" | sort | uniq -c | awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $2, $1 }')
if grep -q "^md5sum\[$mpid\]:busybox+0x" "$tmp/diff" && grep -q '^\[kernel\]+0x' "$tmp/diff" &&
	! grep -qE '^(sleep|init)\[' "$tmp/diff"; then
	pass "osi-cov-diff ($procs)"
else
	fail osi-cov-diff "diff lines by module: $procs" "$(head -n 2 "$tmp/diff.err")"
fi
# the control channel's cov commands are the monitor's (loom-ctl)
ctl=$builddir/loom-ctl
if [ ! -x "$ctl" ]; then
	fail osi-cov-control "$ctl is not built (make loom-ctl)"
elif "$ctl" "$tmp/ctl.sock" status >"$tmp/ctl.out" 2>&1 &&
	"$ctl" "$tmp/ctl.sock" cov write "$tmp/ctl.txt" modoff >>"$tmp/ctl.out" 2>&1 &&
	grep -q ' cov=on blocks=[1-9]' "$tmp/ctl.out" &&
	grep -q '^ok [0-9]* blocks written' "$tmp/ctl.out" &&
	cmp -s <(grep "^md5sum\[$mpid\]" "$tmp/run.txt") <(grep "^md5sum\[$mpid\]" "$tmp/ctl.txt"); then
	pass osi-cov-control
else
	fail osi-cov-control "$(cat "$tmp/ctl.out")"
fi
# one process's view of one file, as Lighthouse loads it: the export
# holds that module alone, with every block the recording has for it
n_all=$(grep -c "^md5sum\[$mpid\]:busybox+" "$tmp/run.txt")
if "$covbin" export --format drcov --module "md5sum[$mpid]:busybox" "$tmp/run.drcov" \
	-o "$tmp/one.drcov" && "$covbin" summary "$tmp/one.drcov" >"$tmp/one.sum" &&
	grep -qx 'modules: 1' "$tmp/one.sum" &&
	grep -qE "^md5sum\[$mpid\]:busybox +$n_all " "$tmp/one.sum" &&
	! "$covbin" export --format drcov --module "nosuch[1]:x" "$tmp/run.drcov" \
		-o "$tmp/none.drcov" 2>/dev/null; then
	pass "osi-cov-export-module ($n_all blocks)"
else
	fail osi-cov-export-module "$(cat "$tmp/one.sum" 2>/dev/null | head -n 6)"
fi
# the idle machine ran no process: its recording is the kernel's alone
if "$covbin" export --format modoff "$tmp/idle.drcov" -o "$tmp/idle.txt" &&
	grep -q '^\[kernel\]+0x' "$tmp/idle.txt" && ! grep -qv '^\[kernel\]' "$tmp/idle.txt"; then
	pass osi-cov-idle
else
	fail osi-cov-idle "$(grep -v '^\[kernel\]' "$tmp/idle.txt" | cut -d+ -f1 | sort -u | head -n 3)"
fi

echo go >&3
wait_for "== end" 60
wait "$vm"
vm=
# what ran since boot, written before the first clear: both sleeps, each
# under its own pid and path
sleeps=$(awk '$3 == "sleep" { print $1 }' "$tmp/ps" | sort -n | tr '\n' ' ')
read -r s1 s2 <<<"$sleeps"
if "$covbin" summary "$tmp/boot.drcov" >"$tmp/boot.sum" 2>&1 &&
	grep -qE "^sleep\[$s1\]:busybox +[1-9][0-9]* .* sleep\[$s1\]:/bin/busybox\$" "$tmp/boot.sum" &&
	grep -qE "^sleep\[$s2\]:busybox +[1-9][0-9]* .* sleep\[$s2\]:/tmp/alt/busybox\$" "$tmp/boot.sum"; then
	pass "osi-cov-sleeps (sleep[$s1] from /bin/busybox, sleep[$s2] from /tmp/alt/busybox)"
else
	fail osi-cov-sleeps "sleeps $sleeps" "$(grep -E 'sleep|total' "$tmp/boot.sum" | head -n 4)"
fi
# the same code run by two processes is attributed to both: busybox's
# entry point (a file offset, from its ELF header and program headers)
# starts a block that every process exec'ing /bin/busybox runs at the
# same virtual and physical address, one translated block; sleep[$s1]
# must have it, and so must another /bin/busybox process
cat >"$tmp/entry.py" <<'EOF2'
import struct, sys
d = open(sys.argv[1], "rb").read()
entry, phoff = struct.unpack_from("<QQ", d, 24)
phentsize, phnum = struct.unpack_from("<HH", d, 54)
for i in range(phnum):
    t, flags, off, va, pa, filesz = struct.unpack_from("<IIQQQQ", d, phoff + i * phentsize)
    if t == 1 and va <= entry < va + filesz:
        print("0x%08x" % (entry - va + off))  # as loom-cov writes offsets
EOF2
eoff=$(python3 "$tmp/entry.py" /bin/busybox)
"$covbin" export --format modoff "$tmp/boot.drcov" -o "$tmp/boot.txt" 2>/dev/null
# the modules of /bin/busybox (a process's module is named comm[pid]:busybox
# in modoff lines, its path in the summary's last column)
with=$(awk '$NF ~ /:\/bin\/busybox$/ { print $1 }' "$tmp/boot.sum" | while read -r m; do
	grep -qixF "$m+$eoff" "$tmp/boot.txt" && echo "$m"
done)
nwith=$(echo "$with" | grep -c .)
if [ -n "$eoff" ] && [ -n "$s1" ] && echo "$with" | grep -qxF "sleep[$s1]:busybox" &&
	[ "$nwith" -ge 2 ]; then
	pass "osi-cov-shared-code (busybox+$eoff in $nwith processes, sleep[$s1] among them)"
else
	fail osi-cov-shared-code "entry offset '$eoff'; processes with it: $(echo $with)"
fi
# -cov's file, written at power-off: what ran since the last clear, the
# script's end and poweroff among it
if "$covbin" summary "$tmp/all.drcov" >"$tmp/all.sum" 2>&1 &&
	grep -qE '^poweroff\[[0-9]+\]:busybox +[1-9]' "$tmp/all.sum" &&
	grep -qE '^\[kernel\] +[1-9]' "$tmp/all.sum"; then
	pass osi-cov-file-at-exit
else
	fail osi-cov-file-at-exit "$(head -n 8 "$tmp/all.sum")" "$(tail -n 3 "$tmp/err")"
fi
finish
