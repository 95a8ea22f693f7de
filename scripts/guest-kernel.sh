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
#                     build/tests/system/guest) and put there instead; and in
#                     /lib/modules/virtio the kernel package's virtio modules
#                     (PCI transport, blk, net and what they depend on), with
#                     /lib/modules/virtio/order, the order insmod needs
# Idempotent: the kernel package is downloaded once (apt-get download, into
# OUTDIR/deb) and reused while linux-image-amd64 names the same version; the
# initramfs is rebuilt only when /init (this script), busybox, a test file or
# a test program is newer.
# Needs apt-get (root, or the package already downloaded), busybox-static,
# musl-tools and objcopy (binutils: a module's dependencies are in its
# .modinfo section).
#
# /init boots as before unless the kernel's command line has loom.test=virtio:
# then it loads the virtio modules, brings eth0 up with DHCP if a NIC is
# there, and runs /test/virtio instead of /test/run (tests/system/virtio.sh).
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/build/guest}
mkdir -p "$out/deb"
out=$(cd "$out" && pwd)

die() { echo "guest-kernel: $*" >&2; exit 1; }

# keep_modules DIR: from the package extracted in DIR, keep the virtio
# modules (and net_failover's) in OUTDIR/modules, for the initramfs.
keep_modules() {
	rm -rf "$out/modules"
	mkdir -p "$out/modules"
	find "$1"/lib/modules -name '*.ko' | while read -r ko; do
		case $(basename "$ko") in
		virtio*.ko | net_failover.ko | failover.ko) cp "$ko" "$out/modules/" ;;
		esac
	done
	[ -e "$out/modules/virtio.ko" ] || die "no virtio.ko in $deb"
}

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
	keep_modules "$tmp"
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
# The virtio modules of a kernel extracted before they were kept: extract
# them now.
if [ ! -e "$out/modules/virtio.ko" ]; then
	tmp=$out/deb/x
	rm -rf "$tmp"
	dpkg-deb -x "$deb" "$tmp" || die "dpkg-deb -x $deb failed"
	keep_modules "$tmp"
	rm -rf "$tmp"
fi
command -v objcopy >/dev/null || die "objcopy is missing (apt-get install binutils)"

# A module's dependencies, from its .modinfo (what modinfo -F depends says).
mod_depends() {
	objcopy -O binary --only-section=.modinfo "$out/modules/$1.ko" "$out/modinfo.tmp" &&
		tr '\0' '\n' <"$out/modinfo.tmp" | sed -n 's/^depends=//p' | tr ',' ' '
	rm -f "$out/modinfo.tmp"
}
# Append a module to the load order after what it depends on.
mod_order=""
mod_add() {
	case " $mod_order " in *" $1 "*) return ;; esac
	[ -e "$out/modules/$1.ko" ] || die "module $1 is not in the kernel package"
	for d in $(mod_depends "$1"); do
		mod_add "$d"
	done
	mod_order="$mod_order $1"
}

need=0
[ -s "$out/initrd.img" ] || need=1
for f in "$bb" "$0" "$tests"/* "$progs"/*; do
	[ -e "$f" ] || continue
	[ "$f" -nt "$out/initrd.img" ] && need=1
done
if [ $need = 1 ]; then
	ir=$out/initramfs
	rm -rf "$ir"
	mkdir -p "$ir/bin" "$ir/sbin" "$ir/proc" "$ir/sys" "$ir/dev" "$ir/tmp" "$ir/test" "$ir/etc" \
		"$ir/lib/modules/virtio"
	cp "$bb" "$ir/bin/busybox"
	for m in virtio_pci virtio_blk virtio_net; do
		mod_add "$m"
	done
	for m in $mod_order; do
		cp "$out/modules/$m.ko" "$ir/lib/modules/virtio/"
		echo "$m" >>"$ir/lib/modules/virtio/order"
	done
	# udhcpc's hook: configure eth0 as the server says (busybox ip).
	cat >"$ir/etc/udhcpc.script" <<'DHCP'
#!/bin/sh
case $1 in
deconfig) ip addr flush dev "$interface"; ip link set "$interface" up ;;
bound | renew)
	ip addr flush dev "$interface"
	ip addr add "$ip/${mask:-24}" dev "$interface"
	for r in $router; do ip route add default via "$r" dev "$interface"; break; done
	: >/etc/resolv.conf
	for d in $dns; do echo "nameserver $d" >>/etc/resolv.conf; done
	;;
esac
exit 0
DHCP
	chmod 755 "$ir/etc/udhcpc.script"
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
case " $(cat /proc/cmdline) " in
*" loom.test=virtio "*)
	# The virtio drivers, in dependency order; then the network, if any.
	for m in $(cat /lib/modules/virtio/order); do
		insmod /lib/modules/virtio/$m.ko || echo "loom-guest: insmod $m failed"
	done
	if [ -e /sys/class/net/eth0 ]; then
		ip link set lo up
		udhcpc -i eth0 -s /etc/udhcpc.script -q -n -t 5 >/dev/null 2>&1 ||
			echo "loom-guest: udhcpc failed"
	fi
	/test/virtio
	echo "loom-guest: test exit $?"
	echo "loom-guest: poweroff"
	poweroff -f
	;;
esac
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
