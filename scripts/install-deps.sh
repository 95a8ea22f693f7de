#!/bin/sh
# Install the Debian 12 packages that loom's build, tests and benchmarks need.
# Idempotent: asks dpkg which are missing and installs only those, so a
# machine that already has everything prints nothing and touches nothing.
set -eu

PACKAGES="build-essential libzydis-dev musl-tools busybox-static qemu-user nasm
python3 hyperfine libglib2.0-dev file perl mawk xz-utils bzip2 openssl sqlite3
binutils lcov git jq bc tcl zstd nodejs libpython3.11-testsuite strace afl++ gdb gawk
acpica-tools qemu-system-x86 liblzma-dev lz4 dwarves libslirp-dev curl valgrind"
# rustc: Debian's, unless one is already on PATH (rustup's, say).
command -v rustc >/dev/null 2>&1 || PACKAGES="$PACKAGES rustc"
# binutils and lcov: tests/cov; the rest is what tests/programs/{debian,
# cpython,strace}.sh run (about 15 MB to download, most of it nodejs); they
# skip, visibly, a program that is missing.  nasm builds the bare-metal test
# image (tests/system); qemu-system-x86 is loom-system's peer (tests/system,
# tests/unit/test_dev_hpet reads its HPET through the monitor); acpica-tools:
# iasl, which tests/unit/test_dev_acpi disassembles the ACPI tables with;
# liblzma-dev: src/system/osi/ decompresses the guest kernel's vmlinux with
# it; lz4 and dwarves (pahole): the osi unit tests compress a test payload
# with lz4 and check BTF offsets against pahole; libslirp-dev: loom-system's
# user-mode network (-nic user); curl: tests/system/virtio.sh fetches pages
# from the guest's web server with it; valgrind: bench/hipg.sh counts host
# instructions per guest instruction with callgrind.

missing=""
for p in $PACKAGES; do
	if ! dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1; then
	SUDO="sudo"
else
	echo "install-deps: missing packages:$missing" >&2
	echo "install-deps: not root and no sudo; install them by hand" >&2
	exit 1
fi

echo "install-deps: installing:$missing"
# env(1) rather than export: sudo may drop the caller's environment.
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
# shellcheck disable=SC2086  # word splitting of the package list is wanted
$SUDO env DEBIAN_FRONTEND=noninteractive \
	apt-get install -y -q --no-install-recommends $missing
