# loom: non-recursive GNU make.  Outputs go to build/<mode>/; build/loom is the
# last linked binary.  MODE=debug|release|asan (debug verifies IR after every
# pass).  `make test` builds the debug binary and runs every test.
MODE ?= release
CC ?= gcc
CFLAGS_COMMON := -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare \
	-Wno-missing-field-initializers -fno-strict-aliasing -Isrc -Iinclude \
	-D_GNU_SOURCE -fvisibility=default -pthread -MMD -MP
CFLAGS_debug := -O1 -g -DLOOM_DEBUG
CFLAGS_release := -O2 -g -DNDEBUG
CFLAGS_asan := -O1 -g -DLOOM_DEBUG -fsanitize=address,undefined -fno-omit-frame-pointer
LDLIBS := -lZydis -lm -ldl -pthread -rdynamic

SRCS := $(sort $(wildcard src/*.c src/*/*.c src/*/*/*.c))
LIB_SRCS := $(filter-out src/main.c,$(SRCS))
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))

# $(call mode_rules,MODE)
define mode_rules
build/$(1)/obj/%.o: %.c
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS_COMMON) $$(CFLAGS_$(1)) $$(EXTRA_CFLAGS) -c $$< -o $$@
build/$(1)/libloom.a: $$(patsubst %.c,build/$(1)/obj/%.o,$$(LIB_SRCS))
	@rm -f $$@
	ar rcs $$@ $$^
build/$(1)/loom: build/$(1)/obj/src/main.o build/$(1)/libloom.a
	$$(CC) $$(CFLAGS_$(1)) -o $$@ $$^ $$(LDLIBS)
	ln -sf $(1)/loom build/loom
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
all: build/$(MODE)/loom

deps:
	scripts/install-deps.sh

UNIT_BINS = $(patsubst tests/unit/%.c,build/$(TMODE)/unit/%,$(UNIT_SRCS))
TMODE ?= debug

# The whole suite; the last line is "N passed, N failed".
test: deps
	$(MAKE) --no-print-directory build/$(TMODE)/loom $(UNIT_BINS) guest-tests
	tests/run-all.sh build/$(TMODE)

test-unit: build/$(TMODE)/loom $(UNIT_BINS)
	tests/run-all.sh build/$(TMODE) unit

test-guest: build/$(TMODE)/loom guest-tests
	tests/run-all.sh build/$(TMODE) guest

# Every program case (busybox, all of debian.sh) and the CPython selection;
# `make test` runs only debian.sh's fast subset.
test-programs: build/$(TMODE)/loom
	tests/run-all.sh build/$(TMODE) programs

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
