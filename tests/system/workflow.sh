#!/usr/bin/env bash
# The differential-coverage workflow on a running machine, end to end (the
# sysboot subsuites):
#
#   tests/system/workflow.sh BUILDDIR
#
# BUILDDIR/loom-system boots Debian's kernel (build/guest/vmlinuz and
# initrd.img from scripts/guest-kernel.sh; a visible SKIP without them)
# with a virtio NIC on user networking, its port 80 forwarded to a host
# port, and loom.test=virtio, so the guest (tests/system/guest/virtio)
# brings eth0 up and serves a page, a shell CGI script (sum) and a compiled
# one built with -g (csum, tests/system/guest/cgisum.c) with busybox
# httpd, then waits on a FIFO.  With -cov (coverage attributed to
# process and module) and the monitor:
#   1. `cov clear`, the machine idles 3 s, `cov write base.drcov`;
#   2. `cov clear`, the host fetches the page and both CGI outputs twice
#      (checking the bytes), `cov write new.drcov`;
#   3. the host fetches /cgi-bin/done and the guest powers off.
# Checked with BUILDDIR/loom-cov:
#   - `diff base new` names the server (httpd, the process that accepts
#     and the child that answers), both CGI programs (sum, with the uname
#     its $(uname -s) runs, and csum) and the kernel's network path: its
#     virtio_net module as well as the kernel image;
#   - it names no other process but init, which reaps the CGI processes
#     httpd leaves orphaned: the idle ones (the guest script waiting on its
#     FIFO, udhcpc) stayed asleep, and a diff keeps only what base did not
#     run;
#   - the idle recording has no block of the server or the CGI programs;
#   - every csum block lies inside the executable segment of the file the
#     initramfs holds (build/tests/system/guest/cgisum, read on the host);
#   - `loom-cov export --format lcov --module csum[PID]:... --file` that
#     file gives line records of cgisum.c (what genhtml reads): main and
#     field hit, the line printing the sum hit, the no-query and
#     negative-number lines not; a drcov export of the module holds it
#     alone (what Lighthouse loads).
# The diff's blocks per process and module go to the log.
# WORKFLOW_KEEP=DIR keeps the recordings and the lcov file there.
# Prints PASS/FAIL/SKIP lines and "N passed, N failed, N skipped".
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
builddir=${1:?usage: $0 BUILDDIR}
case $builddir in /*) ;; *) builddir=$(cd "$builddir" && pwd) ;; esac
bin=$builddir/loom-system
cov=$builddir/loom-cov
kernel=$root/build/guest/vmlinuz
initrd=$root/build/guest/initrd.img
cgi=$root/build/tests/system/guest/cgisum

. "$root/tests/system/lib.sh"

if [ ! -f "$kernel" ] || [ ! -f "$initrd" ]; then
	skip workflow "no $kernel or $initrd (scripts/guest-kernel.sh)"
	finish
fi
for b in "$bin" "$cov" "$cgi"; do
	[ -x "$b" ] || { fail workflow "$b is not built (make system-guest, loom-cov)"; finish; }
done
if ! command -v curl >/dev/null; then
	fail workflow "curl is missing (scripts/install-deps.sh installs it)"
	finish
fi

tmp=$(mktemp -d)
vm=
cleanup() {
	[ -n "$vm" ] && kill -9 "$vm" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
[ -n "${WORKFLOW_KEEP:-}" ] && trap "cp $tmp/*.drcov $tmp/*.info $WORKFLOW_KEEP/ 2>/dev/null; cleanup" EXIT

mon() { hmp "$tmp/mon.sock" "$@"; }

# A free port: bind 0, read it back (a race with another process taking it
# in between makes the boot fail with one line, not a wrong result).
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin" -M pc -m 256 -nographic -no-reboot -kernel "$kernel" -initrd "$initrd" \
	-append "console=ttyS0 quiet panic=-1 loom.test=virtio" \
	-nic "user,hostfwd=tcp:127.0.0.1:$port-:80" \
	-monitor "unix:$tmp/mon.sock,server,nowait" -cov "$tmp/all.drcov" \
	</dev/null >"$tmp/serial" 2>"$tmp/err" &
vm=$!
up=0
for ((i = 0; i < 600; i++)); do
	tr -d '\r' <"$tmp/serial" 2>/dev/null | grep -qx 'virtio: httpd up' && { up=1; break; }
	kill -0 "$vm" 2>/dev/null || break
	sleep 0.5
done
if [ $up = 0 ]; then
	fail workflow-boot "the guest's httpd did not come up" \
		"$(tr -d '\r' <"$tmp/serial" | tail -n 5)" "$(tail -n 3 "$tmp/err")"
	finish
fi
pass workflow-boot

# get PATH WANT: the body the server sends for PATH must be WANT.
get() {
	local got
	got=$(curl -s --max-time 30 "http://127.0.0.1:$port$1")
	[ "$got" = "$2" ] || fetch_errors+=("$1: '$got', want '$2'")
}

# 1. The idle machine.  Give the shell time to block on its FIFO first.
sleep 1
mon "cov clear" >/dev/null
sleep 3
mon "cov write $tmp/base.drcov" >"$tmp/mon1"
# 2. The requests.
mon "cov clear" >/dev/null
fetch_errors=()
for k in 1 2; do
	get / "hello from the guest"
	get "/cgi-bin/sum?a=$k&b=40" "sum $((k + 40)) from Linux"
	get "/cgi-bin/csum?a=$k&b=1000" "csum $((k + 1000))"
done
mon "cov write $tmp/new.drcov" >"$tmp/mon2"
if [ ${#fetch_errors[@]} -eq 0 ]; then
	pass workflow-requests
else
	fail workflow-requests "${fetch_errors[@]}"
fi
# 3. Done: the guest powers off.
curl -s --max-time 30 "http://127.0.0.1:$port/cgi-bin/done" >/dev/null
for ((i = 0; i < 120; i++)); do
	kill -0 "$vm" 2>/dev/null || break
	sleep 0.5
done
if kill -0 "$vm" 2>/dev/null; then
	fail workflow-poweroff "the guest did not power off after /cgi-bin/done"
	kill -9 "$vm"
else
	wait "$vm"
	st=$?
	[ $st -eq 0 ] && pass workflow-poweroff || fail workflow-poweroff "exit status $st"
fi
vm=

for f in base new; do
	if [ ! -s "$tmp/$f.drcov" ]; then
		fail workflow-recordings "no $f.drcov" "$(cat "$tmp/mon1" "$tmp/mon2")"
		finish
	fi
done

"$cov" diff "$tmp/base.drcov" "$tmp/new.drcov" >"$tmp/diff" 2>"$tmp/diff.err"
# module of each diff line: process[pid]:file or [kernel][:module]
sed 's/+0x[0-9a-f]*$//' "$tmp/diff" | sort | uniq -c | sort -rn >"$tmp/per-module"
echo "    blocks of new.drcov not in base.drcov, per process and module:"
sed 's/^/      /' "$tmp/per-module"
procs=$(sed -n 's/^\([^[]*\)\[[0-9]*\]:.*/\1/p' "$tmp/diff" | sort -u | tr '\n' ' ')
missing=()
for want in httpd sum csum '[kernel]' '[kernel]:virtio_net'; do
	case $want in
	'['*) grep -q "^$(printf '%s' "$want" | sed 's/[][]/\\&/g')+0x" "$tmp/diff" || missing+=("$want") ;;
	*) [[ " $procs " == *" $want "* ]] || missing+=("$want") ;;
	esac
done
if [ ${#missing[@]} -eq 0 ]; then
	pass "workflow-diff-reached ($(wc -l <"$tmp/diff") blocks; processes: $procs)"
else
	fail workflow-diff-reached "the diff lacks: ${missing[*]}" "processes in it: $procs" \
		"$(head -n 3 "$tmp/diff.err")"
fi
# The vDSO that httpd's children call for the time (the code of no file
# the kernel maps in every process, which /proc/PID/maps names [vdso]) has
# that name, and no other code of no file ran.
if grep -q '^httpd\[[0-9]*\]:\[vdso\]+0x' "$tmp/diff" && ! grep -q ':\[anon\]+0x' "$tmp/diff"; then
	pass workflow-diff-vdso
else
	fail workflow-diff-vdso "expected httpd[PID]:[vdso] lines and no [anon] ones" \
		"$(grep -E ':\[(vdso|anon)\]' "$tmp/per-module")"
fi
# Only the server and its CGI children ran new code: `uname` is what the
# sum script's $(uname -s) runs, and init (pid 1) reaps the CGI processes:
# httpd's connection child relays a CGI program's output and exits without
# waiting for it, so the CGI process ends an orphan.  The guest script
# blocked on its FIFO (virtio) and udhcpc stayed asleep.
extra=$(for p in $procs; do case $p in httpd | sum | csum | uname | init) ;; *) echo "$p" ;; esac; done)
if [ -z "$extra" ]; then
	pass workflow-diff-no-idle
else
	fail workflow-diff-no-idle "processes in the diff that did not serve a request:" $extra
fi
"$cov" export --format modoff "$tmp/base.drcov" -o "$tmp/base.modoff" 2>/dev/null
if [ -s "$tmp/base.modoff" ] && ! grep -qE '^(httpd|sum|csum)\[' "$tmp/base.modoff"; then
	pass workflow-idle-quiet
else
	fail workflow-idle-quiet "the idle recording has server or CGI blocks:" \
		"$(grep -E '^(httpd|sum|csum)\[' "$tmp/base.modoff" | head -n 3)"
fi

# csum's blocks against its executable segment, from its ELF on the host.
csum_mod=$(grep -o '^csum\[[0-9]*\]:[^+]*' "$tmp/diff" | head -n 1)
# (the flags column is "R E": two fields to awk)
seg=$(readelf -lW "$cgi" | awk '$1 == "LOAD" && / E +0x[0-9a-f]+$/ { print $2, $5 }' | head -n 1)
read -r seg_off seg_size <<<"$seg"
if [ -z "$csum_mod" ] || [ -z "$seg" ]; then
	fail workflow-csum-offsets "no csum module in the diff, or no executable segment in $cgi"
else
	bad=$(grep "^$(printf '%s' "$csum_mod" | sed 's/[][]/\\&/g')+" "$tmp/diff" |
		sed 's/.*+//' | while read -r o; do
			((o < seg_off || o >= seg_off + seg_size)) && echo "$o"
		done | head -n 3)
	n=$(grep -c "^$(printf '%s' "$csum_mod" | sed 's/[][]/\\&/g')+" "$tmp/diff")
	[ -z "$bad" ] && pass "workflow-csum-offsets ($n blocks in [$seg_off, +$seg_size))" ||
		fail workflow-csum-offsets "offsets outside the executable segment: $bad"
fi

# lcov (genhtml's input) and drcov (Lighthouse's) of the one module.
# cgisum.c's lines: 30 prints the sum, which every request reaches; 22
# (no query) and 28 (a negative number) no request does.
lines_of_cgi() {
	awk '/^SF:.*cgisum\.c$/ { on = 1; next } /^SF:/ { on = 0 }
		on && /^DA:/ { split(substr($0, 4), f, ","); print "DA:" f[1] (f[2] > 0 ? " hit" : " not") }' "$1"
}
full=$("$cov" summary "$tmp/new.drcov" 2>/dev/null | grep -o 'csum\[[0-9]*\]:/[^ ]*' | head -n 1)
"$cov" export --format lcov --module "${full:-$csum_mod}" --file "$cgi" "$tmp/new.drcov" \
	-o "$tmp/csum.info" 2>"$tmp/lcov.err"
if grep -q '^SF:.*cgisum\.c$' "$tmp/csum.info" 2>/dev/null &&
	grep -qE '^FNDA:[1-9][0-9]*,main$' "$tmp/csum.info" &&
	grep -qE '^FNDA:[1-9][0-9]*,field$' "$tmp/csum.info" &&
	lines_of_cgi "$tmp/csum.info" | grep -qx 'DA:30 hit' &&
	lines_of_cgi "$tmp/csum.info" | grep -qx 'DA:22 not' &&
	lines_of_cgi "$tmp/csum.info" | grep -qx 'DA:28 not'; then
	pass "workflow-lcov ($(grep -c '^DA:' "$tmp/csum.info") lines)"
else
	fail workflow-lcov "module '${full:-$csum_mod}'" "$(head -n 3 "$tmp/lcov.err")" \
		"$(head -n 5 "$tmp/csum.info" 2>/dev/null)"
fi
"$cov" export --format drcov --module "${full:-$csum_mod}" "$tmp/new.drcov" \
	-o "$tmp/csum.drcov" 2>/dev/null
mods=$("$cov" summary "$tmp/csum.drcov" 2>/dev/null | grep -c 'csum\[')
[ "$mods" -ge 1 ] && ! "$cov" summary "$tmp/csum.drcov" 2>/dev/null | grep -q 'httpd\[' &&
	pass workflow-drcov-module || fail workflow-drcov-module "$("$cov" summary "$tmp/csum.drcov" 2>&1 | head -n 5)"

finish
