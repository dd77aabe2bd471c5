# smss for Linux: one Makefile for every program, test and benchmark.
#
#   make            build every program into build/
#   make check      install what is missing, build plain + ASan/UBSan, run every test
#   make demo       boot smss as PID 1 in a sandbox with the embedded default configuration
#   make bench      run every benchmark, one line per figure
#   make install    PREFIX=/usr/local DESTDIR=
#
# Layout: src/lib/*.c is the shared library every program links; src/<prog>/*.c is one
# program each; tests/unit/test_*.c are cmocka programs; tests/integration/test_*.sh are
# TAP scripts; tests/fuzz/fuzz_*.c are libFuzzer targets; bench/ holds the benchmarks.

PREFIX     ?= /usr/local
DESTDIR    ?=
SBINDIR    ?= $(PREFIX)/sbin
BINDIR     ?= $(PREFIX)/bin
MANDIR     ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
PAMDIR     ?= $(SYSCONFDIR)/pam.d

CC      ?= cc
B       ?= build
SAN     ?=
OPT     ?= -O2
CFLAGS_BASE = -std=gnu11 $(OPT) -g -Wall -Wextra -Werror -Wshadow -Wformat=2 \
              -Wno-format-nonliteral -Wno-format-truncation -fno-strict-aliasing -D_GNU_SOURCE \
              -Isrc/lib -I$(B)/gen -DSMSS_SYSCONFDIR='"$(SYSCONFDIR)"'
ifeq ($(SAN),1)
CFLAGS_BASE += -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
# libcrypt loaded from the start: ASan's crypt interceptors bind to the real functions at
# startup and would call NULL when PAM's pam_unix loads libcrypt later (winlogon).
LDFLAGS_SAN  = -fsanitize=address,undefined -Wl,--push-state,--no-as-needed -lcrypt -Wl,--pop-state
endif
EXTRA_CFLAGS ?=
ALL_CFLAGS = $(CFLAGS_BASE) $(EXTRA_CFLAGS) $(CFLAGS)
LDLIBS   = -lhivex -levtx -ljansson -lpam -lpam_misc -lm
# smssctl is a static PIE: it queues renames from a rescue system whose libraries may not
# match (issue: "queued from a rescue system or before the first boot"), and it runs once
# per queued operation, where the dynamic loader costs as much as its own work. The
# linker's notes on getgrnam/getpwuid are expected: those load the system's NSS modules
# at run time. The sanitizer build cannot be static.
ifneq ($(SAN),1)
LDLIBS_smssctl = -static-pie -lhivex -ljansson -lm
endif
ALL_LDFLAGS = -Wl,--as-needed $(LDFLAGS_SAN) $(LDFLAGS)

PROGRAMS  := $(filter-out lib,$(notdir $(wildcard src/*)))
LIB_SRCS  ?= $(wildcard src/lib/*.c)
LIB_OBJS  := $(LIB_SRCS:src/%.c=$(B)/obj/%.o) $(B)/obj/lib/default_config_blob.o
LIB       := $(B)/libsmss.a
PROG_BINS := $(PROGRAMS:%=$(B)/%)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/%)
HELPER_SRCS := $(wildcard tests/helpers/*.c)
HELPER_BINS := $(HELPER_SRCS:tests/helpers/%.c=$(B)/tests/helpers/%)
BENCH_SRCS:= $(wildcard bench/*.c)
BENCH_BINS:= $(BENCH_SRCS:bench/%.c=$(B)/bench/%)
MANPAGES  := $(wildcard man/*.[1-8])

.PHONY: all tests benches check demo bench install deps fuzz clean
all: $(PROG_BINS)
tests: $(UNIT_BINS) $(PROG_BINS) $(HELPER_BINS)
benches: $(BENCH_BINS) $(PROG_BINS)

$(B)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

# The embedded default configuration: config/default.reg with the multiarch library
# directory filled in, byte for byte, in .rodata.
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
$(B)/gen/default.reg: config/default.reg
	@mkdir -p $(dir $@)
	sed 's|@MULTIARCH@|$(MULTIARCH)|g' $< >$@
$(B)/obj/lib/default_config_blob.o: $(B)/gen/default.reg src/lib/default_config_blob.S
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -Werror,$(ALL_CFLAGS)) -DDEFAULT_REG='"$(B)/gen/default.reg"' -c src/lib/default_config_blob.S -o $@

# smss-hunt's baseline (rules/baseline.rules) is assembled into hunt_default_rules.o.
$(B)/obj/lib/hunt_default_rules.o: rules/baseline.rules

$(LIB): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

define program_rule
$(B)/$(1): $(patsubst src/%.c,$(B)/obj/%.o,$(wildcard src/$(1)/*.c)) $(LIB)
	$$(CC) $$(ALL_LDFLAGS) -o $$@ $$(filter %.o,$$^) $(LIB) $$(or $$(LDLIBS_$(1)),$$(LDLIBS))
endef
$(foreach p,$(PROGRAMS),$(eval $(call program_rule,$(p))))

$(B)/tests/%: tests/unit/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -Itests/unit $(ALL_LDFLAGS) -o $@ $< $(LIB) $(LDLIBS) -lcmocka

# Programs the integration tests drive other programs with (tests/helpers/*.c).
$(B)/tests/helpers/%: tests/helpers/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP $(ALL_LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

$(B)/bench/%: bench/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP $(ALL_LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

deps:
	@sh tools/install-deps

# Plain and sanitizer builds, then every test once: units in both builds, integration
# tests and fuzz replays against the sanitizer build. One summary line at the end.
check: deps
	$(MAKE) --no-print-directory tests
	$(MAKE) --no-print-directory tests B=build-san SAN=1
	$(MAKE) --no-print-directory fuzz-build
	sh tests/run build build-san build-fuzz

FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=build-fuzz/%)
.PHONY: fuzz-build
fuzz-build:
	$(MAKE) --no-print-directory $(FUZZ_BINS)
build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(wildcard src/lib/*.c) $(wildcard src/lib/*.h) config/default.reg
	$(MAKE) --no-print-directory B=build-fuzz CC=clang SAN=1 OPT=-O1 \
	    EXTRA_CFLAGS="-fsanitize=fuzzer-no-link -Wno-unknown-warning-option" build-fuzz/libsmss.a
	clang -std=gnu11 -O1 -g -D_GNU_SOURCE -Isrc/lib -fsanitize=fuzzer,address,undefined \
	    -Wl,--as-needed -o $@ $< build-fuzz/libsmss.a $(LDLIBS)

fuzz: fuzz-build
	sh tests/fuzz/run-fuzz 300

demo: deps all
	sh tools/demo

bench: deps benches
	sh bench/run $(B)

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(SYSCONFDIR)/smss
	for p in $(PROGRAMS); do \
	  case $$p in smssctl|smss-hunt) d=$(BINDIR);; *) d=$(SBINDIR);; esac; \
	  install -m 0755 $(B)/$$p $(DESTDIR)$$d/$$p; done
	for m in $(MANPAGES); do s=$${m##*.}; install -m 0644 $$m $(DESTDIR)$(MANDIR)/man$$s/; done
	if [ -f config/pam.d/smss-winlogon ]; then install -d $(DESTDIR)$(PAMDIR); \
	  install -m 0644 config/pam.d/smss-winlogon $(DESTDIR)$(PAMDIR)/; fi

clean:
	rm -rf build build-san build-fuzz

-include $(shell find $(B) build-san build-fuzz -name '*.d' 2>/dev/null)
