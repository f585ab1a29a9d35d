# Nameplate build: plain GNU make with pkg-config.
#
#   make            build build/nameplated, build/nameplatectl and build/nameplate
#   make run        install missing Debian packages, build, start a demo server
#   make test       install missing Debian packages, build, run every test
#   make SAN=1 ...  the same with ASAN+UBSAN (objects under build/san/)
#   make FUZZ=1 fuzz  libFuzzer binaries (clang) under build/fuzz/
#   make bench      side-by-side benchmark against NSD and Knot (not in CI)

.DEFAULT_GOAL := all

PKGS    := sqlite3 libmicrohttpd liburcu-qsbr libsodium inih jansson libcurl miniupnpc libpcap
CC      ?= cc
PYTHON  ?= /usr/bin/python3

ifeq ($(FUZZ),1)
CC      := clang
BUILD   ?= build/fuzz
SANFLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
else ifeq ($(SAN),1)
BUILD   ?= build/san
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else
BUILD   ?= build
SANFLAGS :=
endif

WARN    := -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes -Wvla
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE $(WARN) -Werror $(SANFLAGS) -Isrc -MMD -MP \
           $(shell pkg-config --cflags $(PKGS))
LDFLAGS += $(SANFLAGS)
LDLIBS  := $(shell pkg-config --libs $(PKGS)) -lpthread

# One static library per module folder; each binary is a thin main.c over them.
MODULES := common observe dns zone ns store core server http ctl client sensor
MAINS   := src/nameplated/main.c src/ctl/main.c src/client/main.c src/sensor/main.c
lib_srcs = $(filter-out $(MAINS),$(wildcard src/$(1)/*.c))
LIBS    := $(foreach m,$(MODULES),$(BUILD)/lib$(m).a)
LINKLIBS := -Wl,--start-group $(LIBS) -Wl,--end-group

define module_rules
$(BUILD)/lib$(1).a: $(patsubst src/%.c,$(BUILD)/obj/%.o,$(call lib_srcs,$(1)))
	@mkdir -p $$(@D)
	rm -f $$@
	ar rcs $$@ $$^
endef
$(foreach m,$(MODULES),$(eval $(call module_rules,$(m))))

BINS    := $(BUILD)/nameplated $(BUILD)/nameplatectl $(BUILD)/nameplate $(BUILD)/nameplate-sensor
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(BUILD)/tests/%,$(FUZZ_SRCS))

.PHONY: all deps run test unit fuzz-replay system fuzz bench clean check-banned
all: $(BINS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/nameplated: $(BUILD)/obj/nameplated/main.o $(LIBS)
	$(CC) $(LDFLAGS) -o $@ $< $(LINKLIBS) $(LDLIBS)

$(BUILD)/nameplatectl: $(BUILD)/obj/ctl/main.o $(LIBS)
	$(CC) $(LDFLAGS) -o $@ $< $(LINKLIBS) $(LDLIBS)

$(BUILD)/nameplate: $(BUILD)/obj/client/main.o $(LIBS)
	$(CC) $(LDFLAGS) -o $@ $< $(LINKLIBS) $(LDLIBS)

$(BUILD)/nameplate-sensor: $(BUILD)/obj/sensor/main.o $(LIBS)
	$(CC) $(LDFLAGS) -o $@ $< $(LINKLIBS) $(LDLIBS)

# A test binary tests/unit/test_<module>_<what>.c (or fuzz_<module>_<what>.c) links only
# the libraries its module depends on, so one module's tests never wait for another's.
DEPS_common := common
DEPS_dns    := dns common
DEPS_ns     := ns zone dns common
DEPS_zone   := zone dns common
DEPS_store  := store observe zone dns common
DEPS_core   := core store observe zone dns common
DEPS_server := server ns zone dns common
DEPS_http   := http core store observe zone dns common
DEPS_ctl    := ctl store observe zone dns common
DEPS_client := client dns common
DEPS_observe := observe common
DEPS_sensor := sensor observe common
module_of = $(firstword $(subst _, ,$(1)))
libs_of = $(foreach m,$(DEPS_$(call module_of,$(1))),$(BUILD)/lib$(m).a)

.SECONDEXPANSION:
$(BUILD)/tests/test_%: $(BUILD)/obj/tests/unit/test_%.o $$(call libs_of,$$*)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< -Wl,--start-group $(call libs_of,$*) -Wl,--end-group $(LDLIBS) -lcmocka

# Without FUZZ=1 each fuzz target links a replay main that runs its committed corpus.
ifeq ($(FUZZ),1)
$(BUILD)/tests/fuzz_%: $(BUILD)/obj/tests/fuzz/fuzz_%.o $$(call libs_of,$$*)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $< -Wl,--start-group $(call libs_of,$*) -Wl,--end-group $(LDLIBS)
fuzz: $(FUZZ_BINS)
else
$(BUILD)/tests/fuzz_%: $(BUILD)/obj/tests/fuzz/fuzz_%.o $(BUILD)/obj/tests/fuzz/replay.o $$(call libs_of,$$*)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(BUILD)/obj/tests/fuzz/replay.o -Wl,--start-group $(call libs_of,$*) -Wl,--end-group $(LDLIBS)
fuzz:
	$(MAKE) FUZZ=1 fuzz
endif

deps:
	@sh scripts/deps.sh

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done

fuzz-replay: $(FUZZ_BINS)
	@set -e; for t in $(FUZZ_BINS); do n=$${t##*/}; echo "== $$n"; $$t tests/fuzz/corpus/$$n; done

system: $(BINS)
	NP_BUILD=$(BUILD) $(PYTHON) -m pytest -q tests/system $(PYTEST_ARGS)

check-banned:
	@sh scripts/check-banned.sh

test: deps
	$(MAKE) all unit fuzz-replay check-banned
	$(MAKE) system

run: deps
	$(MAKE) all
	@sh scripts/run-demo.sh $(BUILD)

bench: deps
	$(MAKE) all
	@sh bench/run.sh $(BUILD)

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
