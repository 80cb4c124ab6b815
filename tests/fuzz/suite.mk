# libFuzzer targets for every parser of outside input (tests/fuzz/README.md).
# Included by the top Makefile, which defines LIB_SRC, CPPFLAGS, WARN and
# PKG_*.  The library is rebuilt with clang into build-fuzz/, apart from
# build/ and build-asan/.
#
#   make fuzz          each target for FUZZ_RUNS executions (at most
#                      FUZZ_TIME seconds each); a table of execs, cov, ft
#   make check-fuzz    replay every seed and regression input, then a short
#                      run of each target (FUZZ_CHECK_TIME s); fails on any
#                      crash, leak, UBSan report or broken invariant

FUZZ_CC        ?= clang
FUZZ_BUILD     := build-fuzz
FUZZ_RUNS      ?= 2000000
FUZZ_TIME      ?= 40
FUZZ_CHECK_TIME ?= 7
FUZZ_SAN       := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS    := -O1 -g -fno-omit-frame-pointer $(FUZZ_SAN)
FUZZ_LIB_OBJ   := $(LIB_SRC:%.c=$(FUZZ_BUILD)/%.o)
FUZZ_NAMES     := $(patsubst tests/fuzz/fuzz-%.c,%,$(wildcard tests/fuzz/fuzz-*.c))
FUZZ_BIN       := $(FUZZ_NAMES:%=$(FUZZ_BUILD)/fuzz-%)
FUZZ_RUN       := tests/fuzz/run.sh

CHECK_PARTS    += fuzz

.PHONY: fuzz check-fuzz fuzz-build fuzz-toolchain

# clang and its libFuzzer runtime (Debian: clang libclang-rt-14-dev).
fuzz-toolchain:
	@mkdir -p $(FUZZ_BUILD)
	@command -v $(FUZZ_CC) >/dev/null 2>&1 || { \
		echo "fuzz: '$(FUZZ_CC)' not found: install clang and libclang-rt-14-dev (sh .ci/deps)" >&2; \
		exit 1; }
	@printf 'int LLVMFuzzerTestOneInput(const char *d, long n) { (void)d; (void)n; return 0; }\n' | \
		$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -x c - \
			-o $(FUZZ_BUILD)/.toolchain-probe >/dev/null 2>&1 || { \
		echo "fuzz: $(FUZZ_CC) cannot link -fsanitize=fuzzer (the libFuzzer runtime is missing): install libclang-rt-14-dev (sh .ci/deps)" >&2; \
		exit 1; }

$(FUZZ_BUILD)/%.o: %.c $(wildcard client/*.h proxy/*.h netlink/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(WARN) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link \
		$(PKG_CFLAGS) -c -o $@ $<

$(FUZZ_BUILD)/libnbdc.a: $(FUZZ_LIB_OBJ)
	ar rcs $@ $^

$(FUZZ_BUILD)/fuzz-%: tests/fuzz/fuzz-%.c tests/fuzz/fuzz.h $(FUZZ_BUILD)/libnbdc.a
	$(FUZZ_CC) $(CPPFLAGS) -Itests/fuzz $(WARN) $(FUZZ_CFLAGS) \
		-fsanitize=fuzzer $(PKG_CFLAGS) -o $@ $< \
		$(FUZZ_BUILD)/libnbdc.a $(PKG_LIBS) -lpthread

fuzz-build: fuzz-toolchain
	@$(MAKE) --no-print-directory $(FUZZ_BIN)

fuzz: fuzz-build
	FUZZ_RUNS=$(FUZZ_RUNS) FUZZ_TIME=$(FUZZ_TIME) $(FUZZ_RUN) fuzz $(FUZZ_BUILD) $(FUZZ_NAMES)

check-fuzz: fuzz-build
	FUZZ_TIME=$(FUZZ_CHECK_TIME) $(FUZZ_RUN) check $(FUZZ_BUILD) $(FUZZ_NAMES)
