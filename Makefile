# allocmark - build and test.
#   make          build everything into build/ (installs missing Debian packages as root)
#   make test     build and run the whole test suite (unit, adapters, drivers, sanitizers, fuzzer)
#   make WERROR=1 treat warnings as errors (CI does)

# ---- the allocator table: one line per allocator: ALLOC_LIBS_<name> := <link flags> ----
ALLOC_LIBS_glibc    :=
ALLOC_LIBS_jemalloc := -ljemalloc
ALLOC_LIBS_tcmalloc := -ltcmalloc_minimal
ALLOC_LIBS_mimalloc := -lmimalloc
ALLOC_LIBS_slab     := build/lib/libslab.a -lpthread
ALLOC_LIBS_slab-locked := build/lib/libslab.a -lpthread
ALLOCATORS := $(sort $(patsubst ALLOC_LIBS_%,%,$(filter ALLOC_LIBS_%,$(.VARIABLES))))

DEBIAN_DEPS := libjemalloc-dev libgoogle-perftools-dev libmimalloc-dev libzstd-dev libcmocka-dev libinih-dev
TEST_DEPS   := clang libclang-rt-14-dev
TEST_DEPS   += sqlite3 python3
# The charts (gnuplot) and the design-review report (matplotlib, seen by /usr/bin/python3
# only); the tests also render the report in headless Chromium and run a --jobs list
# with GNU parallel; jq checks JSON files in the tests.
REPORT_DEPS := gnuplot-nox python3-matplotlib
TEST_DEPS   += $(REPORT_DEPS) chromium parallel jq

CC      ?= cc
WERROR  ?= 0
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c17 -Wall -Wextra -D_GNU_SOURCE -MMD -MP
ifeq ($(WERROR),1)
CFLAGS  += -Werror
endif
LDLIBS  := -lzstd -lm -lpthread
SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_SECONDS ?= 60

B := build
HARNESS_SRC := os.c membuf.c trace_format.c trace_read.c trace_write.c trace_text.c \
               hist.c tsc.c opstream.c replay.c json.c report.c replay_ops.c mtstream.c replay_mt.c
HARNESS_OBJ := $(HARNESS_SRC:%.c=$(B)/obj/harness/%.o)
# The workload generators (spec in, trace out): only allocmark-trace and the tests.
GEN_SRC     := spec.c os_proc.c $(notdir $(wildcard harness/gen*.c))
GEN_OBJ     := $(GEN_SRC:%.c=$(B)/obj/harness/%.o)
SLAB_SRC    := $(wildcard allocators/slab/*.c)
SLAB_OBJ    := $(SLAB_SRC:%.c=$(B)/obj/%.o)
SLAB_LIB    := $(B)/lib/libslab.a
ASAN_OBJ    := $(HARNESS_SRC:%.c=$(B)/asan/harness/%.o)

DRIVERS := $(ALLOCATORS:%=$(B)/bin/allocmark-%)
TOOLS   := $(B)/bin/allocmark-trace $(B)/tests/gen_churn
UNIT_TESTS := $(B)/tests/test_trace $(B)/tests/test_hist $(B)/tests/test_replay
# Generator tests: every tests/test_gen*.c, plain and under ASan+UBSan.
GEN_TEST_NAMES := $(patsubst tests/%.c,%,$(wildcard tests/test_gen*.c))
GEN_TESTS  := $(GEN_TEST_NAMES:%=$(B)/tests/%) $(GEN_TEST_NAMES:%=$(B)/asan/tests/%)
ADAPTER_TESTS := $(ALLOCATORS:%=$(B)/tests/test_adapter-%)
ASAN_TESTS := $(B)/asan/tests/test_trace $(B)/asan/tests/test_hist $(B)/asan/tests/test_replay \
              $(B)/asan/tests/test_adapter-glibc $(B)/asan/bin/allocmark-glibc
FUZZER := $(B)/fuzz/fuzz_trace
# The slab allocator's own tests (allocators/slab/tests/): all plain, and the
# threaded stress also under ThreadSanitizer and under ASan+UBSan, with the
# slab sources built from source the same way.
SLAB_TEST_NAMES := test_slab_classes test_slab_shadow test_slab_memory test_slab_death test_slab_threads
SLAB_TESTS := $(SLAB_TEST_NAMES:%=$(B)/tests/slab/%) \
              $(B)/tsan/tests/slab/test_slab_threads $(B)/asan/tests/slab/test_slab_threads
TSAN := -fsanitize=thread -fno-omit-frame-pointer

.PHONY: all deps report-deps test-deps test clean fuzz print-allocators plots
.SECONDARY:
all: $(DRIVERS) $(TOOLS)

deps:
	@harness/deps.sh $(DEBIAN_DEPS)

test-deps: deps
	@harness/deps.sh $(TEST_DEPS)

report-deps:
	@harness/deps.sh $(REPORT_DEPS)

# Charts (PNG and SVG, into RESULTS/plots/) and RESULTS/report.html from a results folder.
RESULTS ?= results/latest
plots: report-deps
	@[ -d "$(RESULTS)/raw" ] || { echo "make plots: $(RESULTS) is not a results folder (make plots RESULTS=results/<run-id>)" >&2; exit 1; }
	plots/plots.sh $(RESULTS)
	/usr/bin/python3 plots/report.py $(RESULTS)

# ---- objects ----
$(B)/obj/%.o: %.c | deps
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(B)/asan/%.o: %.c | deps
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) -c $< -o $@

$(B)/tsan/%.o: %.c | deps
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(TSAN) -c $< -o $@

# ---- the slab allocator: a library of its own ----
$(SLAB_LIB): $(SLAB_OBJ)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

$(B)/bin/allocmark-slab $(B)/bin/allocmark-slab-locked $(B)/tests/test_adapter-slab \
    $(B)/tests/test_adapter-slab-locked: $(SLAB_LIB)

# ---- the malloc-compatible shim: build/lib/libslabmalloc.so, for LD_PRELOAD ----
# The slab sources again, position-independent and hidden: only the malloc API
# (marked in the shim) is exported. No builtin malloc knowledge in there, so the
# compiler never turns the allocator's own code into calls to malloc.
SHIM_LIB   := $(B)/lib/libslabmalloc.so
SHIM_OBJ   := $(SLAB_SRC:%.c=$(B)/pic/%.o) $(B)/pic/allocators/slab/shim/slabmalloc.o
SHIM_TESTS := $(B)/tests/shim/shim_api $(B)/tests/shim/shim_threads $(B)/tests/shim/shim_early
all: $(SHIM_LIB)

$(B)/pic/%.o: %.c | deps
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -fPIC -fvisibility=hidden -fno-builtin-malloc -fno-builtin-calloc -fno-builtin-realloc \
	    -fno-builtin-free -c $< -o $@

$(SHIM_LIB): $(SHIM_OBJ)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -shared -Wl,-z,defs $^ -o $@ -lpthread

# Test programs, run under LD_PRELOAD by allocators/slab/shim/test_shim.sh.
$(B)/obj/allocators/slab/shim/tests/%.o: CFLAGS += -fno-builtin
$(B)/tests/shim/%: $(B)/obj/allocators/slab/shim/tests/%.o | test-deps
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $^ -o $@ -lpthread -ldl

# ---- the recorder: build/lib/libamrecord.so (LD_PRELOAD) and `allocmark-trace record` ----
# harness/record/rec_*.c is the preloaded library (built like the shim: PIC, hidden,
# no builtin malloc); the rest of harness/record/ is the post-pass in allocmark-trace.
REC_LIB     := $(B)/lib/libamrecord.so
REC_LIB_OBJ := $(patsubst %.c,$(B)/pic/%.o,$(wildcard harness/record/rec_*.c))
REC_CLI_OBJ := $(patsubst %.c,$(B)/obj/%.o,$(filter-out harness/record/rec_%,$(wildcard harness/record/*.c))) \
               $(B)/obj/harness/record_cli.o $(B)/obj/harness/heaptrack_cli.o
REC_TESTS   := $(patsubst tests/record/%.c,$(B)/tests/record/%,$(wildcard tests/record/*.c))
all: $(REC_LIB)
test: $(REC_LIB) $(REC_TESTS)
$(B)/bin/allocmark-trace: $(REC_CLI_OBJ)

$(REC_LIB): $(REC_LIB_OBJ)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -shared -Wl,-z,defs $^ -o $@ -ldl -lpthread

# Programs with known allocation sequences, recorded by tests/record/test_record.sh.
$(B)/obj/tests/record/%.o: CFLAGS += -fno-builtin
$(B)/tests/record/%: $(B)/obj/tests/record/%.o
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $^ -o $@ -lpthread

# An async-signal-safe bump malloc for the signal-storm test, preloaded behind the recorder.
REC_TESTS += $(B)/tests/record/libbump.so
$(B)/tests/record/libbump.so: tests/record/so/bumpalloc.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -fPIC -shared -fvisibility=hidden -fno-builtin $< -o $@

# ---- programs ----
$(B)/bin/allocmark-%: $(B)/obj/harness/driver_main.o $(HARNESS_OBJ) $(B)/obj/allocators/%.o
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS) $(ALLOC_LIBS_$*)

$(B)/bin/allocmark-trace: $(B)/obj/harness/trace_main.o $(HARNESS_OBJ) $(GEN_OBJ)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS) -linih

$(B)/tests/gen_churn: $(B)/obj/tests/gen_churn.o $(HARNESS_OBJ)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

# ---- tests ----
# A fake allocator that crashes on purpose (tests/crash_adapter.c) for run_all.sh's
# failure tests; built by make test into build/tests/bin/, never among the real drivers.
CRASH_DRIVER := $(B)/tests/bin/allocmark-crash
test: $(CRASH_DRIVER)
$(CRASH_DRIVER): $(B)/obj/harness/driver_main.o $(HARNESS_OBJ) $(B)/obj/tests/crash_adapter.o
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

$(B)/tests/test_%: $(B)/obj/tests/test_%.o $(HARNESS_OBJ) $(B)/obj/allocators/glibc.o
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS) -lcmocka

$(filter $(B)/tests/%,$(GEN_TESTS)): $(B)/tests/%: $(B)/obj/tests/%.o $(HARNESS_OBJ) $(GEN_OBJ)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS) -lcmocka -linih

$(filter $(B)/asan/tests/%,$(GEN_TESTS)): $(B)/asan/tests/%: $(B)/asan/tests/%.o $(ASAN_OBJ) \
    $(GEN_SRC:%.c=$(B)/asan/harness/%.o)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) $^ -o $@ $(LDLIBS) -lcmocka -linih

$(B)/tests/test_adapter-%: $(B)/obj/tests/test_adapter.o $(B)/obj/allocators/%.o
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $^ -o $@ -lcmocka -lpthread $(ALLOC_LIBS_$*)

# Sanitizers cannot sit beside a malloc replacement, so only glibc runs under them.
$(B)/asan/tests/test_%: $(B)/asan/tests/test_%.o $(ASAN_OBJ) $(B)/asan/allocators/glibc.o
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) $^ -o $@ $(LDLIBS) -lcmocka

$(B)/asan/tests/test_adapter-glibc: $(B)/asan/tests/test_adapter.o $(B)/asan/allocators/glibc.o
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) $^ -o $@ -lcmocka -lpthread

$(B)/asan/bin/allocmark-glibc: $(B)/asan/harness/driver_main.o $(ASAN_OBJ) $(B)/asan/allocators/glibc.o
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) $^ -o $@ $(LDLIBS)

$(B)/tests/slab/test_slab_%: $(B)/obj/allocators/slab/tests/test_slab_%.o $(SLAB_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $^ -o $@ -lcmocka -lpthread

$(B)/tsan/tests/slab/test_slab_%: $(B)/tsan/allocators/slab/tests/test_slab_%.o $(SLAB_SRC:%.c=$(B)/tsan/%.o)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(TSAN) $^ -o $@ -lcmocka -lpthread

$(B)/asan/tests/slab/test_slab_%: $(B)/asan/allocators/slab/tests/test_slab_%.o $(SLAB_SRC:%.c=$(B)/asan/%.o)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) $^ -o $@ -lcmocka -lpthread

# Multi-thread replay (tests/test_replay_mt.c): plain, under ASan+UBSan, and under
# ThreadSanitizer with the harness built the same way (glibc only, as for ASan).
MT_TESTS := $(B)/tests/test_replay_mt $(B)/asan/tests/test_replay_mt $(B)/tsan/tests/test_replay_mt
test: $(MT_TESTS)

$(B)/tsan/tests/test_%: $(B)/tsan/tests/test_%.o $(HARNESS_SRC:%.c=$(B)/tsan/harness/%.o) $(B)/tsan/allocators/glibc.o
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(TSAN) $^ -o $@ $(LDLIBS) -lcmocka

# ---- the slab allocator's debug build: -DSLAB_DEBUG=1 (allocators/slab/debug.c) ----
# The slab sources again, with the checks compiled in (double free, foreign
# pointers, canaries), into build/debug/; the release objects are untouched.
# Tests: the debug build's death tests, and correct programs (shadow model,
# threads, the normal build's death tests) that must run clean on it.
SLAB_DEBUG_OBJ := $(SLAB_SRC:%.c=$(B)/debug/%.o)
SLAB_DEBUG_LIB := $(B)/debug/lib/libslab.a
SLAB_DEBUG_TEST_NAMES := test_slab_debug test_slab_shadow test_slab_threads test_slab_death
SLAB_DEBUG_TESTS := $(SLAB_DEBUG_TEST_NAMES:%=$(B)/debug/tests/slab/%)
.PHONY: slab-debug
slab-debug: $(SLAB_DEBUG_LIB) $(SLAB_DEBUG_TESTS) $(B)/tests/slab/bench_slab_churn $(B)/debug/tests/slab/bench_slab_churn

$(B)/debug/%.o: %.c | deps
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -DSLAB_DEBUG=1 -c $< -o $@

$(SLAB_DEBUG_LIB): $(SLAB_DEBUG_OBJ)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

$(B)/debug/tests/slab/test_slab_%: $(B)/debug/allocators/slab/tests/test_slab_%.o $(SLAB_DEBUG_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $^ -o $@ -lcmocka -lpthread

# ns/op of a churn loop, release vs debug (allocators/slab/README.md); not run by make test.
$(B)/tests/slab/bench_slab_churn: $(B)/obj/allocators/slab/tests/bench_slab_churn.o $(SLAB_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $^ -o $@ -lpthread

$(B)/debug/tests/slab/bench_slab_churn: $(B)/debug/allocators/slab/tests/bench_slab_churn.o $(SLAB_DEBUG_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $^ -o $@ -lpthread

# ns per block handed from an allocating thread to a freeing one (the depot's case,
# allocators/slab/README.md); built by make slab-debug, not run by make test.
slab-debug: $(B)/tests/slab/bench_slab_xfer
$(B)/tests/slab/bench_slab_xfer: $(B)/obj/allocators/slab/tests/bench_slab_xfer.o $(SLAB_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $^ -o $@ -lpthread

test: $(SLAB_DEBUG_TESTS)

$(FUZZER): tests/fuzz_trace.c $(HARNESS_SRC:%=harness/%) | test-deps
	@mkdir -p $(@D)
	clang -std=c17 -O1 -g -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	    tests/fuzz_trace.c $(HARNESS_SRC:%=harness/%) -o $@ $(LDLIBS)

test: all $(UNIT_TESTS) $(GEN_TESTS) $(ADAPTER_TESTS) $(B)/tests/test_drivers $(ASAN_TESTS) $(SLAB_TESTS) $(FUZZER)
	@FUZZ_SECONDS=$(FUZZ_SECONDS) ALLOCATORS="$(ALLOCATORS)" tests/run.sh $(B)

test: $(SHIM_LIB) $(SHIM_TESTS)

fuzz: $(FUZZER)
	$(FUZZER) -max_total_time=$(FUZZ_SECONDS) $(B)/fuzz/corpus tests/corpus

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)

print-allocators:
	@echo $(ALLOCATORS)
