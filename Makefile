# cachet — top-level build.  `make` builds every program into build/bin/;
# `make check` builds, runs the unit tests, the same tests under ASan+UBSan,
# the fuzz seed corpora, and the integration tests; `make run` starts the
# milter on the embedded default configuration.  See README.md.

# Every Debian 12 package the build and the tests need, named once.
DEPS_BUILD := build-essential pkg-config clang llvm libclang-rt-14-dev \
	libmilter-dev libunbound-dev libssl-dev libspf2-dev libopendmarc-dev \
	libevent-dev libhiredis-dev
DEPS_TEST := postfix nsd swaks miltertest opendkim-tools python3-dkim \
	libmail-dkim-perl publicsuffix iproute2 procps redis-server openssl \
	opendkim
DEPS := $(DEPS_BUILD) $(DEPS_TEST)

CC ?= cc
BUILD ?= build
OPT ?= -O2 -g

WARN := -Wall -Wextra -Wpedantic -Wformat=2 -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wcast-qual -Wwrite-strings -Wvla \
	-Wimplicit-fallthrough -Werror
CPPFLAGS_ALL := -D_GNU_SOURCE -Ilib -Imilterd -Ipolicyd $(CPPFLAGS)
ifeq ($(SANITIZE),1)
BUILD := build/asan
HARDEN := -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
HARDEN_LD := -fsanitize=address,undefined
OPT := -O1 -g
else
HARDEN := -D_FORTIFY_SOURCE=3 -fstack-protector-strong -fPIE
HARDEN_LD := -pie -Wl,-z,relro,-z,now
endif
CFLAGS_ALL := -std=c17 $(OPT) $(WARN) $(HARDEN) $(CFLAGS)
LDFLAGS_ALL := $(HARDEN_LD) $(LDFLAGS)
LIBS := -lmilter -lunbound -lspf2 -lopendmarc -levent -lhiredis -lcrypto -lpthread

LIB_SRC := $(sort $(wildcard lib/*.c))
PIPE_SRC := $(filter-out milterd/main.c milterd/milter.c,$(sort $(wildcard milterd/*.c)))
MILTERD_SRC := milterd/main.c milterd/milter.c
POLICYD_LIB_SRC := $(filter-out policyd/main.c,$(sort $(wildcard policyd/*.c)))
CLI_SRC := $(sort $(wildcard cli/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
BENCH_SRC := $(sort $(wildcard bench/*.c))
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
LIB_OBJ := $(call obj,$(LIB_SRC))
PIPE_OBJ := $(call obj,$(PIPE_SRC)) $(call obj,$(POLICYD_LIB_SRC))
PROGS := $(BUILD)/bin/cachet-milterd $(BUILD)/bin/cachet \
	$(if $(wildcard policyd/main.c),$(BUILD)/bin/cachet-policyd)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
FUZZ_BINS := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(FUZZ_SRC))
BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))

.PHONY: all deps run check unit asan-unit fuzz fuzz-run integration bench clean
.DELETE_ON_ERROR:
# keep objects of pattern-built programs (bench, tests) between runs
.SECONDARY:

all: $(PROGS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -MMD -MP -c -o $@ $<

$(BUILD)/lib/libcachet.a: $(LIB_OBJ) $(PIPE_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/bin/cachet-milterd: $(call obj,$(MILTERD_SRC)) $(BUILD)/lib/libcachet.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $^ $(LIBS)

$(BUILD)/bin/cachet-policyd: $(call obj,policyd/main.c) $(BUILD)/lib/libcachet.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $^ $(LIBS)

$(BUILD)/bin/cachet: $(call obj,$(CLI_SRC)) $(BUILD)/lib/libcachet.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(BUILD)/obj/tests/unit/t.o $(BUILD)/lib/libcachet.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $^ $(LIBS)

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(BUILD)/lib/libcachet.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $^ $(LIBS)

# Benchmarks: measured against peers in the same run, never pass/fail.
bench: deps all $(BENCH_BINS)
	BUILD=$(BUILD) bench/run.sh

# libFuzzer targets (clang), with ASan+UBSan, linked against the sources
# directly so they get the fuzzer's coverage instrumentation.
FUZZ_CFLAGS := -std=c17 -O1 -g -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -D_GNU_SOURCE -Ilib -Imilterd -Ipolicyd
build/fuzz/%: tests/fuzz/%.c $(LIB_SRC) $(PIPE_SRC) $(POLICYD_LIB_SRC)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -o $@ $< $(LIB_SRC) $(PIPE_SRC) $(POLICYD_LIB_SRC) $(LIBS)

fuzz: $(FUZZ_BINS)

# make fuzz-run [FUZZ_SECONDS=60]: each target for that long, from its seeds.
FUZZ_SECONDS ?= 60
fuzz-run: fuzz
	@for f in $(FUZZ_BINS); do n=$$(basename $$f); \
	  mkdir -p build/fuzz/corpus/$$n; \
	  echo "== $$n ($(FUZZ_SECONDS) s)"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    build/fuzz/corpus/$$n tests/fuzz/corpus/$$n || exit 1; done

deps:
	@missing=""; for p in $(DEPS); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' \
	    || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  echo "postfix postfix/main_mailer_type select No configuration" | $$SUDO debconf-set-selections; \
	  $$SUDO apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends $$missing; \
	fi

run: deps all
	@echo "Add to Postfix's main.cf:"
	@echo "  smtpd_milters = inet:127.0.0.1:8891"
	@echo "  milter_default_action = tempfail"
	@echo "(also non_smtpd_milters = \$$smtpd_milters to filter local submissions)"
	$(BUILD)/bin/cachet-milterd -c conf/cachet.conf -f

unit: $(UNIT_BINS)
asan-unit:
	$(MAKE) SANITIZE=1 unit

check: deps
	$(MAKE) all unit
	$(MAKE) SANITIZE=1 all unit
	$(MAKE) fuzz
	tests/run.sh

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
