#!/bin/sh
# Fetch Debian 12's own x86-64 kernel and build a busybox initramfs for it:
# the guest that loom-system (and qemu-system-x86_64, its peer in the tests)
# boots.
#
#   scripts/guest-kernel.sh [OUTDIR]      (default: build/guest)
#
# Prints the paths of the kernel and the initramfs, one per line:
#   OUTDIR/vmlinuz    the bzImage of the package linux-image-amd64 depends on
#   OUTDIR/initrd.img busybox-static, /init, and as /test/* the files of
#                     tests/system/guest but its C sources, which are built
#                     (make system-guest: static musl programs in
#                     build/tests/system/guest) and put there instead
# Idempotent: the kernel package is downloaded once (apt-get download, into
# OUTDIR/deb) and reused while linux-image-amd64 names the same version; the
# initramfs is rebuilt only when /init (this script), busybox, a test file or
# a test program is newer.
# Needs apt-get (root, or the package already downloaded), busybox-static and
# musl-tools.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/build/guest}
mkdir -p "$out/deb"
out=$(cd "$out" && pwd)

die() { echo "guest-kernel: $*" >&2; exit 1; }

# --- the kernel -------------------------------------------------------------
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
	sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n 1)
if [ -z "$pkg" ]; then
	# No package lists yet (a fresh machine): read them once.
	if [ "$(id -u)" -eq 0 ]; then
		apt-get update -q >/dev/null 2>&1 || true
		pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
			sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n 1)
	fi
fi
if [ -z "$pkg" ]; then
	# Offline: fall back to a package downloaded before.
	deb=$(ls "$out"/deb/linux-image-*-amd64_*.deb 2>/dev/null | tail -n 1)
	[ -n "$deb" ] || die "cannot tell which kernel linux-image-amd64 depends on (apt-cache depends) and none was downloaded before"
else
	deb=$(ls "$out"/deb/"$pkg"_*.deb 2>/dev/null | tail -n 1)
	if [ -z "$deb" ]; then
		(cd "$out/deb" && apt-get download -q "$pkg" >/dev/null) ||
			die "apt-get download $pkg failed"
		deb=$(ls "$out"/deb/"$pkg"_*.deb | tail -n 1)
	fi
fi
stamp=$out/vmlinuz.from
if [ ! -s "$out/vmlinuz" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$(basename "$deb")" ]; then
	tmp=$out/deb/x
	rm -rf "$tmp"
	dpkg-deb -x "$deb" "$tmp" || die "dpkg-deb -x $deb failed"
	vm=$(ls "$tmp"/boot/vmlinuz-* 2>/dev/null | head -n 1)
	[ -n "$vm" ] || die "no boot/vmlinuz-* in $deb"
	cp "$vm" "$out/vmlinuz.new"
	cp "$tmp"/boot/config-* "$out/config" 2>/dev/null || true
	mv "$out/vmlinuz.new" "$out/vmlinuz"
	basename "$deb" >"$stamp"
	rm -rf "$tmp"
fi

# --- the initramfs ----------------------------------------------------------
bb=/bin/busybox
[ -x "$bb" ] && "$bb" --list 2>/dev/null | grep -qx cpio ||
	die "busybox-static is missing (apt-get install busybox-static)"
file "$bb" 2>/dev/null | grep -q 'statically linked' ||
	die "$bb is not statically linked (install busybox-static, not busybox)"
tests=$root/tests/system/guest
progs=$root/build/tests/system/guest
# make decides which programs are out of date; its chatter goes to stderr,
# stdout carries only the two paths.
if ls "$tests"/*.c >/dev/null 2>&1; then
	make -s --no-print-directory -C "$root" system-guest >&2 ||
		die "cannot build the guest programs (make system-guest)"
fi
need=0
[ -s "$out/initrd.img" ] || need=1
for f in "$bb" "$0" "$tests"/* "$progs"/*; do
	[ -e "$f" ] || continue
	[ "$f" -nt "$out/initrd.img" ] && need=1
done
if [ $need = 1 ]; then
	ir=$out/initramfs
	rm -rf "$ir"
	mkdir -p "$ir/bin" "$ir/sbin" "$ir/proc" "$ir/sys" "$ir/dev" "$ir/tmp" "$ir/test" "$ir/etc"
	cp "$bb" "$ir/bin/busybox"
	cat >"$ir/init" <<'INIT'
#!/bin/busybox sh
# The guest's first process: mount the kernel's file systems, install the
# busybox applets, run /test/run if it exists (its output on the console),
# then power off.  rdinit=/bin/sh on the kernel's command line skips this.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp
echo "loom-guest: init up"
if [ -x /test/run ]; then
	/test/run
	echo "loom-guest: test exit $?"
fi
echo "loom-guest: poweroff"
poweroff -f
INIT
	chmod 755 "$ir/init"
	for f in "$tests"/*; do
		case $f in
		*.c | *"/*") ;;
		*) cp -r "$f" "$ir/test/" ;;
		esac
	done
	for f in "$tests"/*.c; do
		[ -e "$f" ] || continue
		p=$progs/$(basename "$f" .c)
		[ -x "$p" ] || die "$p was not built"
		cp "$p" "$ir/test/"
	done
	(cd "$ir" && find . | "$bb" cpio -o -H newc 2>/dev/null | gzip -9 >"$out/initrd.img.new")
	mv "$out/initrd.img.new" "$out/initrd.img"
	rm -rf "$ir"
fi
echo "$out/vmlinuz"
echo "$out/initrd.img"
