# loom: non-recursive GNU make.  Outputs go to build/<mode>/; build/loom and
# build/loom-system are the last linked binaries.  MODE=debug|release|asan
# (debug verifies IR after every pass).  `make test` builds the debug
# binaries and runs every test.
MODE ?= release
.DEFAULT_GOAL := all
CC ?= gcc
CFLAGS_COMMON := -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare \
	-Wno-missing-field-initializers -fno-strict-aliasing -Isrc -Iinclude \
	-D_GNU_SOURCE -fvisibility=default -pthread -MMD -MP \
	$(shell pkg-config --cflags glib-2.0 2>/dev/null)
CFLAGS_debug := -O1 -g -DLOOM_DEBUG
CFLAGS_release := -O2 -g -DNDEBUG
CFLAGS_asan := -O1 -g -DLOOM_DEBUG -fsanitize=address,undefined -fno-omit-frame-pointer
# glib: the plugin API hands plugins GArray/GByteArray and g_malloc'd strings.
# -rdynamic exports the qemu_plugin_* functions to plugins.
LDLIBS := -lZydis -lm -ldl -pthread -rdynamic $(shell pkg-config --libs glib-2.0 2>/dev/null || echo -lglib-2.0)
# What only libsystem.a needs: liblzma, with which src/system/osi/ reads the
# guest kernel's XZ-compressed vmlinux; libslirp, the user-mode network
# behind virtio-net (src/system/net-user.c).
SYSTEM_LDLIBS := -llzma -lslirp

# Three libraries, one per environment and the translator they share:
# libloom-core.a (ir, guest, host, exec, instrument, util), liblinux.a (user
# mode, src/linux/) and libsystem.a (whole-system mode, src/system/ but its
# front door).  loom links core and linux; loom-system core and system;
# unit tests link all three.
SRCS := $(sort $(wildcard src/*.c src/*/*.c src/*/*/*.c))
LINUX_SRCS := $(filter src/linux/%,$(SRCS))
SYSTEM_SRCS := $(filter-out src/system/main.c,$(filter src/system/%,$(SRCS)))
CORE_SRCS := $(filter-out src/main.c src/system/main.c $(LINUX_SRCS) $(SYSTEM_SRCS),$(SRCS))
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
# The bare-metal test image (rules below, with the other test programs).
BAREMETAL := build/tests/system/baremetal.bin

# Bundled plugins (plugins/*.c, one file each, public headers only) become
# build/<mode>/plugins/lib<name>.so, where `-plugin <name>` finds them.
PLUGIN_SRCS := $(sort $(wildcard plugins/*.c))
PLUGIN_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Wno-unused-parameter -fPIC -shared \
	-fvisibility=hidden -Iinclude $(shell pkg-config --cflags glib-2.0 2>/dev/null)
plugins_of = $(patsubst plugins/%.c,build/$(1)/plugins/lib%.so,$(PLUGIN_SRCS))

# $(call mode_rules,MODE)
define mode_rules
build/$(1)/obj/%.o: %.c
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS_COMMON) $$(CFLAGS_$(1)) $$(EXTRA_CFLAGS) -c $$< -o $$@
build/$(1)/libloom-core.a: $$(patsubst %.c,build/$(1)/obj/%.o,$$(CORE_SRCS))
	@rm -f $$@
	ar rcs $$@ $$^
build/$(1)/liblinux.a: $$(patsubst %.c,build/$(1)/obj/%.o,$$(LINUX_SRCS))
	@rm -f $$@
	ar rcs $$@ $$^
build/$(1)/libsystem.a: $$(patsubst %.c,build/$(1)/obj/%.o,$$(SYSTEM_SRCS))
	@rm -f $$@
	ar rcs $$@ $$^
# The whole archives: nothing in loom calls the plugin API's functions, but
# plugins must find them.
build/$(1)/loom: build/$(1)/obj/src/main.o build/$(1)/liblinux.a build/$(1)/libloom-core.a
	$$(CC) $$(CFLAGS_$(1)) -o $$@ $$< -Wl,--whole-archive build/$(1)/liblinux.a \
		build/$(1)/libloom-core.a -Wl,--no-whole-archive $$(LDLIBS)
	ln -sf $(1)/loom build/loom
# loom linked without PIE at 0x50000000, for bench/hipg.sh: under valgrind a
# PIE loom lies over 0x400000, where non-PIE guests must go.
build/$(1)/loom-hipg: build/$(1)/obj/src/main.o build/$(1)/liblinux.a build/$(1)/libloom-core.a
	$$(CC) $$(CFLAGS_$(1)) -no-pie -Wl,-Ttext-segment=0x50000000 -o $$@ $$< \
		-Wl,--whole-archive build/$(1)/liblinux.a build/$(1)/libloom-core.a \
		-Wl,--no-whole-archive $$(LDLIBS)
build/$(1)/loom-system: build/$(1)/obj/src/system/main.o build/$(1)/libsystem.a \
		build/$(1)/libloom-core.a
	$$(CC) $$(CFLAGS_$(1)) -o $$@ $$< -Wl,--whole-archive build/$(1)/libsystem.a \
		build/$(1)/libloom-core.a -Wl,--no-whole-archive $$(LDLIBS) $$(SYSTEM_LDLIBS)
	ln -sf $(1)/loom-system build/loom-system
build/$(1)/plugins/lib%.so: plugins/%.c include/qemu-plugin.h include/loom-plugin.h
	@mkdir -p $$(@D)
	$$(CC) $$(PLUGIN_CFLAGS) -o $$@ $$<
# loom-cov and the coverage test program need only covfile's part of the core.
build/$(1)/loom-cov: build/$(1)/obj/tools/loom-cov.o build/$(1)/libloom-core.a
	$$(CC) $$(CFLAGS_$(1)) -o $$@ $$^
	ln -sf $(1)/loom-cov build/loom-cov
build/$(1)/loom-ctl: build/$(1)/obj/tools/loom-ctl.o
	$$(CC) $$(CFLAGS_$(1)) -o $$@ $$^
	ln -sf $(1)/loom-ctl build/loom-ctl
build/$(1)/cov/covtest: build/$(1)/obj/tests/cov/covtest.o build/$(1)/libloom-core.a
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS_$(1)) -o $$@ $$^
# A micro-benchmark of the system-mode CPU (bench/syscpu-roundtrip.c).
build/$(1)/bench/syscpu-roundtrip: build/$(1)/obj/bench/syscpu-roundtrip.o build/$(1)/liblinux.a \
		build/$(1)/libloom-core.a
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS_$(1)) -o $$@ $$(filter %.o,$$^) -Wl,--start-group $$(filter %.a,$$^) \
		-Wl,--end-group $$(LDLIBS)
build/$(1)/unit/%: build/$(1)/obj/tests/unit/%.o build/$(1)/obj/tests/unit/unit.o \
		build/$(1)/liblinux.a build/$(1)/libsystem.a build/$(1)/libloom-core.a
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS_$(1)) -o $$@ $$(filter %.o,$$^) -Wl,--start-group $$(filter %.a,$$^) \
		-Wl,--end-group $$(LDLIBS) $$(SYSTEM_LDLIBS)
# test_inject loads its instrumentation through this forwarding plugin.
build/$(1)/unit/test_inject: | build/tests/plugins/libunitshim.so
-include $$(wildcard build/$(1)/obj/*/*.d build/$(1)/obj/*/*/*.d build/$(1)/obj/*/*/*/*.d)
endef
$(foreach m,debug release asan,$(eval $(call mode_rules,$(m))))
# Objects of unit tests are intermediates of a chain of pattern rules; keep
# them so a second `make test` relinks nothing.
.SECONDARY:

# Self-checking guest programs (tests/guest): each C test is built against
# glibc and against musl, each assembly test without a libc; run.sh runs
# them natively and under loom and compares.
GUEST_C := $(sort $(wildcard tests/guest/*.c))
GUEST_ASM := $(filter-out tests/guest/asm/lib.S,$(sort $(wildcard tests/guest/asm/*.S)))
GUEST_V3 := $(sort $(wildcard tests/guest/v3/*.c))
GUEST_BINS := $(patsubst tests/guest/%.c,build/tests/guest/%.glibc,$(GUEST_C)) \
	$(patsubst tests/guest/v3/%.c,build/tests/guest/%.v3,$(GUEST_V3)) \
	$(patsubst tests/guest/%.c,build/tests/guest/%.musl,$(GUEST_C)) \
	$(patsubst tests/guest/asm/%.S,build/tests/guest/%.asm,$(GUEST_ASM))
GUEST_CFLAGS := -static -O2 -Wall -Wno-unused-result -Wno-format-truncation -pthread
build/tests/guest/%.glibc: tests/guest/%.c tests/guest/guest.h
	@mkdir -p $(@D)
	gcc $(GUEST_CFLAGS) -o $@ $< -lm
# x86-64-v3 programs: auto-vectorized AVX2/FMA, run under -cpu x86-64-v3
build/tests/guest/%.v3: tests/guest/v3/%.c tests/guest/guest.h
	@mkdir -p $(@D)
	gcc $(GUEST_CFLAGS) -O3 -march=x86-64-v3 -o $@ $< -lm
build/tests/guest/%.musl: tests/guest/%.c tests/guest/guest.h
	@mkdir -p $(@D)
	musl-gcc $(GUEST_CFLAGS) -o $@ $< -lm
build/tests/guest/%.asm: tests/guest/asm/%.S tests/guest/asm/lib.S tests/guest/asm/lib.h
	@mkdir -p $(@D)
	gcc -static -nostdlib -o $@ $< tests/guest/asm/lib.S
guest-tests: $(GUEST_BINS)

# Programs for the whole-system guest (tests/system/guest): static musl
# binaries that scripts/guest-kernel.sh puts into the initramfs as /test/*
# and tests/system/boot.sh also runs natively, as the oracle.
SYSGUEST_C := $(sort $(wildcard tests/system/guest/*.c))
SYSGUEST_BINS := $(patsubst tests/system/guest/%.c,build/tests/system/guest/%,$(SYSGUEST_C))
build/tests/system/guest/%: tests/system/guest/%.c
	@mkdir -p $(@D)
	musl-gcc -static -O2 -g -Wall -Wextra -o $@ $<
system-guest: $(SYSGUEST_BINS)

# Plugin tests (tests/plugins): each tests/plugins/*.c becomes a test plugin
# built like the bundled ones; tests/plugins/qemu-style/*.c are built against
# the QEMU-style header in tests/plugins/qemu-include and NOT include/,
# tests/plugins/qemu-v1/*.c against the API-version-1 header in
# tests/plugins/qemu-v1-include (QEMU 7.2's calls); the
# assembly programs have no libc.  All mode-independent, in build/tests/plugins.
TPLUGIN_SRCS := $(sort $(wildcard tests/plugins/*.c))
TPLUGIN_QSRCS := $(sort $(wildcard tests/plugins/qemu-style/*.c))
TPLUGIN_V1SRCS := $(sort $(wildcard tests/plugins/qemu-v1/*.c))
TPLUGIN_ASM := $(sort $(wildcard tests/plugins/asm/*.S))
PLUGIN_TEST_BINS := $(patsubst tests/plugins/%.c,build/tests/plugins/lib%.so,$(TPLUGIN_SRCS)) \
	$(patsubst tests/plugins/qemu-style/%.c,build/tests/plugins/lib%.so,$(TPLUGIN_QSRCS)) \
	$(patsubst tests/plugins/qemu-v1/%.c,build/tests/plugins/lib%.so,$(TPLUGIN_V1SRCS)) \
	$(patsubst tests/plugins/asm/%.S,build/tests/plugins/%.asm,$(TPLUGIN_ASM))
build/tests/plugins/lib%.so: tests/plugins/%.c include/qemu-plugin.h include/loom-plugin.h
	@mkdir -p $(@D)
	$(CC) $(PLUGIN_CFLAGS) -o $@ $<
build/tests/plugins/lib%.so: tests/plugins/qemu-style/%.c tests/plugins/qemu-include/qemu-plugin.h
	@mkdir -p $(@D)
	$(CC) $(filter-out -Iinclude,$(PLUGIN_CFLAGS)) -Itests/plugins/qemu-include -o $@ $<
build/tests/plugins/lib%.so: tests/plugins/qemu-v1/%.c tests/plugins/qemu-v1-include/qemu-plugin.h
	@mkdir -p $(@D)
	$(CC) $(filter-out -Iinclude,$(PLUGIN_CFLAGS)) -Itests/plugins/qemu-v1-include -o $@ $<
build/tests/plugins/%.asm: tests/plugins/asm/%.S
	@mkdir -p $(@D)
	gcc -static -nostdlib -o $@ $<
plugin-tests: $(PLUGIN_TEST_BINS)

.PHONY: all loom test test-unit test-system test-guest test-programs test-plugins test-cov demo bench \
	clean deps guest-tests plugin-tests system-guest
all: build/$(MODE)/loom build/$(MODE)/loom-system build/$(MODE)/loom-cov build/$(MODE)/loom-ctl $(call plugins_of,$(MODE)) \
	build/afl-qemu-trace

# AFL++'s QEMU mode (afl-fuzz -Q) runs $$AFL_PATH/afl-qemu-trace: with
# AFL_PATH=build that is loom, the last binary built (docs/fuzzing.md).
build/afl-qemu-trace:
	@mkdir -p build
	ln -sf loom build/afl-qemu-trace

deps:
	scripts/install-deps.sh

UNIT_BINS = $(patsubst tests/unit/%.c,build/$(TMODE)/unit/%,$(UNIT_SRCS))
TMODE ?= debug

# The whole suite; the last line is "N passed, N failed".  It fetches
# Debian's kernel (scripts/guest-kernel.sh: cached in build/guest, once per
# kernel package) so that the sysboot subsuite boots it under loom-system and
# qemu-system-x86_64.
test: deps
	$(MAKE) --no-print-directory build/$(TMODE)/loom build/$(TMODE)/loom-system $(UNIT_BINS) \
		$(BAREMETAL) guest-tests $(COV_BINS) \
		build/$(TMODE)/loom-cov build/$(TMODE)/loom-ctl \
		$(call plugins_of,$(TMODE)) plugin-tests system-guest
	scripts/guest-kernel.sh
	tests/run-all.sh build/$(TMODE)

test-unit: build/$(TMODE)/loom $(UNIT_BINS) $(BAREMETAL)
	tests/run-all.sh build/$(TMODE) unit

test-guest: build/$(TMODE)/loom guest-tests
	tests/run-all.sh build/$(TMODE) guest

# Every program case (busybox, all of debian.sh) and the CPython selection;
# `make test` runs only debian.sh's fast subset.
test-programs: build/$(TMODE)/loom
	tests/run-all.sh build/$(TMODE) programs

# loom-system's command line and loader, the bare-metal image under
# qemu-system-x86_64 (tests/system/run.sh); Debian's kernel booted under
# qemu-system-x86_64 and loom-system, the guest script's output compared with
# its native run (tests/system/boot.sh; it fetches the kernel with
# scripts/guest-kernel.sh).  `make test` runs the fast part (one boot each),
# after fetching the kernel.
test-system: build/$(TMODE)/loom-system build/$(TMODE)/loom-cov $(BAREMETAL) system-guest \
		$(call plugins_of,$(TMODE)) plugin-tests build/$(TMODE)/loom-ctl
	scripts/guest-kernel.sh
	tests/run-all.sh build/$(TMODE) system
	tests/run-all.sh build/$(TMODE) sysboot-self
	tests/run-all.sh build/$(TMODE) sysboot-all

test-plugins: build/$(TMODE)/loom $(call plugins_of,$(TMODE)) guest-tests plugin-tests
	tests/run-all.sh build/$(TMODE) plugins

# Coverage files and build/loom-cov (tests/cov): no guest runs involved.
COV_BINS = build/$(TMODE)/loom-cov build/$(TMODE)/cov/covtest
test-cov: $(COV_BINS)
	tests/run-all.sh build/$(TMODE) cov

# The differential instruction tester (tests/isa): every generated form,
# natively and under loom in three modes.  ISA_ARGS adds options, e.g.
# ISA_ARGS="--cases 200 --seed 7"; the `isa` subsuite runs --fast.  The
# full proof (1,000 cases a form, every batch, ~40 min on 2 cores):
# ISA_ARGS="--cases 1000 --chunk 500 --timeout 600" (chunks keep the disk
# use under 2 GB).
.PHONY: test-isa
test-isa: build/$(TMODE)/loom
	tests/isa/run.sh build/$(TMODE)/loom $(ISA_ARGS)

# The random-instruction-stream tester (tests/isa/random.sh): N streams of
# seed SEED, natively and under loom in three modes, the modes in parallel.
# `make test` runs a fixed sample of 3,000 (the isa-random subsuite); the
# 1,000,000-stream run: make MODE=release TMODE=release test-isa-random N=1000000
N ?= 100000
SEED ?= 1
.PHONY: test-isa-random
test-isa-random: build/$(TMODE)/loom
	tests/isa/random.sh build/$(TMODE)/loom --streams $(N) --seed $(SEED) --jobs 3

# Which x86-64-v1..v3 instruction classes (Zydis') the tester covers, and
# with how many cases per form at ISA_ARGS' --cases (1000: the full mode).
.PHONY: isa-coverage
isa-coverage:
	tests/isa/coverage.sh $(ISA_ARGS)

demo: deps
	$(MAKE) --no-print-directory MODE=release build/release/loom
	build/release/loom /bin/busybox sh -c 'for i in $$(seq 1 1000); do echo $$i; done | md5sum'

bench: deps
	$(MAKE) --no-print-directory build/release/loom build/release/loom-hipg
	bench/run.sh build/release/loom
	bench/hipg.sh build/release/loom-hipg

clean:
	rm -rf build

# The bare-metal test image (tests/system/baremetal): a bzImage-format
# image that checks exception delivery and privilege changes in long mode
# and reports on COM1; mode-independent, built with nasm.
$(BAREMETAL): tests/system/baremetal/setup.asm tests/system/baremetal/kernel.asm tests/system/baremetal/probes.asm
	@mkdir -p $(@D)
	nasm -f bin -o $(@D)/baremetal-setup.bin tests/system/baremetal/setup.asm
	nasm -f bin -i tests/system/baremetal/ -o $(@D)/baremetal-kernel.bin tests/system/baremetal/kernel.asm
	cat $(@D)/baremetal-setup.bin $(@D)/baremetal-kernel.bin >$@
.PHONY: baremetal
baremetal: $(BAREMETAL)
