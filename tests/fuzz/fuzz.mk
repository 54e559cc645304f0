# tests/fuzz/fuzz.mk - libFuzzer over the request-body parser; included by
# the top Makefile.
#
#   make fuzz                  build build/fuzz/fuzz_body and fuzz 600 s
#   make fuzz FUZZ_SECONDS=60  a shorter run
#
# New inputs go to build/fuzz/corpus (the working corpus); tests/fuzz/corpus
# is the committed seed corpus and is only read. UBSan findings are made
# fatal so libFuzzer stops on them and keeps the input.

FUZZ_SECONDS ?= 600
FUZZ_CC      ?= clang
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE -g -O1 \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
                -Iserver $(shell pkg-config --cflags libcjson)
FUZZ_LIBS    := -lcjson
FUZZ_SRCS    := tests/fuzz/fuzz_body.c server/lib/json.c
FUZZ_BIN     := build/fuzz/fuzz_body
FUZZ_CORPUS  := build/fuzz/corpus
FUZZ_SEEDS   := tests/fuzz/corpus

.PHONY: fuzz fuzz-deps fuzz-run

fuzz: fuzz-deps
	@$(MAKE) --no-print-directory fuzz-run

fuzz-deps:
	@GROUPBUYD_DEPS_EXTRA="clang libclang-rt-14-dev" scripts/deps.sh

fuzz-run: $(FUZZ_BIN) | $(FUZZ_CORPUS)
	$(FUZZ_BIN) -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
		$(FUZZ_CORPUS) $(FUZZ_SEEDS)

$(FUZZ_BIN): $(FUZZ_SRCS) server/lib/json.h | build/fuzz
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(FUZZ_SRCS) $(FUZZ_LIBS)

build/fuzz $(FUZZ_CORPUS):
	mkdir -p $@
