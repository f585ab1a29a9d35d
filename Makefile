# Nameplate build: plain GNU make with pkg-config.
#
#   make            build build/nameplated, build/nameplatectl and build/nameplate
#   make run        install missing Debian packages, build, start a demo server
#   make test       install missing Debian packages, build, run every test
#   make SAN=1 ...  the same with ASAN+UBSAN (objects under build/san/)
#   make FUZZ=1 fuzz  libFuzzer binaries (clang) under build/fuzz/
#   make fuzz-long  every fuzz target for FUZZ_SECONDS (600) each, new inputs kept in its corpus
#   make bench      side-by-side benchmark against NSD and Knot (not in CI)
#   make bench-auth authentication and durable update rates, against the previous release
#   make bench-update RFC 2136 UPDATE rates against BIND 9 and Knot, NOERROR -> NSD secondary
#   make bench-abuse  the abuse checks' cost: durable update rate with and without, scoring
#   make bench-dnssec signing cost, signed vs unsigned vs Knot signed: CPU/query, memory, updates
#   make respdiff   differential test: 20,000 queries to nameplated and NSD, answers compared
#   make check-layers  every #include follows the module table (docs/ARCHITECTURE.md)
#   make man        the man pages (docs/man/*.scd, rendered by scdoc) under build/man/
#   make install    copies what make and make man built (PREFIX=/usr/local, DESTDIR=)

.DEFAULT_GOAL := all

PKGS    := sqlite3 libmicrohttpd liburcu-qsbr libsodium inih jansson libcurl miniupnpc libpcap \
           liboath libqrencode libcrypto
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

# One static library per module folder; each binary is a thin main.c over them. Which
# module may use which is the table in docs/ARCHITECTURE.md: scripts/layers.sh turns it
# into LAYER_ORDER (every module before those it uses) and LINK_<module> (the module and
# all it may use, in that order). Everything links in that order, without --start-group,
# so a call against the table fails to link.
$(BUILD)/layers.mk: docs/ARCHITECTURE.md scripts/layers.sh
	@mkdir -p $(@D)
	sh scripts/layers.sh mk >$@.tmp && mv $@.tmp $@ || { rm -f $@.tmp; exit 1; }
include $(BUILD)/layers.mk

MAINS   := src/nameplated/main.c src/ctl/main.c src/client/main.c src/sensor/main.c
lib_srcs = $(filter-out $(MAINS),$(wildcard src/$(1)/*.c))
# A folder with only a main.c (src/nameplated, the daemon's composition root) is no library.
MODULES := $(foreach m,$(LAYER_ORDER),$(if $(call lib_srcs,$(m)),$(m)))
link_libs = $(foreach m,$(LINK_$(1)),$(if $(filter $(m),$(MODULES)),$(BUILD)/lib$(m).a))

# Generated sources join their module's library: GEN_OBJS_<module>.
define module_rules
$(BUILD)/lib$(1).a: $(patsubst src/%.c,$(BUILD)/obj/%.o,$(call lib_srcs,$(1))) $(GEN_OBJS_$(1))
	@mkdir -p $$(@D)
	rm -f $$@
	ar rcs $$@ $$^
endef

# The web pages' templates (templates/) and the files /static/ serves (static/) are compiled
# into the http library: scripts/embed.sh writes them as C arrays (src/http/embed.h). The
# folders are prerequisites too, so adding or removing a file regenerates.
EMBED_DIRS := templates static
EMBED_FILES := $(foreach d,$(EMBED_DIRS),$(wildcard $(d)/*))
GEN_OBJS_http := $(BUILD)/obj/gen/embed.o
$(BUILD)/gen/embed.c: scripts/embed.sh $(EMBED_DIRS) $(EMBED_FILES)
	@mkdir -p $(@D)
	sh scripts/embed.sh $(EMBED_DIRS) >$@.tmp && mv $@.tmp $@ || { rm -f $@.tmp; exit 1; }
$(BUILD)/obj/gen/embed.o: $(BUILD)/gen/embed.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

$(foreach m,$(MODULES),$(eval $(call module_rules,$(m))))

BINS    := $(BUILD)/nameplated $(BUILD)/nameplatectl $(BUILD)/nameplate $(BUILD)/nameplate-sensor
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(BUILD)/tests/%,$(FUZZ_SRCS))

.PHONY: all deps run test unit fuzz-replay fuzz-long system fuzz bench bench-auth bench-update bench-abuse bench-dnssec respdiff clean \
        check-banned check-layers man install
all: $(BINS)

# Man pages: docs/man/NAME.SECTION.scd -> $(BUILD)/man/NAME.SECTION (scdoc, Debian's scdoc).
MAN_SRCS := $(wildcard docs/man/*.scd)
MAN_PAGES := $(patsubst docs/man/%.scd,$(BUILD)/man/%,$(MAN_SRCS))
man: $(MAN_PAGES)

$(BUILD)/man/%: docs/man/%.scd
	@mkdir -p $(@D)
	scdoc <$< >$@.tmp && mv $@.tmp $@ || { rm -f $@.tmp; exit 1; }

# make install: copies what is built (make all man first), never builds binaries itself,
# so it can run as root after an unprivileged build. The nameplate client goes to bin (any
# user runs it: status, doctor, check); the daemons and the administration tool to sbin.
# The units in contrib/ name /usr/local; installed ones name $(PREFIX). The example
# configs go to the doc directory: make install never writes under /etc, so no existing
# configuration is ever overwritten. The server's file is /etc/nameplate/nameplate.conf, so
# nameplate.conf(5) is a link to its page, nameplated.conf(5).
PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR  ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
MANDIR  ?= $(PREFIX)/share/man
DOCDIR  ?= $(PREFIX)/share/doc/nameplate
UNITDIR ?= $(PREFIX)/lib/systemd/system
UNITS   := nameplated.service nameplate.service nameplate-sensor.service \
           nameplate-feeds.service nameplate-feeds.timer
SCRIPTS := nameplate-feeds
EXAMPLES := nameplate.conf client.conf sensor.conf
DOCS    := README.md $(wildcard docs/*.md)

install: man
	@for b in $(BINS); do [ -x $$b ] || { echo "install: $$b is not built (run make first)" >&2; exit 1; }; done
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(UNITDIR) \
	        $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	        $(DESTDIR)$(MANDIR)/man8
	install -m 755 $(BUILD)/nameplate $(DESTDIR)$(BINDIR)/
	install -m 755 $(BUILD)/nameplated $(BUILD)/nameplatectl $(BUILD)/nameplate-sensor \
	        $(DESTDIR)$(SBINDIR)/
	set -e; for p in $(MAN_PAGES); do \
		n=$${p##*/}; install -m 644 $$p $(DESTDIR)$(MANDIR)/man$${n##*.}/$$n; done
	ln -sf nameplated.conf.5 $(DESTDIR)$(MANDIR)/man5/nameplate.conf.5
	set -e; for u in $(UNITS); do \
		if grep -o '/usr/local/[^ ]*' contrib/$$u | grep -Ev '^/usr/local/(s?bin|share/doc/nameplate)/'; then \
			echo "install: contrib/$$u names a /usr/local path install does not map" >&2; \
			exit 1; fi; \
		sed -e 's|/usr/local/sbin/|$(SBINDIR)/|g' -e 's|/usr/local/bin/|$(BINDIR)/|g' \
		    -e 's|/usr/local/share/doc/nameplate/|$(DOCDIR)/|g' contrib/$$u \
		    >$(DESTDIR)$(UNITDIR)/$$u.tmp; \
		chmod 644 $(DESTDIR)$(UNITDIR)/$$u.tmp; \
		mv $(DESTDIR)$(UNITDIR)/$$u.tmp $(DESTDIR)$(UNITDIR)/$$u; done
	set -e; for f in $(SCRIPTS); do \
		sed -e 's|/usr/local/sbin/|$(SBINDIR)/|g' contrib/$$f >$(DESTDIR)$(SBINDIR)/$$f.tmp; \
		chmod 755 $(DESTDIR)$(SBINDIR)/$$f.tmp; \
		mv $(DESTDIR)$(SBINDIR)/$$f.tmp $(DESTDIR)$(SBINDIR)/$$f; done
	install -m 644 $(DOCS) $(DESTDIR)$(DOCDIR)/
	install -m 644 $(addprefix contrib/examples/,$(EXAMPLES)) $(DESTDIR)$(DOCDIR)/examples/

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

# Each binary links the libraries of its main's module: main.c in src/<module>/.
define bin_rule
$(BUILD)/$(1): $(BUILD)/obj/$(2)/main.o $(call link_libs,$(2))
	$(CC) $(LDFLAGS) -o $$@ $$< $(call link_libs,$(2)) $(LDLIBS)
endef
$(eval $(call bin_rule,nameplated,nameplated))
$(eval $(call bin_rule,nameplatectl,ctl))
$(eval $(call bin_rule,nameplate,client))
$(eval $(call bin_rule,nameplate-sensor,sensor))

# A test binary tests/unit/test_<module>_<what>.c (or fuzz_<module>_<what>.c) links only
# the libraries its module may use, so one module's tests never wait for another's.
module_of = $(firstword $(subst _, ,$(1)))
libs_of = $(call link_libs,$(call module_of,$(1)))

.SECONDEXPANSION:
$(BUILD)/tests/test_%: $(BUILD)/obj/tests/unit/test_%.o $$(call libs_of,$$*)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(call libs_of,$*) $(LDLIBS) -lcmocka

# Without FUZZ=1 each fuzz target links a replay main that runs its committed corpus.
ifeq ($(FUZZ),1)
$(BUILD)/tests/fuzz_%: $(BUILD)/obj/tests/fuzz/fuzz_%.o $$(call libs_of,$$*)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $< $(call libs_of,$*) $(LDLIBS)
fuzz: $(FUZZ_BINS)
else
$(BUILD)/tests/fuzz_%: $(BUILD)/obj/tests/fuzz/fuzz_%.o $(BUILD)/obj/tests/fuzz/replay.o $$(call libs_of,$$*)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(BUILD)/obj/tests/fuzz/replay.o $(call libs_of,$*) $(LDLIBS)
fuzz:
	$(MAKE) FUZZ=1 fuzz
endif

# A budgeted run (scripts/fuzz-long.sh): FUZZ_SECONDS per target, FUZZ_JOBS targets at once,
# FUZZ_TARGETS to pick some (default all). Not in CI: it takes FUZZ_SECONDS x targets.
FUZZ_SECONDS ?= 600
FUZZ_JOBS    ?= 1
FUZZ_RSS_MB  ?= 2048
fuzz-long:
	$(MAKE) FUZZ=1 fuzz
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_JOBS=$(FUZZ_JOBS) FUZZ_RSS_MB=$(FUZZ_RSS_MB) \
	    sh scripts/fuzz-long.sh build/fuzz $(FUZZ_TARGETS)

deps:
	@sh scripts/deps.sh

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done

fuzz-replay: $(FUZZ_BINS)
	@set -e; for t in $(FUZZ_BINS); do n=$${t##*/}; echo "== $$n"; $$t tests/fuzz/corpus/$$n; done

# test_totp.py has two unit test binaries print what it compares with Debian's tools.
# The system tests run TEST_JOBS at a time (pytest-xdist): most of their time is spent
# waiting on sockets and timers, so more at once than there are CPUs pays. The tests that
# build network namespaces, and those that drive Chromium, each share one worker; the few
# marked `solo` (they measure rates or watch timed state changes) run afterwards, alone
# (tests/system/conftest.py). TEST_JOBS=0 runs the first pass in one process as well. Exit
# status 5 is pytest's "no test selected" (a PYTEST_ARGS filter that leaves a pass empty).
TEST_JOBS ?= 4
system: $(BINS) $(BUILD)/tests/test_account_totp $(BUILD)/tests/test_http_qr
	NP_BUILD=$(BUILD) $(PYTHON) -m pytest -q -n $(TEST_JOBS) --dist loadgroup -m "not solo" \
	    tests/system $(PYTEST_ARGS) || [ $$? -eq 5 ]
	NP_BUILD=$(BUILD) $(PYTHON) -m pytest -q -m solo tests/system $(PYTEST_ARGS) || [ $$? -eq 5 ]

check-banned:
	@sh scripts/check-banned.sh

check-layers:
	@sh scripts/check-layers.sh

test: deps
	$(MAKE) all man unit fuzz-replay check-banned check-layers
	$(MAKE) system

run: deps
	$(MAKE) all
	@sh scripts/run-demo.sh $(BUILD)

bench: deps
	$(MAKE) all
	@sh bench/run.sh $(BUILD)

# bench/auth.sh (bench/README.md): BENCH_AUTH_ARGS="--seconds 5 --runs 1" for a quick look.
bench-auth: deps
	$(MAKE) all
	@sh bench/auth.sh --build $(BUILD) $(BENCH_AUTH_ARGS)

# bench/update.sh (bench/README.md): BENCH_UPDATE_ARGS="--seconds 3 --runs 1" for a quick look.
bench-update: deps
	$(MAKE) all
	@sh bench/update.sh --build $(BUILD) $(BENCH_UPDATE_ARGS)

# bench/abuse.sh (bench/README.md): BENCH_ABUSE_ARGS="--seconds 3 --runs 1" for a quick look.
bench-abuse: deps
	$(MAKE) all
	@sh bench/abuse.sh --build $(BUILD) $(BENCH_ABUSE_ARGS)

# bench/dnssec.sh (bench/README.md, "DNSSEC"): BENCH_DNSSEC_ARGS="--runs 1 --seconds 2" for a
# quick look.
bench-dnssec: deps
	$(MAKE) all
	@sh bench/dnssec.sh --build $(BUILD) $(BENCH_DNSSEC_ARGS)

respdiff: deps
	$(MAKE) all
	$(PYTHON) bench/respdiff.py --build $(BUILD) $(RESPDIFF_ARGS)

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
