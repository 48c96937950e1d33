# vmfs — plain Makefile. Everything but main() goes into libvmfs.a, which the
# daemon and the unit tests both link, so tests exercise the very same code.
CC      ?= cc
PKGS    := fuse3 inih json-c libpng libmnl libmicrohttpd gnutls avahi-client libcurl \
	libprotobuf-c
CFLAGS  ?= -O2 -g
# What the compiler gets: the user's CPPFLAGS, CFLAGS, LDFLAGS and LDLIBS with the project's
# (preprocessor flags: the project's first). The user's are left as given, so a make that a
# recipe runs (./setup, tests/run) sees them as this one did.
ALL_CPPFLAGS := -D_GNU_SOURCE -I. $(shell pkg-config --cflags $(PKGS)) $(CPPFLAGS)
ALL_CFLAGS := $(CFLAGS) -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter \
	-Wno-missing-field-initializers
ALL_LDFLAGS := $(LDFLAGS)
ALL_LDLIBS := $(LDLIBS) $(shell pkg-config --libs $(PKGS)) -lcrypt -lpthread
# each object's header dependencies, written by the compiler beside it (FILE.d)
DEPFLAGS = -MMD -MP

ifdef SANITIZE
ALL_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
ALL_LDFLAGS += -fsanitize=address,undefined
endif

LIB_SRC := $(wildcard ctl/*.c conf/*.c runtime/*.c vmfs/*.c web/*.c p9/*.c cluster/*.c mdns/*.c etcd/*.c)
LIB_SRC := $(filter-out vmfs/main.c,$(LIB_SRC)) etcd/pb/etcd.pb-c.c
LIB_OBJ := $(LIB_SRC:.c=.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:.c=)

TOOLS := tests/tools/xwrite tests/tools/hangfs tests/tools/pnginfo tests/tools/fhandle \
	tests/tools/etcdtry
# bench/export's client, over p9/client.c
BENCH_BIN := bench/export/p9read

all: vmfs-bin $(UNIT_BIN) $(TOOLS) $(BENCH_BIN)

vmfs-bin: vmfs/vmfs vmfs/vmfs-shim vmfs/vmfs-passwd

# The flags of this build, in a file that every object and binary depends on, rewritten only
# when they change: so `make SANITIZE=1` after a plain build, or `make` after a sanitized one,
# rebuilds everything instead of linking objects built with the other flags.
BUILD_FLAGS := .build-flags
build_flags := $(CC) | $(ALL_CPPFLAGS) | $(ALL_CFLAGS) | $(ALL_LDFLAGS) | $(ALL_LDLIBS)
# flags_stamp FILE,VARIABLE: a rule that makes FILE hold the value of VARIABLE, when it does
# not already (so that make -n says what would be rebuilt, and writes nothing)
define flags_stamp
ifneq ($$(strip $$($2)),$$(file <$1))
$1: FORCE
	@mkdir -p $$(@D); [ ! -e $$@ ] || echo "$$@: the flags changed: rebuilding"
	@printf '%s\n' '$$(subst ','\'',$$(strip $$($2)))' >$$@
endif
endef
$(eval $(call flags_stamp,$(BUILD_FLAGS),build_flags))
# what a link takes of its prerequisites (not the flags file)
link_in = $(filter-out $(BUILD_FLAGS),$^)

libvmfs.a: $(LIB_OBJ)
	$(AR) rcs $@ $^

vmfs/vmfs: vmfs/main.o libvmfs.a $(BUILD_FLAGS)
	$(CC) $(ALL_LDFLAGS) -o $@ $(link_in) $(ALL_LDLIBS)

# The per-container shim: beside vmfs, which finds it there. Linked statically (RSS about
# 0.9 MiB instead of 1.7, one per container), except under ASan, which cannot be.
SHIM_SRC := $(wildcard runtime/shim/*.c)
SHIM_STATIC := $(if $(SANITIZE),,-static)
vmfs/vmfs-shim: $(SHIM_SRC:.c=.o) libvmfs.a $(BUILD_FLAGS)
	$(CC) $(ALL_LDFLAGS) $(SHIM_STATIC) -o $@ $(link_in) -lcap

# The containers' system-call filter, compiled to BPF by libseccomp at build time from the
# table in the generator; the shim loads it as it is (nothing to build at each start, and no
# libseccomp in the shim).
runtime/shim/gen/seccomp_gen: runtime/shim/gen/seccomp_gen.c $(BUILD_FLAGS)
	$(compile_link) -lseccomp
runtime/shim/seccomp_bpf.h: runtime/shim/gen/seccomp_gen
	runtime/shim/gen/seccomp_gen >$@.tmp && mv $@.tmp $@
runtime/shim/seccomp.o: runtime/shim/seccomp_bpf.h

# etcd's gRPC messages (the part vmfs uses), packed and unpacked by libprotobuf-c: the code
# made from etcd/pb/etcd.proto at build time; every etcd/ object includes its header.
etcd/pb/etcd.pb-c.c etcd/pb/etcd.pb-c.h &: etcd/pb/etcd.proto
	protoc-c --proto_path=etcd/pb --c_out=etcd/pb $<
$(filter etcd/%,$(LIB_OBJ)) tests/tools/etcdtry: etcd/pb/etcd.pb-c.h

# Writes the HTTP door's password file; its source is not in web/ itself, whose files all go
# into the library.
vmfs/vmfs-passwd: web/passwd/vmfs-passwd.o libvmfs.a $(BUILD_FLAGS)
	$(CC) $(ALL_LDFLAGS) -o $@ $(link_in) $(ALL_LDLIBS)

# a program from its one source, compiled and linked at once (its dependencies in PROGRAM.d)
compile_link = $(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(DEPFLAGS) -MF $@.d $(ALL_LDFLAGS) -o $@ $<

tests/unit/test_%: tests/unit/test_%.c libvmfs.a $(BUILD_FLAGS)
	$(compile_link) libvmfs.a $(ALL_LDLIBS)

tests/tools/%: tests/tools/%.c $(BUILD_FLAGS)
	$(compile_link)

bench/export/p9read: bench/export/p9read.c libvmfs.a $(BUILD_FLAGS)
	$(compile_link) libvmfs.a $(ALL_LDLIBS)

# etcd/client.c from the shell, for the etcd tests
tests/tools/etcdtry: tests/tools/etcdtry.c libvmfs.a $(BUILD_FLAGS)
	$(compile_link) libvmfs.a $(ALL_LDLIBS)

# A FUSE file whose open never returns, for the KVM probe's tests.
tests/tools/hangfs: tests/tools/hangfs.c $(BUILD_FLAGS)
	$(compile_link) $(shell pkg-config --libs fuse3)

# Decodes screenshots for the VM tests.
tests/tools/pnginfo: tests/tools/pnginfo.c $(BUILD_FLAGS)
	$(compile_link) $(shell pkg-config --libs libpng)

%.o: %.c $(BUILD_FLAGS)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(DEPFLAGS) -c -o $@ $<

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

# The README's first command: installs what is missing, builds, mounts vmfs at /vmfs and
# starts c1 and v1 (as root; ./setup says what it does).
run:
	./setup

# libFuzzer targets (tests/fuzz/fuzz_*.c), built with clang apart from the gcc objects: the
# library's sources again into build/fuzz/obj, instrumented. tests/fuzz/run runs them.
FUZZ_DIR := build/fuzz
FUZZ_CC := clang
FUZZ_CFLAGS := -std=gnu11 -g -O1 -Wall -Wno-unused-parameter -fsanitize=address,undefined \
	-fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_OBJ := $(LIB_SRC:%.c=$(FUZZ_DIR)/obj/%.o)
FUZZ_BIN := $(patsubst tests/fuzz/%.c,$(FUZZ_DIR)/%,$(wildcard tests/fuzz/fuzz_*.c))
# their flags, in a file as the build's own (BUILD_FLAGS)
FUZZ_FLAGS := $(FUZZ_DIR)/flags
fuzz_flags := $(FUZZ_CC) | $(ALL_CPPFLAGS) | $(FUZZ_CFLAGS) | $(ALL_LDLIBS)
$(eval $(call flags_stamp,$(FUZZ_FLAGS),fuzz_flags))

fuzz: $(FUZZ_BIN)

$(FUZZ_DIR)/obj/%.o: %.c $(FUZZ_FLAGS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(ALL_CPPFLAGS) $(FUZZ_CFLAGS) $(DEPFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(filter $(FUZZ_DIR)/obj/etcd/%,$(FUZZ_OBJ)): etcd/pb/etcd.pb-c.h

$(FUZZ_DIR)/libvmfs.a: $(FUZZ_OBJ)
	$(AR) rcs $@ $^

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_DIR)/libvmfs.a $(FUZZ_FLAGS)
	$(FUZZ_CC) $(ALL_CPPFLAGS) $(FUZZ_CFLAGS) $(DEPFLAGS) -MF $@.d -Werror -fsanitize=fuzzer \
		-o $@ $< $(FUZZ_DIR)/libvmfs.a $(ALL_LDLIBS)

format:
	clang-format -i $(wildcard */*.c */*.h web/passwd/*.c tests/*/*.c tests/*/*.h)

# the compiler's dependencies of every object and binary above
DEPS := $(LIB_OBJ:.o=.d) $(SHIM_SRC:.c=.d) vmfs/main.d web/passwd/vmfs-passwd.d \
	$(addsuffix .d,$(UNIT_BIN) $(TOOLS) $(BENCH_BIN) runtime/shim/gen/seccomp_gen) \
	$(FUZZ_OBJ:.o=.d) $(addsuffix .d,$(FUZZ_BIN))
-include $(DEPS)

clean:
	rm -rf build
	rm -f $(LIB_OBJ) $(SHIM_SRC:.c=.o) vmfs/main.o libvmfs.a vmfs/vmfs vmfs/vmfs-shim $(UNIT_BIN) $(TOOLS) $(BENCH_BIN)
	rm -f runtime/shim/gen/seccomp_gen runtime/shim/seccomp_bpf.h etcd/pb/etcd.pb-c.c etcd/pb/etcd.pb-c.h
	rm -f web/passwd/vmfs-passwd.o vmfs/vmfs-passwd
	rm -f $(DEPS) $(BUILD_FLAGS)

FORCE:
.PHONY: all vmfs-bin check test bench run format clean images fuzz FORCE
