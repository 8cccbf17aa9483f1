# tick — build, test, sanitize, fuzz.
#   make            ./tick and libtick.a
#   make test       the whole suite; ends with "N passed, N failed"
#   make sanitize   the suite under AddressSanitizer + UBSan (build-san/)
#   make fuzz       libFuzzer targets (clang) in build-fuzz/
#   make check-arm  aarch64 cross build (build-arm/) + NEON kernels under qemu
#   make demo       runs stories260K from ../shared
CC      ?= cc
BUILD   ?= build
OPT     ?= -O2
CFLAGS  ?= $(OPT) -g
override CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Iinclude -Isrc -MMD -MP
override LDLIBS += -lcjson -lpcre2-8 -lutf8proc -lm -lpthread
APP_LDLIBS = -lmicrohttpd
TEST_LDLIBS = -lcjson

LIB_SRC  := $(sort $(wildcard src/*/*.c src/*/*/*.c))
APP_SRC  := $(sort $(wildcard apps/*.c))
TEST_SRC := $(sort $(wildcard tests/test_*.c))
TEST_UTIL:= $(sort $(wildcard tests/util_*.c))

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
APP_OBJ  := $(APP_SRC:%.c=$(BUILD)/%.o)
UTIL_OBJ := $(TEST_UTIL:%.c=$(BUILD)/%.o)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)

ifeq ($(BUILD),build)
TICK := tick
else
TICK := $(BUILD)/tick
endif

all: $(TICK) $(BUILD)/libtick.a

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libtick.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

libtick.a: $(BUILD)/libtick.a
	cp $< $@

$(TICK): $(APP_OBJ) $(BUILD)/libtick.a
	$(CC) $(CFLAGS) $(LDFLAGS) $(APP_OBJ) $(BUILD)/libtick.a $(APP_LDLIBS) $(LDLIBS) -o $@

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(UTIL_OBJ) $(BUILD)/libtick.a
	$(CC) $(CFLAGS) $(LDFLAGS) $< $(UTIL_OBJ) $(BUILD)/libtick.a $(TEST_LDLIBS) $(LDLIBS) -o $@

test: $(TICK) $(TEST_BIN)
	@TICK=./$(TICK) sh tests/run.sh $(TEST_BIN)

sanitize:
	$(MAKE) BUILD=build-san CC=clang OPT=-O1 \
	  LDFLAGS="-fsanitize=address,undefined" \
	  CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined" test

# check-arm: the library, ./tick and every test built for aarch64 with
# -Werror into build-arm/ (needs aarch64 libcjson and libpcre2: Debian
# multiarch, libcjson-dev:arm64 libpcre2-dev:arm64), then the tests below
# run under qemu-user, whose default CPU has NEON and dotprod, so test_neon
# checks both levels' kernels against scalar. Not run there: test_simd
# (assumes the x86 levels), and the tests that run whole models, measure the
# machine or time the clock (minutes under emulation).
ARM_CC    ?= aarch64-linux-gnu-gcc
ARM_QEMU  ?= qemu-aarch64
ARM_BUILD := build-arm
ARM_TESTS := test_neon test_dtype test_gguf test_sampler test_tokenizer test_bpe test_badmodel
check-arm:
	@if ! command -v $(ARM_CC) >/dev/null 2>&1 || ! command -v $(ARM_QEMU) >/dev/null 2>&1; then \
	  echo "check-arm: skipped: $(ARM_CC) or $(ARM_QEMU) not found (Debian: gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user)"; \
	  exit 0; \
	fi; \
	for l in libcjson.so libpcre2-8.so libutf8proc.so; do \
	  case "$$($(ARM_CC) -print-file-name=$$l)" in */*) ;; *) \
	    echo "check-arm: skipped: no aarch64 $$l (Debian: dpkg --add-architecture arm64; apt-get install libcjson-dev:arm64 libpcre2-dev:arm64 libutf8proc-dev:arm64)"; \
	    exit 0;; esac; \
	done; \
	arm_tick=$(ARM_BUILD)/tick; \
	case "$$($(ARM_CC) -print-file-name=libmicrohttpd.so)" in */*) ;; *) arm_tick=; \
	  echo "check-arm: ./tick not linked for aarch64: no aarch64 libmicrohttpd.so (libmicrohttpd-dev:arm64)";; esac; \
	$(MAKE) --no-print-directory BUILD=$(ARM_BUILD) CC=$(ARM_CC) OPT="-O2 -Werror" \
	  $$arm_tick $(TEST_SRC:tests/%.c=$(ARM_BUILD)/tests/%) || exit 1; \
	mkdir -p $(ARM_BUILD)/qemu; \
	for t in $(ARM_TESTS); do \
	  printf '#!/bin/sh\nexec %s -L /usr/aarch64-linux-gnu %s "$$@"\n' "$(ARM_QEMU)" "$(ARM_BUILD)/tests/$$t" > $(ARM_BUILD)/qemu/$$t; \
	  chmod +x $(ARM_BUILD)/qemu/$$t; \
	done; \
	XDG_CACHE_HOME_TESTS=$(CURDIR)/$(ARM_BUILD)/cache sh tests/run.sh $(ARM_TESTS:%=$(ARM_BUILD)/qemu/%)

FUZZ_TARGETS := $(patsubst fuzz/%.c,build-fuzz/%,$(wildcard fuzz/fuzz_*.c))
fuzz: $(FUZZ_TARGETS)
build-fuzz/%: fuzz/%.c $(LIB_SRC)
	@mkdir -p build-fuzz
	clang -std=c11 -D_GNU_SOURCE -g -O1 -Iinclude -Isrc -fsanitize=fuzzer,address,undefined $< $(LIB_SRC) -lcjson -lpcre2-8 -lutf8proc -lm -lpthread -o $@
build-fuzz/fuzz_request: apps/serve_req.c apps/serve.h

# The issue-4 table: random-weight models at real shapes (tick synth) in a
# cache outside the repo, then tick bench at 1 and 2 threads.
BENCH_DIR ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/tick/models
BENCH_MODELS ?= tinyllama-1.1b:q4_0 tinyllama-1.1b:q8_0 tinyllama-1.1b:f16 stories110m:f32 stories110m:q8_0 stories110m:q4_0
BENCH_FLAGS ?= -p 128 -n 64 -t 1,2 -r 5
bench: $(TICK)
	@mkdir -p $(BENCH_DIR)
	@for mt in $(BENCH_MODELS); do m=$${mt%%:*}; t=$${mt##*:}; f=$(BENCH_DIR)/$$m-$$t.gguf; \
	  [ -f $$f ] || ./$(TICK) synth $$m --type $$t -o $$f >/dev/null || exit 1; done
	@first=1; for mt in $(BENCH_MODELS); do m=$${mt%%:*}; t=$${mt##*:}; \
	  ./$(TICK) bench -m $(BENCH_DIR)/$$m-$$t.gguf $(BENCH_FLAGS) | if [ $$first = 1 ]; then cat; else tail -n +3; fi; first=0; done

demo: $(TICK)
	@if [ -f ../shared/models/stories260K.gguf ]; then \
	  ./$(TICK) run -m ../shared/models/stories260K.gguf -p "Once upon a time" -n 128 --temp 0; \
	else echo "demo: ../shared/models/stories260K.gguf not found; get a GGUF model (e.g. stories260K.gguf from Hugging Face) and run ./tick run -m MODEL -p TEXT"; exit 1; fi

clean:
	rm -rf build build-san build-fuzz tick libtick.a

.SECONDARY:
.PHONY: all test sanitize fuzz demo bench clean libtick.a
-include $(LIB_OBJ:.o=.d) $(APP_OBJ:.o=.d) $(UTIL_OBJ:.o=.d) $(TEST_BIN:=.d)
