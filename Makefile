# Makefile - the one build of netkit (GNU make, non-recursive).
#
# Works on Linux as it is; ./configure (autoconf) writes config.mk and config.h,
# picked up here when present. Targets: all (default), check, check-asan,
# check-valgrind, check-install, install, uninstall, clean, distclean.
# Gates: check-tsan, check-examples-asan, check-python-asan,
# check-valgrind-examples, lint (see "Sanitizer and static-checker gates").
# Examples, demo, bench and dist are to come; they belong in this file too.

top := $(CURDIR)
-include config.mk

# ---- Version: include/netkit.h is the one source of truth -------------------
nk_version_part = $(shell sed -n 's/^.define NK_VERSION_$(1)  *\([0-9][0-9]*\).*/\1/p' include/netkit.h)
MAJOR := $(call nk_version_part,MAJOR)
MINOR := $(call nk_version_part,MINOR)
PATCH := $(call nk_version_part,PATCH)
ifeq ($(MAJOR)$(MINOR)$(PATCH),)
$(error cannot read NK_VERSION_MAJOR/MINOR/PATCH from include/netkit.h)
endif
VERSION := $(MAJOR).$(MINOR).$(PATCH)

# ---- Where to install (config.mk or the command line may set these) ---------
PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
DESTDIR ?=

# ---- Tools and flags ---------------------------------------------------------
CFLAGS ?= -O2 -g -std=gnu11 -Wall -Wextra -Wstrict-prototypes -Wshadow -pthread
ifeq ($(WERROR),1)
ALL_CFLAGS = $(CFLAGS) -Werror
else
ALL_CFLAGS = $(CFLAGS)
endif
AR ?= ar
PKG_CONFIG ?= pkg-config
LIB_FLAGS = -fvisibility=hidden -DNK_BUILDING -Iinclude -Ilib
TEST_FLAGS = -Iinclude -Itests -Ilib
# Expanded when a recipe runs, i.e. after tests/deps.sh installed Check.
CHECK_CFLAGS = $(shell $(PKG_CONFIG) --cflags check)
CHECK_LIBS = $(shell $(PKG_CONFIG) --libs check)
SAN_FLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

# ---- Files -------------------------------------------------------------------
LIB_SRCS := $(wildcard lib/*.c)
LIB_OBJS := $(LIB_SRCS:lib/%.c=build/obj/%.o)
TEST_SRCS := $(wildcard tests/check_*.c) tests/testutil.c
TEST_OBJS := $(TEST_SRCS:tests/%.c=build/tests/%.o)
ASAN_LIB_OBJS := $(LIB_SRCS:lib/%.c=build/asan/obj/%.o)
ASAN_TEST_OBJS := $(TEST_SRCS:tests/%.c=build/asan/tests/%.o)

STATIC_LIB := lib/libnetkit.a
SONAME := libnetkit.so.$(MAJOR)
SHARED_LIB := lib/libnetkit.so.$(VERSION)
SHARED_LINKS := lib/$(SONAME) lib/libnetkit.so
RUNNER := build/tests/check_netkit
ASAN_LIB := build/asan/libnetkit.a
ASAN_RUNNER := build/asan/check_netkit
EXAMPLES := $(patsubst examples/%.c,build/examples/%,$(wildcard examples/*.c))
MAN3 := $(wildcard docs/man/*.3)
MAN7 := $(wildcard docs/man/*.7)

.PHONY: all demo check check-asan check-valgrind check-install check-syscalls check-examples deps \
	install uninstall \
	clean distclean FORCE
.DEFAULT_GOAL := all

all: $(STATIC_LIB) $(SHARED_LIB) $(SHARED_LINKS) netkit.pc $(EXAMPLES)

# The guided tour of the examples on loopback (README's first command).
demo: all
	@bash examples/demo.sh

# ---- Examples: one program per examples/*.c, linked with the static library ----
build/examples/%: examples/%.c $(STATIC_LIB) build/flags
	@mkdir -p $(@D)
	$(CC) -Iinclude $(CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(STATIC_LIB) $(LIBS) -pthread

# ---- Library: each source compiled once, for both the .a and the .so --------
# build/flags changes (and so rebuilds everything) when compiler or flags do.
build/flags: FORCE
	@mkdir -p build
	@f='$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) $(LIBS)'; \
	 test "$$f" = "$$(cat $@ 2>/dev/null)" || echo "$$f" > $@

build/obj/%.o: lib/%.c build/flags
	@mkdir -p $(@D)
	$(CC) -fPIC $(LIB_FLAGS) $(CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(STATIC_LIB): $(LIB_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(SHARED_LIB): $(LIB_OBJS)
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,-z,defs $(ALL_CFLAGS) $(LDFLAGS) \
		-o $@ $^ $(LIBS) -pthread

lib/$(SONAME): $(SHARED_LIB)
	ln -sf libnetkit.so.$(VERSION) $@

lib/libnetkit.so: lib/$(SONAME)
	ln -sf $(SONAME) $@

# pkg-config file; checked on every run since PREFIX may differ at install.
netkit.pc: netkit.pc.in FORCE
	@sed -e 's|@prefix@|$(PREFIX)|g' -e 's|@libdir@|$(LIBDIR)|g' \
	    -e 's|@includedir@|$(INCLUDEDIR)|g' -e 's|@version@|$(VERSION)|g' $< > $@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@ && echo "wrote $@ for $(PREFIX)"; fi

# ---- Tests -------------------------------------------------------------------
# Installs Check and pkg-config when missing (see the script).
deps:
	@sh tests/deps.sh

build/tests/%.o: tests/%.c build/flags | deps
	@mkdir -p $(@D)
	$(CC) $(TEST_FLAGS) $(CPPFLAGS) $(CHECK_CFLAGS) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(RUNNER): $(TEST_OBJS) $(STATIC_LIB)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(TEST_OBJS) $(STATIC_LIB) $(CHECK_LIBS) $(LIBS) -pthread

check: deps all $(RUNNER) build/tests/syscall-probe
	$(RUNNER)
	sh tests/check_exports.sh $(SHARED_LIB) include/netkit.h
	bash tests/syscalls/run.sh build/tests/syscall-probe
	python3 -m unittest discover -s tests/examples -p 'test_*.py'
	@if ls tests/python/test_*.py >/dev/null 2>&1; then \
	    echo "python3 -m unittest discover -s tests/python -p 'test_*.py'"; \
	    python3 -m unittest discover -s tests/python -p 'test_*.py'; \
	else echo "tests/python: no binding tests in this tree, skipped"; fi
	+MAKE='$(MAKE)' CC='$(CC)' sh tests/install/run.sh
	bash tests/netns/run.sh

# End-to-end tests of the example programs (Python's unittest, loopback only).
check-examples: deps all
	python3 -m unittest discover -s tests/examples -p 'test_*.py' -v

# "A blocking send or recv is one syscall", counted with strace -c.
build/tests/syscall-probe: tests/syscalls/probe.c $(STATIC_LIB) build/flags
	@mkdir -p $(@D)
	$(CC) -Iinclude $(CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(STATIC_LIB) $(LIBS) -pthread

check-syscalls: deps build/tests/syscall-probe
	bash tests/syscalls/run.sh build/tests/syscall-probe

check-install: all
	+MAKE='$(MAKE)' CC='$(CC)' sh tests/install/run.sh

# AddressSanitizer + UBSan: own objects, library and runner under build/asan/.
build/asan/obj/%.o: lib/%.c build/flags
	@mkdir -p $(@D)
	$(CC) $(LIB_FLAGS) $(CPPFLAGS) $(ALL_CFLAGS) $(SAN_FLAGS) -MMD -MP -c -o $@ $<

build/asan/tests/%.o: tests/%.c build/flags | deps
	@mkdir -p $(@D)
	$(CC) $(TEST_FLAGS) $(CPPFLAGS) $(CHECK_CFLAGS) $(ALL_CFLAGS) $(SAN_FLAGS) -MMD -MP -c -o $@ $<

$(ASAN_LIB): $(ASAN_LIB_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(ASAN_RUNNER): $(ASAN_TEST_OBJS) $(ASAN_LIB)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(LIBS) -pthread

# LeakSanitizer cannot run under ptrace (strace, gdb, some sandboxes): a program
# that leaks on purpose shows whether it works; if not, say why and go on without.
build/asan/lsan-probe: build/flags
	@mkdir -p $(@D)
	printf '#include <stdlib.h>\nvoid *volatile p;\nint main(void) { p = malloc(7); p = 0; return 0; }\n' \
		| $(CC) $(SAN_FLAGS) -x c -o $@ -

check-asan: $(ASAN_RUNNER) build/asan/lsan-probe
	@if ASAN_OPTIONS=detect_leaks=1 build/asan/lsan-probe 2>&1 | grep -q 'detected memory leaks'; then \
	    leaks=1; \
	else \
	    leaks=0; \
	    echo "check-asan: LeakSanitizer does not work here, running without leak detection:"; \
	    ASAN_OPTIONS=detect_leaks=1 build/asan/lsan-probe 2>&1 | sed 's/^/  probe: /' | head -5; \
	fi; \
	set -x; \
	ASAN_OPTIONS=detect_leaks=$$leaks:detect_stack_use_after_return=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    CK_TIMEOUT_MULTIPLIER=3 $(ASAN_RUNNER)

# Valgrind: the normal runner in one process (CK_FORK=no), slower, so longer timeouts.
# Check has no per-test timeout without fork: a hang fails after VALGRIND_TIMEOUT s.
VALGRIND_TIMEOUT ?= 1200
check-valgrind: $(RUNNER)
	@command -v valgrind >/dev/null || { echo "check-valgrind: valgrind is missing: apt-get install -y valgrind" >&2; exit 1; }
	CK_FORK=no CK_TIMEOUT_MULTIPLIER=10 timeout -k 10 $(VALGRIND_TIMEOUT) \
	    valgrind -q --error-exitcode=1 --leak-check=full \
	    --errors-for-leak-kinds=definite --show-leak-kinds=definite $(RUNNER) \
	    || { rc=$$?; [ $$rc -ne 124 ] || echo "check-valgrind: timed out after $(VALGRIND_TIMEOUT) s" >&2; exit $$rc; }

# ---- Install -----------------------------------------------------------------
install: all
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR)
	install -m 644 $(STATIC_LIB) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(SHARED_LIB) $(DESTDIR)$(LIBDIR)/
	ln -sf libnetkit.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libnetkit.so
	install -m 644 include/netkit.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 644 netkit.pc $(DESTDIR)$(PKGCONFIGDIR)/
ifneq ($(MAN3),)
	install -d $(DESTDIR)$(MANDIR)/man3
	install -m 644 $(MAN3) $(DESTDIR)$(MANDIR)/man3/
endif
ifneq ($(MAN7),)
	install -d $(DESTDIR)$(MANDIR)/man7
	install -m 644 $(MAN7) $(DESTDIR)$(MANDIR)/man7/
endif

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libnetkit.a $(DESTDIR)$(LIBDIR)/libnetkit.so.$(VERSION) \
	    $(DESTDIR)$(LIBDIR)/$(SONAME) $(DESTDIR)$(LIBDIR)/libnetkit.so \
	    $(DESTDIR)$(INCLUDEDIR)/netkit.h $(DESTDIR)$(PKGCONFIGDIR)/netkit.pc \
	    $(addprefix $(DESTDIR)$(MANDIR)/man3/,$(notdir $(MAN3))) \
	    $(addprefix $(DESTDIR)$(MANDIR)/man7/,$(notdir $(MAN7)))

# ---- Cleaning ----------------------------------------------------------------
clean:
	rm -rf build
	rm -f lib/libnetkit.a lib/libnetkit.so lib/libnetkit.so.* netkit.pc

distclean: clean
	rm -rf config.mk config.h config.log config.status config.cache autom4te.cache

FORCE:

-include $(wildcard build/obj/*.d build/tests/*.d build/asan/obj/*.d build/asan/tests/*.d)

# ---- Benchmarks --------------------------------------------------------------
# bench/: netkit against raw BSD sockets, libuv and Python's socket module
# (bench/README.md). The programs are built under build/bench/, netkit linked
# statically from lib/libnetkit.a, libuv through pkg-config; bench/run.py runs
# them and writes bench/results.tsv. `make bench` is the full interleaved run
# (under 10 minutes on 2 cores), `make bench-quick` every row once, short.
BENCH_C := $(wildcard bench/*.c)
BENCH_NK := $(patsubst bench/%.c,build/bench/%,$(filter bench/pp_netkit.c bench/echo_nk_%.c,$(BENCH_C)))
BENCH_UV := $(patsubst bench/%.c,build/bench/%,$(filter bench/echo_uv%.c,$(BENCH_C)))
BENCH_RAW := $(filter-out $(BENCH_NK) $(BENCH_UV),$(patsubst bench/%.c,build/bench/%,$(BENCH_C)))
BENCH_PROGS := $(BENCH_NK) $(BENCH_UV) $(BENCH_RAW)
# Expanded when a recipe runs, i.e. after bench-deps installed libuv.
UV_CFLAGS = $(shell $(PKG_CONFIG) --cflags libuv)
UV_LIBS = $(shell $(PKG_CONFIG) --libs libuv)

.PHONY: bench bench-quick bench-deps bench-build

# Installs libuv1-dev, pkg-config, strace, valgrind, taskset (util-linux) and
# python3 when one is missing, as tests/deps.sh does for Check: as root with
# apt-get it installs them, otherwise it prints the command and fails.
bench-deps:
	@if command -v pkg-config >/dev/null 2>&1 && pkg-config --exists libuv && \
	    command -v strace >/dev/null 2>&1 && command -v valgrind >/dev/null 2>&1 && \
	    command -v taskset >/dev/null 2>&1 && command -v python3 >/dev/null 2>&1; then \
	    exit 0; \
	fi; \
	install_cmd="apt-get install -y libuv1-dev pkg-config strace valgrind util-linux python3"; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "bench-deps: libuv, pkg-config, strace, valgrind, taskset or python3 is missing, installing: $$install_cmd"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get update -q && $$install_cmd -q || exit 1; \
	    pkg-config --exists libuv && exit 0; \
	    echo "bench-deps: libuv still not found by pkg-config after installing" >&2; \
	    exit 1; \
	fi; \
	echo "bench-deps: the benchmarks need libuv1-dev, pkg-config, strace, valgrind, taskset and python3; as root, run:" >&2; \
	echo "    apt-get update && $$install_cmd" >&2; \
	exit 1

$(BENCH_NK): build/bench/%: bench/%.c $(STATIC_LIB) build/flags
	@mkdir -p $(@D)
	$(CC) -Iinclude $(CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(STATIC_LIB) $(LIBS) -pthread

$(BENCH_UV): build/bench/%: bench/%.c build/flags | bench-deps
	@mkdir -p $(@D)
	$(CC) $(UV_CFLAGS) $(CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(UV_LIBS) $(LIBS) -pthread

$(BENCH_RAW): build/bench/%: bench/%.c build/flags
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(LIBS) -pthread

bench-build: bench-deps all $(BENCH_PROGS)

bench: bench-build
	python3 bench/run.py

bench-quick: bench-build
	python3 bench/run.py --quick

# ---- Documentation checks (issue 8) -------------------------------------------
# check-man: tests/check_man.sh (every exported function has a man page, every
# page renders without a warning, has its sections, and its EXAMPLE compiles
# and runs). check-guide: tests/check_guide.py (docs/guide.md's C compiles, its
# excerpts are the real code, its names exist). check-readme:
# tests/check_readme.sh (README's first program and commands work as written;
# it runs make demo and make install into a scratch prefix, not make check).
# All run by `make check`.
.PHONY: check-docs check-man check-guide check-readme
check: check-docs
check-docs: check-man check-guide check-readme
check-man: all | deps
	CC='$(CC)' bash tests/check_man.sh
check-guide: all | deps
	CC='$(CC)' python3 tests/check_guide.py
check-readme: all | deps
	+MAKE='$(MAKE)' CC='$(CC)' bash tests/check_readme.sh
# ---- Hostile input (tests/check_hostile.c) ------------------------------------
# The hostile suite fails when an exported function has no row in its table;
# it reads the exports from build/exports.txt (beside the runners' directories).
HOSTILE_EXPORTS := build/exports.txt
$(HOSTILE_EXPORTS): $(SHARED_LIB)
	@mkdir -p $(@D)
	nm -D --defined-only $< | awk '$$2 == "T" { print $$3 }' | sort > $@
$(RUNNER) $(ASAN_RUNNER) $(TSAN_RUNNER): | $(HOSTILE_EXPORTS)

# ---- Two hosts on one machine ----------------------------------------------------
# tests/netns/run.sh: the examples between two network namespaces joined by a
# veth pair, on a clean link and then with loss (and delay, with sch_netem).
# As root it runs (installing iproute2 and nftables when missing); otherwise it
# prints why it skipped. See docs/testing.md, "Two hosts on one machine".
.PHONY: check-netns
check-netns: deps all
	bash tests/netns/run.sh

# ---- Sanitizer and static-checker gates (issue 7, part 5) --------------------
# check-tsan: ThreadSanitizer build of the library, the whole Check runner and
# the examples (own objects under build/tsan/), then the runner and the example
# tests (tests/examples, with the threaded chat room and echo server) under it.
# check-examples-asan: the examples built with ASan+UBSan (build/asan/examples/)
# and tests/examples run against them; check-python-asan: the binding tests
# against an ASan+UBSan libnetkit.so (build/asan/so/), libasan preloaded into
# python. check-valgrind-examples: the chat room and echo server under memcheck.
# lint: cppcheck and clang-tidy over lib/, examples/ and tests/ (configuration:
# .clang-tidy and tests/lint/cppcheck.supp); any finding fails.
# tests/sanitizers/run.sh runs each command with the sanitizer's options, logs
# every report to a scratch directory and fails when one was written.
TSAN_FLAGS = -O1 -g -fsanitize=thread -fno-omit-frame-pointer
TSAN_LIB_OBJS := $(LIB_SRCS:lib/%.c=build/tsan/obj/%.o)
TSAN_TEST_OBJS := $(TEST_SRCS:tests/%.c=build/tsan/tests/%.o)
TSAN_LIB := build/tsan/libnetkit.a
TSAN_RUNNER := build/tsan/check_netkit
TSAN_EXAMPLES := $(patsubst examples/%.c,build/tsan/examples/%,$(wildcard examples/*.c))
ASAN_EXAMPLES := $(patsubst examples/%.c,build/asan/examples/%,$(wildcard examples/*.c))
ASAN_SO_OBJS := $(LIB_SRCS:lib/%.c=build/asan/so/obj/%.o)
ASAN_SO := build/asan/so/libnetkit.so
SANITIZE = bash tests/sanitizers/run.sh

.PHONY: check-tsan check-examples-asan check-python-asan check-valgrind-examples lint lint-deps

build/tsan/obj/%.o: lib/%.c build/flags
	@mkdir -p $(@D)
	$(CC) $(LIB_FLAGS) $(CPPFLAGS) $(ALL_CFLAGS) $(TSAN_FLAGS) -MMD -MP -c -o $@ $<

build/tsan/tests/%.o: tests/%.c build/flags | deps
	@mkdir -p $(@D)
	$(CC) $(TEST_FLAGS) $(CPPFLAGS) $(CHECK_CFLAGS) $(ALL_CFLAGS) $(TSAN_FLAGS) -MMD -MP -c -o $@ $<

$(TSAN_LIB): $(TSAN_LIB_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(TSAN_RUNNER): $(TSAN_TEST_OBJS) $(TSAN_LIB)
	$(CC) $(ALL_CFLAGS) $(TSAN_FLAGS) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(LIBS) -pthread

build/tsan/examples/%: examples/%.c $(TSAN_LIB) build/flags
	@mkdir -p $(@D)
	$(CC) -Iinclude $(CPPFLAGS) $(ALL_CFLAGS) $(TSAN_FLAGS) $(LDFLAGS) -o $@ $< $(TSAN_LIB) $(LIBS) -pthread

# A program with a data race on purpose: run.sh learns from it whether TSan
# works here as it is or needs ASLR off (setarch -R, for kernels whose mmap
# randomisation TSan's memory layout does not expect).
build/tsan/tsan-probe: build/flags
	@mkdir -p $(@D)
	printf '#include <pthread.h>\nint x;\nstatic void *f(void *a) { x++; return a; }\nint main(void) { pthread_t t; pthread_create(&t, 0, f, 0); x++; pthread_join(t, 0); return 0; }\n' \
		| $(CC) $(TSAN_FLAGS) -pthread -x c -o $@ -

check-tsan: deps $(TSAN_RUNNER) $(TSAN_EXAMPLES) build/tsan/tsan-probe
	NK_TSAN_PROBE=build/tsan/tsan-probe CK_TIMEOUT_MULTIPLIER=5 $(SANITIZE) tsan $(TSAN_RUNNER)
	NK_TSAN_PROBE=build/tsan/tsan-probe NK_EXAMPLES_BIN=build/tsan/examples NK_TEST_SLACK=4 \
	    $(SANITIZE) tsan python3 -m unittest discover -v -s tests/examples -p 'test_*.py'

build/asan/examples/%: examples/%.c $(ASAN_LIB) build/flags
	@mkdir -p $(@D)
	$(CC) -Iinclude $(CPPFLAGS) $(ALL_CFLAGS) $(SAN_FLAGS) $(LDFLAGS) -o $@ $< $(ASAN_LIB) $(LIBS) -pthread

check-examples-asan: deps $(ASAN_EXAMPLES) build/asan/lsan-probe
	NK_LSAN_PROBE=build/asan/lsan-probe NK_EXAMPLES_BIN=build/asan/examples NK_TEST_SLACK=3 \
	    $(SANITIZE) asan python3 -m unittest discover -v -s tests/examples -p 'test_*.py'

build/asan/so/obj/%.o: lib/%.c build/flags
	@mkdir -p $(@D)
	$(CC) -fPIC $(LIB_FLAGS) $(CPPFLAGS) $(ALL_CFLAGS) $(SAN_FLAGS) -MMD -MP -c -o $@ $<

$(ASAN_SO): $(ASAN_SO_OBJS)
	$(CC) -shared -Wl,-soname,libnetkit.so $(ALL_CFLAGS) $(SAN_FLAGS) $(LDFLAGS) \
		-o $@ $^ $(LIBS) -pthread

check-python-asan: deps $(ASAN_SO) all
	NK_ASAN_RUNTIME="$$($(CC) -print-file-name=libasan.so)" NETKIT_LIBRARY=$(abspath $(ASAN_SO)) \
	    NK_TEST_SLACK=3 $(SANITIZE) asan-python python3 -m unittest discover -s tests/python -p 'test_*.py'

-include $(wildcard build/tsan/obj/*.d build/tsan/tests/*.d build/asan/so/obj/*.d)

lint: | lint-deps deps
	CHECK_CFLAGS='$(CHECK_CFLAGS)' bash tests/lint/run.sh

# Installs cppcheck and clang-tidy when missing (as root with apt-get; else
# prints the command and fails), as tests/deps.sh does for Check.
lint-deps:
	@if command -v cppcheck >/dev/null 2>&1 && command -v clang-tidy >/dev/null 2>&1; then exit 0; fi; \
	install_cmd="apt-get install -y cppcheck clang-tidy"; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "lint-deps: cppcheck or clang-tidy is missing, installing: $$install_cmd"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get update -q && $$install_cmd -q </dev/null || exit 1; \
	    exit 0; \
	fi; \
	echo "lint-deps: make lint needs cppcheck and clang-tidy; as root, run:" >&2; \
	echo "    apt-get update && $$install_cmd" >&2; \
	exit 1

# The chat room (both engines) and the echo server (threads and selector) under
# valgrind memcheck, driven by a few of the example tests.
VALGRIND_EXAMPLE_TESTS = test_chat_concurrent \
	test_chat.RoomTest.test_room_sigterm_and_sigint_stop_cleanly \
	test_chat.RoomThreadsTest.test_room_sigterm_and_sigint_stop_cleanly \
	test_chat.RoomThreadsTest.test_room_abrupt_reset_mid_line_does_not_disturb_others \
	test_echo.EchoD6 test_echo.EchoSelector.test_sigterm_and_sigint_stop_cleanly \
	test_echo.EchoSelector.test_abrupt_disconnects_do_not_disturb_the_others
check-valgrind-examples: deps all
	PYTHONPATH=tests/examples NK_TEST_SLACK=10 \
	    $(SANITIZE) valgrind python3 -m unittest -v $(VALGRIND_EXAMPLE_TESTS)

# ---- Fuzzing (fuzz/README.md) --------------------------------------------------
# libFuzzer targets under build/fuzz/, built with clang and
# -fsanitize=fuzzer,address,undefined, the library with them. `make fuzz` runs
# each target for FUZZ_SECONDS on a scratch copy of its seed corpus
# (fuzz/corpus/<target>/) and fails on any crash, leak, timeout or
# out-of-memory; `make fuzz-build` only builds. fuzz/deps.sh installs clang's
# libFuzzer runtime when it is missing, as tests/deps.sh does for Check.
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_TARGETS := fuzz_addr fuzz_line fuzz_chat fuzz_http
FUZZ_BINS := $(FUZZ_TARGETS:%=build/fuzz/%)
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := -O1 -g -std=gnu11 -Wall -Wextra -Wstrict-prototypes -Wshadow -pthread \
	$(if $(filter 1,$(WERROR)),-Werror)
FUZZ_LIB_OBJS := $(LIB_SRCS:lib/%.c=build/fuzz/obj/%.o)

.PHONY: fuzz fuzz-build fuzz-deps

fuzz-deps:
	@sh fuzz/deps.sh $(FUZZ_CC)

build/fuzz/flags: FORCE
	@mkdir -p build/fuzz
	@f='$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN)'; \
	 test "$$f" = "$$(cat $@ 2>/dev/null)" || echo "$$f" > $@

build/fuzz/obj/%.o: lib/%.c build/fuzz/flags | fuzz-deps
	@mkdir -p $(@D)
	$(FUZZ_CC) $(LIB_FLAGS) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

build/fuzz/libnetkit.a: $(FUZZ_LIB_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

build/fuzz/%: fuzz/%.c build/fuzz/libnetkit.a build/fuzz/flags | fuzz-deps
	$(FUZZ_CC) -Iinclude -Ilib $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer -MMD -MP \
		-o $@ $< build/fuzz/libnetkit.a -pthread

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build build/asan/lsan-probe
	FUZZ_SECONDS='$(FUZZ_SECONDS)' sh fuzz/run.sh $(FUZZ_TARGETS)

-include $(wildcard build/fuzz/*.d build/fuzz/obj/*.d)
