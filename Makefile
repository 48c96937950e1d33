# vmfs — plain Makefile. Everything but main() goes into libvmfs.a, which the
# daemon and the unit tests both link, so tests exercise the very same code.
CC      ?= cc
PKGS    := fuse3 inih json-c libpng libmnl libmicrohttpd gnutls
CFLAGS  ?= -O2 -g
override CFLAGS += -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers \
           -D_GNU_SOURCE -I. $(shell pkg-config --cflags $(PKGS))
override LDLIBS += $(shell pkg-config --libs $(PKGS)) -lcrypt -lpthread

ifdef SANITIZE
override CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
override LDFLAGS += -fsanitize=address,undefined
endif

LIB_SRC := $(wildcard ctl/*.c conf/*.c runtime/*.c vmfs/*.c web/*.c cluster/*.c)
LIB_SRC := $(filter-out vmfs/main.c,$(LIB_SRC))
LIB_OBJ := $(LIB_SRC:.c=.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:.c=)

TOOLS := tests/tools/xwrite tests/tools/hangfs tests/tools/pnginfo

all: vmfs-bin $(UNIT_BIN) $(TOOLS)

vmfs-bin: vmfs/vmfs vmfs/vmfs-shim vmfs/vmfs-passwd

libvmfs.a: $(LIB_OBJ)
	$(AR) rcs $@ $^

vmfs/vmfs: vmfs/main.o libvmfs.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The per-container shim: beside vmfs, which finds it there. Linked statically (RSS about
# 0.9 MiB instead of 1.7, one per container), except under ASan, which cannot be.
SHIM_SRC := $(wildcard runtime/shim/*.c)
SHIM_STATIC := $(if $(SANITIZE),,-static)
$(SHIM_SRC:.c=.o): $(wildcard runtime/shim/*.h)
vmfs/vmfs-shim: $(SHIM_SRC:.c=.o) libvmfs.a
	$(CC) $(LDFLAGS) $(SHIM_STATIC) -o $@ $^ -lcap

# The containers' system-call filter, compiled to BPF by libseccomp at build time from the
# table in the generator; the shim loads it as it is (nothing to build at each start, and no
# libseccomp in the shim).
runtime/shim/gen/seccomp_gen: runtime/shim/gen/seccomp_gen.c runtime/shim/caps_list.h
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< -lseccomp
runtime/shim/seccomp_bpf.h: runtime/shim/gen/seccomp_gen
	runtime/shim/gen/seccomp_gen >$@.tmp && mv $@.tmp $@
runtime/shim/seccomp.o: runtime/shim/seccomp_bpf.h

# Writes the HTTP door's password file; its source is not in web/ itself, whose files all go
# into the library.
vmfs/vmfs-passwd: web/passwd/vmfs-passwd.o libvmfs.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

tests/unit/test_%: tests/unit/test_%.c tests/unit/tap.h libvmfs.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< libvmfs.a $(LDLIBS)

tests/tools/%: tests/tools/%.c
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $<

# A FUSE file whose open never returns, for the KVM probe's tests.
tests/tools/hangfs: tests/tools/hangfs.c
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(shell pkg-config --libs fuse3)

# Decodes screenshots for the VM tests.
tests/tools/pnginfo: tests/tools/pnginfo.c
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(shell pkg-config --libs libpng)

%.o: %.c $(wildcard */*.h)
	$(CC) $(CFLAGS) -c -o $@ $<

# The README's test command: unit tests, then integration tests on a real mount.
check test: all images
	tests/run

bench: all
	bench/run

# The default container image, from Debian's busybox-static (for tests; ./setup builds
# it into the image store).
# (a stamp: the image's own times are the package's, so make cannot judge it by them)
images: build/.busybox.stamp build/.boot.stamp
build/.busybox.stamp: scripts/mkrootfs
	scripts/mkrootfs build/images/busybox
	@touch $@
# The default VM boot image (vmlinuz, initrd) from Debian's cloud kernel and busybox.
build/.boot.stamp: scripts/mkbootimg
	scripts/mkbootimg build/boot
	@touch $@

# Sets up a fresh Debian machine and mounts vmfs (README, first command).
run: all
	scripts/run

# libFuzzer targets (tests/fuzz/fuzz_*.c), built with clang apart from the gcc objects: the
# library's sources again into build/fuzz/obj, instrumented. tests/fuzz/run runs them.
FUZZ_DIR := build/fuzz
FUZZ_CC := clang
FUZZ_CFLAGS := -std=gnu11 -g -O1 -Wall -Wno-unused-parameter -D_GNU_SOURCE -I. \
	$(shell pkg-config --cflags $(PKGS)) -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
FUZZ_OBJ := $(LIB_SRC:%.c=$(FUZZ_DIR)/obj/%.o)
FUZZ_BIN := $(patsubst tests/fuzz/%.c,$(FUZZ_DIR)/%,$(wildcard tests/fuzz/fuzz_*.c))

fuzz: $(FUZZ_BIN)

$(FUZZ_DIR)/obj/%.o: %.c $(wildcard */*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_DIR)/libvmfs.a: $(FUZZ_OBJ)
	$(AR) rcs $@ $^

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_DIR)/libvmfs.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Werror -fsanitize=fuzzer -o $@ $< $(FUZZ_DIR)/libvmfs.a $(LDLIBS)

format:
	clang-format -i $(wildcard */*.c */*.h web/passwd/*.c tests/*/*.c tests/*/*.h)

clean:
	rm -rf build
	rm -f $(LIB_OBJ) $(SHIM_SRC:.c=.o) vmfs/main.o libvmfs.a vmfs/vmfs vmfs/vmfs-shim $(UNIT_BIN) $(TOOLS)
	rm -f runtime/shim/gen/seccomp_gen runtime/shim/seccomp_bpf.h
	rm -f web/passwd/vmfs-passwd.o vmfs/vmfs-passwd

.PHONY: all vmfs-bin check test bench run format clean images fuzz
