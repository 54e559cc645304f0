# groupbuyd - plain make, pkg-config, objects in build/.
#
#   make            build/groupbuyd
#   make asan       build/asan/groupbuyd (AddressSanitizer + UBSan)
#   make run        install what is missing, start var/ PostgreSQL, migrate,
#                   load demo data, serve on 127.0.0.1:8080
#   make test       the same set-up, then unit tests and API tests (asan)
#   make unit       unit tests only;  make api  API tests only
#   make failover-test  a synchronous standby, kill -9 of the primary
#                   mid-storm, promotion, nothing lost (also in make test)
#   make fuzz       libFuzzer over the body parser (FUZZ_SECONDS=600)
#   make mutants    one-line mutations of the rules that matter, each of
#                   which the tests must catch (scripts/mutants.py; slow, not
#                   part of make test; MUTANTS=a,b runs only those)
#   make slow       the API suite's measurements (@pytest.mark.slow: the
#                   10,000-webhook delivery), left out of make test
#   make screenshots  the browser suite, writing its screenshots of the
#                   web apps into docs/ (no other run writes them)
#   make bench      load benchmarks on loopback, build/bench/results.json
#                   (BENCH_SECONDS=10 per workload; not part of make test;
#                   BENCH_ONLY=sse: only the hot and the live-progress parts)
#   make db-stop    stop the var/ PostgreSQL cluster

CC      ?= cc
PKGS    := libevent libpq libcjson openssl libcurl libidn2 zlib
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wformat=2 -Wcast-qual -fno-common \
           -fstack-protector-strong
CFLAGS  ?= -O2 -g
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(PKG_CFLAGS) -Iserver -MMD -MP
ASAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all

# Sources live in the folders of their layer (server/README).
SRCS      := $(sort $(shell find server -name '*.c'))
LIB_SRCS  := $(filter-out server/main.c,$(SRCS))
OBJS      := $(SRCS:server/%.c=build/obj/%.o)
LIB_OBJS  := $(LIB_SRCS:server/%.c=build/obj/%.o)
ASAN_OBJS := $(SRCS:server/%.c=build/asan/obj/%.o)
ASAN_LIB_OBJS := $(LIB_SRCS:server/%.c=build/asan/obj/%.o)
UNIT_SRCS := $(sort $(shell find tests/unit -name 'test_*.c'))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=build/tests/%)

PYTHON  ?= /usr/bin/python3

.PHONY: all asan unit api test run deps db-start db-stop migrate demo fuzz \
        format format-check clean check-compose bench failover-test mutants slow \
        screenshots

all: build/groupbuyd

build/groupbuyd: $(OBJS)
	$(CC) $(ALL_CFLAGS) -o $@ $(OBJS) $(PKG_LIBS)

build/obj/%.o: server/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

asan: build/asan/groupbuyd

build/asan/groupbuyd: $(ASAN_OBJS)
	$(CC) $(ALL_CFLAGS) $(ASAN_FLAGS) -o $@ $(ASAN_OBJS) $(PKG_LIBS)

build/asan/obj/%.o: server/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ASAN_FLAGS) -c -o $@ $<

build/asan/libgroupbuyd.a: $(ASAN_LIB_OBJS)
	rm -f $@ && ar rcs $@ $(ASAN_LIB_OBJS)

build/tests/%: tests/unit/%.c build/asan/libgroupbuyd.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ASAN_FLAGS) -Itests/unit -o $@ $< build/asan/libgroupbuyd.a $(PKG_LIBS)

# The bench's stream holder (tests/bench/sse_hold.c): plain C and epoll.
build/bench/sse_hold: tests/bench/sse_hold.c | build/bench
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) -o $@ $<

build/bench:
	mkdir -p $@

deps:
	@scripts/deps.sh

unit: $(UNIT_BINS)
	@scripts/run-unit.sh $(UNIT_BINS)

api: build/asan/groupbuyd
	@scripts/run-api.sh

test: deps
	@$(MAKE) --no-print-directory all asan $(UNIT_BINS)
	@scripts/test.sh $(UNIT_BINS)

mutants: deps
	@$(MAKE) --no-print-directory asan $(UNIT_BINS)
	@scripts/mutants.py

slow: build/asan/groupbuyd $(TOOL_BINS)
	@scripts/run-api.sh -m slow -s

screenshots: build/asan/groupbuyd
	@GB_SCREENSHOTS=1 scripts/run-browser.sh

failover-test: build/asan/groupbuyd
	@tests/failover/run.sh

db-start: deps
	@scripts/pg.sh start

db-stop:
	@scripts/pg.sh stop

migrate: build/groupbuyd db-start
	@scripts/pg.sh migrate

run: deps
	@$(MAKE) --no-print-directory all
	@scripts/run.sh

bench: deps
	@$(MAKE) --no-print-directory all build/bench/sse_hold
	@scripts/bench.sh

format:
	clang-format -i $(shell find server -name '*.[ch]') $(shell find tests/unit -name '*.[ch]') tests/fuzz/*.c

format-check:
	@scripts/format-check.sh

check-compose:
	@scripts/check-compose.sh

-include tests/fuzz/fuzz.mk

clean:
	rm -rf build

-include $(OBJS:.o=.d) $(ASAN_OBJS:.o=.d)
