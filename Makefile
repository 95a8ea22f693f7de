# loom: non-recursive GNU make.  Outputs go to build/<mode>/; build/loom is the
# last linked binary.  MODE=debug|release|asan (debug verifies IR after every
# pass).  `make test` builds the debug binary and runs every test.
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

SRCS := $(sort $(wildcard src/*.c src/*/*.c src/*/*/*.c))
LIB_SRCS := $(filter-out src/main.c,$(SRCS))
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))

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
build/$(1)/libloom.a: $$(patsubst %.c,build/$(1)/obj/%.o,$$(LIB_SRCS))
	@rm -f $$@
	ar rcs $$@ $$^
# The whole archive: nothing in loom calls the plugin API's functions, but
# plugins must find them.
build/$(1)/loom: build/$(1)/obj/src/main.o build/$(1)/libloom.a
	$$(CC) $$(CFLAGS_$(1)) -o $$@ $$< -Wl,--whole-archive build/$(1)/libloom.a \
		-Wl,--no-whole-archive $$(LDLIBS)
	ln -sf $(1)/loom build/loom
build/$(1)/plugins/lib%.so: plugins/%.c include/qemu-plugin.h include/loom-plugin.h
	@mkdir -p $$(@D)
	$$(CC) $$(PLUGIN_CFLAGS) -o $$@ $$<
build/$(1)/unit/%: build/$(1)/obj/tests/unit/%.o build/$(1)/obj/tests/unit/unit.o build/$(1)/libloom.a
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS_$(1)) -o $$@ $$^ $$(LDLIBS)
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
GUEST_BINS := $(patsubst tests/guest/%.c,build/tests/guest/%.glibc,$(GUEST_C)) \
	$(patsubst tests/guest/%.c,build/tests/guest/%.musl,$(GUEST_C)) \
	$(patsubst tests/guest/asm/%.S,build/tests/guest/%.asm,$(GUEST_ASM))
GUEST_CFLAGS := -static -O2 -Wall -Wno-unused-result -Wno-format-truncation -pthread
build/tests/guest/%.glibc: tests/guest/%.c tests/guest/guest.h
	@mkdir -p $(@D)
	gcc $(GUEST_CFLAGS) -o $@ $< -lm
build/tests/guest/%.musl: tests/guest/%.c tests/guest/guest.h
	@mkdir -p $(@D)
	musl-gcc $(GUEST_CFLAGS) -o $@ $< -lm
build/tests/guest/%.asm: tests/guest/asm/%.S tests/guest/asm/lib.S tests/guest/asm/lib.h
	@mkdir -p $(@D)
	gcc -static -nostdlib -o $@ $< tests/guest/asm/lib.S
guest-tests: $(GUEST_BINS)

.PHONY: all loom test test-unit test-guest test-programs demo bench clean deps guest-tests
all: build/$(MODE)/loom $(call plugins_of,$(MODE)) build/afl-qemu-trace

# AFL++'s QEMU mode (afl-fuzz -Q) runs $$AFL_PATH/afl-qemu-trace: with
# AFL_PATH=build that is loom, the last binary built (docs/fuzzing.md).
build/afl-qemu-trace:
	@mkdir -p build
	ln -sf loom build/afl-qemu-trace

deps:
	scripts/install-deps.sh

UNIT_BINS = $(patsubst tests/unit/%.c,build/$(TMODE)/unit/%,$(UNIT_SRCS))
TMODE ?= debug

# The whole suite; the last line is "N passed, N failed".
test: deps
	$(MAKE) --no-print-directory build/$(TMODE)/loom $(UNIT_BINS) guest-tests \
		$(call plugins_of,$(TMODE))
	tests/run-all.sh build/$(TMODE)

test-unit: build/$(TMODE)/loom $(UNIT_BINS)
	tests/run-all.sh build/$(TMODE) unit

test-guest: build/$(TMODE)/loom guest-tests
	tests/run-all.sh build/$(TMODE) guest

test-programs: build/$(TMODE)/loom
	tests/run-all.sh build/$(TMODE) busybox

# The differential instruction tester (tests/isa): every generated form,
# natively and under loom in three modes.  ISA_ARGS adds options, e.g.
# ISA_ARGS="--cases 200 --seed 7"; the `isa` subsuite runs --fast.
.PHONY: test-isa
test-isa: build/$(TMODE)/loom
	tests/isa/run.sh build/$(TMODE)/loom $(ISA_ARGS)

demo: deps
	$(MAKE) --no-print-directory MODE=release build/release/loom
	build/release/loom /bin/busybox sh -c 'for i in $$(seq 1 1000); do echo $$i; done | md5sum'

bench: deps
	$(MAKE) --no-print-directory build/release/loom
	bench/run.sh build/release/loom

clean:
	rm -rf build
