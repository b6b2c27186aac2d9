# llq — plain GNU Makefile. `make` builds build/libllq.a and the tools; `make test` runs every suite.
# Layout: every .c under LIBDIRS goes into libllq.a; tools/llq-<name>.c is a tool (build/llq-<name>), and the
# other files in tools/ (printing, arguments, outputs) are what only the tools share (libllqcli.a).
# libllq.a exports exactly the functions include/llq/*.h declares (scripts/public-syms.sh): its objects are linked
# into one (ld -r) and every other global symbol is made local (objcopy), so the library's internal helpers
# (zip_open, pk_parse, rtn_*, ...) cannot clash with a program's own symbols. Tests, benchmarks and fuzz targets,
# which call internal helpers, link libllq-internal.a (the same objects, symbols untouched); the tools link libllq.a.
# Files named *_avx2.c are compiled with -mavx2 -mfma -mf16c and only called after a run-time CPU check; *_avx512.c
# also with -mavx512f (after llq_cpu_has_avx512()); *_vnni.c also with -mavx512bw -mavx512vnni (after
# llq_cpu_has_avx512vnni()).

CC      ?= cc
LD      ?= ld
OBJCOPY ?= objcopy
BUILD   ?= build
PREFIX  ?= /usr/local
DESTDIR ?=
OPT     ?= -O2
SAN     ?=

LIBDIRS := common format ckpt tokenizer convert inspect kernels eval quantize
TOOLS   := $(patsubst tools/llq-%.c,%,$(wildcard tools/llq-*.c))

WARN := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
        -Wcast-align -Wpointer-arith -Wwrite-strings -Wundef -Wvla -Wnull-dereference -Werror
CFLAGS_ALL = -std=c11 -D_GNU_SOURCE -ffp-contract=off $(OPT) -g $(WARN) -Iinclude -Itools $(PKG_CFLAGS) $(SANFLAGS) $(CFLAGS)
LDLIBS_ALL = $(PKG_LIBS) -lpthread -lm $(SANFLAGS) $(LDFLAGS)
ifneq ($(SAN),)
SANFLAGS := -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif

LIB_SRC  := $(foreach d,$(LIBDIRS),$(wildcard $(d)/*.c))
CLI_SRC  := $(filter-out tools/llq-%.c,$(wildcard tools/*.c))
TOOL_BIN := $(patsubst %,$(BUILD)/llq-%,$(TOOLS))
TEST_SRC := $(wildcard tests/unit/test_*.c)
TEST_BIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(TEST_SRC))
LIB_OBJ  := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRC))
CLI_OBJ  := $(patsubst %.c,$(BUILD)/obj/%.o,$(CLI_SRC))

.SECONDARY:
.PHONY: all test asan ubsan bench demo clean install fixtures layers
all: $(BUILD)/libllq.a $(TOOL_BIN)

# Dependencies: scripts/install-deps.sh checks (and as root installs) what pkg-config needs,
# then records the flags. Make re-reads this file once it is built.
$(BUILD)/config.mk: scripts/install-deps.sh
	@mkdir -p $(BUILD)
	@scripts/install-deps.sh
	@{ echo "PKG_CFLAGS := $$(pkg-config --cflags zlib json-c libpcre2-8 libutf8proc)"; \
	   echo "PKG_LIBS := $$(pkg-config --libs zlib json-c libpcre2-8 libutf8proc)"; \
	   echo "CHECK_CFLAGS := $$(pkg-config --cflags check)"; \
	   echo "CHECK_LIBS := $$(pkg-config --libs check)"; } > $@
ifeq ($(filter clean,$(MAKECMDGOALS)),)
include $(BUILD)/config.mk
endif

$(BUILD)/obj/%_vnni.o: %_vnni.c | $(BUILD)/config.mk
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -mavx2 -mfma -mf16c -mavx512f -mavx512bw -mavx512vnni -MMD -MP -c $< -o $@

$(BUILD)/obj/%_avx512.o: %_avx512.c | $(BUILD)/config.mk
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -mavx2 -mfma -mf16c -mavx512f -MMD -MP -c $< -o $@

$(BUILD)/obj/%_avx2.o: %_avx2.c | $(BUILD)/config.mk
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -mavx2 -mfma -mf16c -MMD -MP -c $< -o $@

$(BUILD)/obj/%.o: %.c | $(BUILD)/config.mk
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

$(BUILD)/public.syms: $(wildcard include/llq/*.h) scripts/public-syms.sh | $(BUILD)/config.mk
	CC="$(CC)" scripts/public-syms.sh include > $@

$(BUILD)/libllq.a: $(LIB_OBJ) $(BUILD)/public.syms
	@rm -f $@ $(BUILD)/obj/libllq.o
	$(LD) -r -o $(BUILD)/obj/libllq.o $(LIB_OBJ)
	$(OBJCOPY) --keep-global-symbols=$(BUILD)/public.syms $(BUILD)/obj/libllq.o
	ar rcs $@ $(BUILD)/obj/libllq.o

$(BUILD)/libllq-internal.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libllqcli.a: $(CLI_OBJ)
	@rm -f $@
	ar rcs $@ $^ $(if $(CLI_OBJ),,)

$(BUILD)/llq-%: $(BUILD)/obj/tools/llq-%.o $(BUILD)/libllqcli.a $(BUILD)/libllq.a
	$(CC) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(BUILD)/obj/tests/unit/harness.o $(BUILD)/libllqcli.a \
                  $(BUILD)/libllq-internal.a
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(CHECK_LIBS) $(LDLIBS_ALL)

$(BUILD)/obj/tests/unit/%.o: tests/unit/%.c | $(BUILD)/config.mk
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(CHECK_CFLAGS) -Wno-missing-prototypes -MMD -MP -c $< -o $@

test: all $(TEST_BIN)
	@tests/run.sh $(BUILD)

# The folders' dependency graph (scripts/layers.sh holds it): fails when a folder includes a header of a layer
# above it. `make test` runs it too (tests/cli/layers.sh).
layers:
	@scripts/layers.sh .

# Sanitized code runs several times slower: Check's per-test hang guard (4 s by default) is stretched to match,
# so that a slow or busy machine does not turn it into a timing-dependent failure.
asan:
	CK_TIMEOUT_MULTIPLIER=$${CK_TIMEOUT_MULTIPLIER:-10} $(MAKE) BUILD=build-asan CC=clang SAN=address,undefined OPT=-O1 test

ubsan:
	CK_TIMEOUT_MULTIPLIER=$${CK_TIMEOUT_MULTIPLIER:-10} $(MAKE) BUILD=build-ubsan CC=clang SAN=undefined OPT=-O1 test

# Benchmarks: bench/<name>.c -> $(BUILD)/bench/<name> (tokenize, bench_calib, quant, eval, rtn, convert, ...), run by
# `make bench` (figures only, never pass/fail); bench/bench.h holds what they share (clocks, xorshift, load
# average), bench/readbw.h the plain-read reference several include.
BENCH_BIN := $(patsubst bench/%.c,$(BUILD)/bench/%,$(wildcard bench/*.c))
$(BUILD)/bench/%: bench/%.c bench/bench.h bench/readbw.h $(BUILD)/libllq-internal.a | $(BUILD)/config.mk
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $(filter-out %.h,$^) $(LDLIBS_ALL)

bench: all $(BENCH_BIN)
	@scripts/bench.sh $(BUILD)

# The full calibration measurement of issue 14 (a Llama-3.2-1B shape, all 16 layers, GPTQ, 128 × 256 tokens, 2
# threads; `make bench` runs 2 of the layers): about 20 minutes on an idle 2-core machine.
.PHONY: bench-calib-full
bench-calib-full: $(BUILD)/bench/calib_scale
	$(BUILD)/bench/calib_scale 2 16

demo: all
	@scripts/demo.sh $(BUILD)

# Regenerates the committed fixtures (needs Debian's python3-torch and python3-sentencepiece).
fixtures:
	/usr/bin/python3 tests/make_fixtures.py

# tests/mkllq.c: writes small .llq files through the library for the CLI tests (format/inspect tests).
$(BUILD)/tests/mkllq: $(BUILD)/obj/tests/mkllq.o $(BUILD)/libllq-internal.a
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(LDLIBS_ALL)
test: $(BUILD)/tests/mkllq
# tests/jget.c: reads --json output for the CLI tests (so they need nothing beyond the build dependencies).
$(BUILD)/tests/jget: $(BUILD)/obj/tests/jget.o
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(LDLIBS_ALL)
test: $(BUILD)/tests/jget
# tests/mkfull.c: writes the real-vocabulary tiny models of tests/cli/fullvocab.sh (deterministic, no library).
$(BUILD)/tests/mkfull: $(BUILD)/obj/tests/mkfull.o
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(LDLIBS_ALL)
test: $(BUILD)/tests/mkfull

# The interop suite (tests/interop/run.sh, docs/TOOLS.md): llq's GGUF files in llama.cpp via node-llama-cpp; skips
# with a note when node or the package (tests/interop/node_modules) is absent. CI installs them.
$(BUILD)/tests/llq_logits: tests/interop/llq_logits.c $(BUILD)/libllq.a | $(BUILD)/config.mk
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)
.PHONY: test-interop
test-interop: all $(BUILD)/tests/llq_logits
	@tests/interop/run.sh $(BUILD)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include/llq
	install -m 755 $(TOOL_BIN) $(DESTDIR)$(PREFIX)/bin
	install -m 644 $(BUILD)/libllq.a $(DESTDIR)$(PREFIX)/lib
	install -m 644 include/llq/*.h $(DESTDIR)$(PREFIX)/include/llq
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(shell sed -n 's/.*LLQ_VERSION_STRING "\(.*\)"/\1/p' include/llq/llq.h)|' \
	    scripts/llq.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/llq.pc

# ---- fuzzing (docs/FUZZING.md): `make fuzz FUZZ_SECONDS=N [FUZZ_TARGETS="llq spm"]` builds every libFuzzer
# target tests/fuzz/fuzz_<t>.c with clang + ASan/UBSan into build-fuzz/ and runs each for N seconds, one at a time.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
.PHONY: fuzz fuzz-build
fuzz:
	$(MAKE) BUILD=build-fuzz CC=clang SAN=address,undefined OPT=-O1 CFLAGS=-fsanitize=fuzzer-no-link \
	    FUZZ_TARGETS="$(FUZZ_TARGETS)" fuzz-build
	@tests/fuzz/run.sh build-fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)
fuzz-build: $(patsubst %,$(BUILD)/fuzz/fuzz_%,$(FUZZ_TARGETS))
$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(wildcard tests/fuzz/*.h) $(BUILD)/libllq-internal.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -fsanitize=fuzzer -o $@ $< $(BUILD)/libllq-internal.a $(LDLIBS_ALL)

clean:
	rm -rf build build-asan build-ubsan build-fuzz

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

