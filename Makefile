# cachet — top-level build.  `make` builds every program into build/bin/;
# `make check` builds, runs the unit tests, the same tests under ASan+UBSan,
# the fuzz seed corpora, and the integration tests; `make run` starts the
# milter on the embedded default configuration.  See README.md.

# Every Debian 12 package the build and the tests need, named once.
DEPS_BUILD := build-essential pkg-config clang llvm libclang-rt-14-dev \
	libmilter-dev libunbound-dev libssl-dev libopendmarc-dev \
	libevent-dev libhiredis-dev libpsl-dev libidn2-dev
DEPS_TEST := postfix nsd swaks miltertest opendkim-tools python3-dkim \
	libmail-dkim-perl publicsuffix iproute2 procps redis-server openssl \
	opendkim
# peers of bench/ only (our programs do not link them)
DEPS_BENCH := libspf2-dev
DEPS := $(DEPS_BUILD) $(DEPS_TEST) $(DEPS_BENCH)

CC ?= cc
BUILD ?= build
# where `make fuzz` puts its objects and targets
FUZZ_DIR ?= build/fuzz
OPT ?= -O2 -g

WARN := -Wall -Wextra -Wpedantic -Wformat=2 -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wcast-qual -Wwrite-strings -Wvla \
	-Wimplicit-fallthrough -Werror
# Include paths by layer: a folder sees its own headers and those of the
# layers below it, never above (lib/util < lib/dns < lib/mail < programs).
# tests/layering.sh checks that a wrong include fails to compile.
INC_util := -Ilib/util
INC_dns := $(INC_util) -Ilib/dns
INC_mail := $(INC_dns) -Ilib/mail
INC_milterd := $(INC_mail) -Imilterd
INC_policyd := $(INC_util) -Ipolicyd
INC_cli := $(INC_milterd) -Icli
# cachet-keys sits on lib/mail alone: no pipeline
INC_keys := $(INC_mail) -Ikeys
INC_tests := $(INC_milterd) -Ipolicyd

CPPFLAGS_ALL := -D_GNU_SOURCE $(CPPFLAGS)
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

# External libraries, by the layer that needs them.
LIBS_UTIL := -lpthread
LIBS_DNS := -lunbound -levent
LIBS_MAIL := -lcrypto -lpsl -lidn2
LIBS_POLICY := -levent -lhiredis
LIBS_MILTERD := $(LIBS_MAIL) $(LIBS_DNS) $(LIBS_UTIL)
# the DKIM and key-table code of lib/mail needs libcrypto only (no PSL)
LIBS_KEYS := -lcrypto $(LIBS_DNS) $(LIBS_UTIL)
# the unit tests also run libopendmarc, as a differential check of DMARC
LIBS_TESTS := -lopendmarc $(LIBS_POLICY) $(LIBS_MAIL) $(LIBS_DNS) $(LIBS_UTIL)
# the benchmarks also run libspf2, the peer of our SPF evaluation
LIBS_BENCH := -lspf2 $(LIBS_TESTS)

UTIL_SRC := $(sort $(wildcard lib/util/*.c))
DNS_SRC := $(sort $(wildcard lib/dns/*.c))
MAIL_SRC := $(sort $(wildcard lib/mail/*.c))
PIPE_SRC := $(filter-out milterd/main.c milterd/milter.c,$(sort $(wildcard milterd/*.c)))
MILTERD_SRC := milterd/main.c milterd/milter.c
POLICY_SRC := $(filter-out policyd/main.c,$(sort $(wildcard policyd/*.c)))
CLI_SRC := $(sort $(wildcard cli/*.c))
KEYS_SRC := $(sort $(wildcard keys/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
BENCH_SRC := $(sort $(wildcard bench/*.c))
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
LIB_UTIL := $(BUILD)/lib/libcachet-util.a
LIB_DNS := $(BUILD)/lib/libcachet-dns.a
LIB_MAIL := $(BUILD)/lib/libcachet-mail.a
LIB_PIPE := $(BUILD)/lib/libcachet-pipeline.a
LIB_POLICY := $(BUILD)/lib/libcachet-policy.a
# in link order: a library before the ones it uses
LIBS_OURS_MILTERD := $(LIB_PIPE) $(LIB_MAIL) $(LIB_DNS) $(LIB_UTIL)
LIBS_OURS_KEYS := $(LIB_MAIL) $(LIB_DNS) $(LIB_UTIL)
LIBS_OURS_TESTS := $(LIB_PIPE) $(LIB_POLICY) $(LIB_MAIL) $(LIB_DNS) $(LIB_UTIL)

PROGS := $(BUILD)/bin/cachet-milterd $(BUILD)/bin/cachet $(BUILD)/bin/cachet-policyd \
	$(BUILD)/bin/cachet-keys
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(FUZZ_DIR)/%,$(FUZZ_SRC))
BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))

.PHONY: all deps run check unit asan-unit fuzz fuzz-run integration bench clean layering
.DELETE_ON_ERROR:
# keep objects of pattern-built programs (bench, tests) between runs
.SECONDARY:

all: $(PROGS)

# Each folder compiles with its own layer's include path (see INC_*).
$(BUILD)/obj/lib/util/%.o: INC = $(INC_util)
$(BUILD)/obj/lib/dns/%.o: INC = $(INC_dns)
$(BUILD)/obj/lib/mail/%.o: INC = $(INC_mail)
$(BUILD)/obj/milterd/%.o: INC = $(INC_milterd)
$(BUILD)/obj/policyd/%.o: INC = $(INC_policyd)
$(BUILD)/obj/cli/%.o: INC = $(INC_cli)
$(BUILD)/obj/keys/%.o: INC = $(INC_keys)
$(BUILD)/obj/tests/%.o: INC = $(INC_tests)
$(BUILD)/obj/bench/%.o: INC = $(INC_tests)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(INC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -MMD -MP -c -o $@ $<

$(LIB_UTIL): $(call obj,$(UTIL_SRC))
$(LIB_DNS): $(call obj,$(DNS_SRC))
$(LIB_MAIL): $(call obj,$(MAIL_SRC))
$(LIB_PIPE): $(call obj,$(PIPE_SRC))
$(LIB_POLICY): $(call obj,$(POLICY_SRC))
$(BUILD)/lib/%.a:
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# libmilter from its static archive, its sigwait() wrapped: SIGHUP reloads
# instead of stopping the milter (see milterd/milter.c).
$(BUILD)/bin/cachet-milterd: $(call obj,$(MILTERD_SRC)) $(LIBS_OURS_MILTERD)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -Wl,--wrap=sigwait -o $@ $^ -l:libmilter.a \
		$(LIBS_MILTERD)

$(BUILD)/bin/cachet-policyd: $(call obj,policyd/main.c) $(LIB_POLICY) $(LIB_UTIL)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_POLICY) $(LIBS_UTIL)

$(BUILD)/bin/cachet: $(call obj,$(CLI_SRC)) $(LIBS_OURS_MILTERD)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_MILTERD)

$(BUILD)/bin/cachet-keys: $(call obj,$(KEYS_SRC)) $(LIBS_OURS_KEYS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_KEYS)

# test_keys_tables also links cachet-keys' table editor (before the libraries)
$(BUILD)/obj/tests/unit/test_keys_tables.o: INC = $(INC_tests) -Ikeys
$(BUILD)/tests/test_keys_tables: $(BUILD)/obj/tests/unit/test_keys_tables.o \
		$(BUILD)/obj/tests/unit/t.o $(call obj,keys/tables.c) $(LIBS_OURS_TESTS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_TESTS)

# test_doctor also links cachet doctor's files (before the libraries)
$(BUILD)/obj/tests/unit/test_doctor.o: INC = $(INC_tests) -Icli
$(BUILD)/tests/test_doctor: $(BUILD)/obj/tests/unit/test_doctor.o $(BUILD)/obj/tests/unit/t.o \
		$(call obj,$(filter cli/doctor%.c,$(CLI_SRC))) $(LIBS_OURS_TESTS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_TESTS)

# test_milter also links the libmilter driver, and libmilter as the daemon does
$(BUILD)/tests/test_milter: $(BUILD)/obj/tests/unit/test_milter.o $(BUILD)/obj/tests/unit/t.o \
		$(call obj,milterd/milter.c) $(LIBS_OURS_TESTS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -Wl,--wrap=sigwait -o $@ $^ -l:libmilter.a \
		$(LIBS_TESTS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(BUILD)/obj/tests/unit/t.o $(LIBS_OURS_TESTS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_TESTS)

# the null filter of bench/milter_bench.sh: libmilter only, none of ours
$(BUILD)/bench/null_milter: $(BUILD)/obj/bench/null_milter.o
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $^ -lmilter -lpthread

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(LIBS_OURS_TESTS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $^ $(LIBS_BENCH)

# The layering test: the include graph, and a wrong include that must not compile.
layering:
	@tests/layering.sh "$(CC)" "$(INC_util)" "$(INC_dns)" "$(INC_mail)" "$(INC_policyd)"

# Benchmarks: measured against peers in the same run, never pass/fail.
bench: deps all $(BENCH_BINS)
	BUILD=$(BUILD) bench/run.sh

# libFuzzer targets (clang), with ASan+UBSan.  Every source is compiled
# once with the fuzzer's coverage instrumentation (fuzzer-no-link) into
# $(FUZZ_DIR)/obj, with its layer's include path; each target links them all.
FUZZ_FLAGS := -std=c17 -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-D_GNU_SOURCE
FUZZ_LIB_SRC := $(PIPE_SRC) $(POLICY_SRC) $(MAIL_SRC) $(DNS_SRC) $(UTIL_SRC)
FUZZ_LIB_OBJ := $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(FUZZ_LIB_SRC))
$(FUZZ_DIR)/obj/lib/util/%.o: INC = $(INC_util)
$(FUZZ_DIR)/obj/lib/dns/%.o: INC = $(INC_dns)
$(FUZZ_DIR)/obj/lib/mail/%.o: INC = $(INC_mail)
$(FUZZ_DIR)/obj/milterd/%.o: INC = $(INC_milterd)
$(FUZZ_DIR)/obj/policyd/%.o: INC = $(INC_policyd)
$(FUZZ_DIR)/obj/tests/%.o: INC = $(INC_tests)
$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(INC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<
$(FUZZ_DIR)/libfuzzcachet.a: $(FUZZ_LIB_OBJ)
	rm -f $@ && ar rcs $@ $^
$(FUZZ_DIR)/%: $(FUZZ_DIR)/obj/tests/fuzz/%.o $(FUZZ_DIR)/libfuzzcachet.a
	clang $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $^ $(LIBS_TESTS)

fuzz: $(FUZZ_BINS)

# make fuzz-run [FUZZ_SECONDS=60]: each target for that long, from its seeds.
FUZZ_SECONDS ?= 60
fuzz-run: fuzz
	@for f in $(FUZZ_BINS); do n=$$(basename $$f); \
	  mkdir -p $(FUZZ_DIR)/corpus/$$n; \
	  echo "== $$n ($(FUZZ_SECONDS) s)"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    $(FUZZ_DIR)/corpus/$$n tests/fuzz/corpus/$$n || exit 1; done

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
	@echo "  smtpd_recipient_restrictions = ..., check_policy_service inet:127.0.0.1:10031"
	@echo "  smtpd_end_of_data_restrictions = check_policy_service inet:127.0.0.1:10031"
	@# cachet-policyd refuses root: as root it runs as nobody (a copy of its
	@# configuration with UserID added, under $(BUILD)/run); both stop together.
	@mkdir -p $(BUILD)/run
	@{ cat conf/cachet-policyd.conf; [ "$$(id -u)" != 0 ] || echo "UserID nobody"; } \
		>$(BUILD)/run/cachet-policyd.conf
	@$(BUILD)/bin/cachet-policyd -c $(BUILD)/run/cachet-policyd.conf -f & pd=$$!; \
	trap 'kill $$pd 2>/dev/null; wait $$pd' EXIT INT TERM; \
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
