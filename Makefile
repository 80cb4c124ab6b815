# nbd-client: build, test, install.  See README.md.
PREFIX    ?= /usr/local
SBINDIR   ?= $(PREFIX)/sbin
MANDIR    ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
DESTDIR   ?=
VERSION   := 0.1.0

PKGS      := gnutls libnl-3.0 libnl-genl-3.0 libkmod libseccomp
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS))

CC        ?= cc
CFLAGS    ?= -O2 -g
WARN      := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral
CPPFLAGS  += -D_GNU_SOURCE -DNBDC_VERSION='"$(VERSION)"' \
	     -DSYSCONFDIR='"$(SYSCONFDIR)"' -Iclient -Iproxy -Inetlink
ifeq ($(SANITIZE),1)
CFLAGS    := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
	     -fno-sanitize-recover=undefined
LDFLAGS   += -fsanitize=address,undefined
BUILD     := build-asan
else
BUILD     := build
endif
ALL_CFLAGS := $(WARN) $(CFLAGS) $(PKG_CFLAGS)

# Everything but main.c goes into one library that the unit tests link too.
LIB_SRC   := $(filter-out client/main.c,$(wildcard client/*.c proxy/*.c netlink/*.c))
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC  := $(wildcard tests/unit/test-*.c)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
BIN       := $(BUILD)/nbd-client

.PHONY: all check check-unit check-integration check-vm asan check-asan \
	install uninstall clean format bench install-core uninstall-core

all: $(BIN) $(UNIT_BIN)
	@[ "$(BUILD)" = build ] && ln -sf $(BIN) nbd-client || true

$(BUILD)/%.o: %.c $(wildcard client/*.h proxy/*.h netlink/*.h tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/libnbdc.a: $(LIB_OBJ)
	ar rcs $@ $^

$(BIN): $(BUILD)/client/main.o $(BUILD)/libnbdc.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libnbdc.a tests/unit/tap.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests/unit $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< \
		$(BUILD)/libnbdc.a $(PKG_LIBS)

# Test suites.  NBDC is the binary under test; the scripts read it.
PROVE     := prove --exec '' --timer
export NBDC = $(CURDIR)/$(BIN)
check: all
	$(PROVE) $(UNIT_BIN) $(wildcard tests/integration/*.t tests/hostile/*.t)
	@if [ "$(SANITIZE)" != 1 ] && [ "$(NBDC_SKIP_ASAN)" != 1 ]; then \
		$(MAKE) --no-print-directory check-asan; fi
	@if [ "$(SANITIZE)" != 1 ] && [ -n "$(strip $(CHECK_PARTS))" ]; then \
		$(MAKE) --no-print-directory $(CHECK_PARTS:%=check-%); fi
	@if [ "$(SANITIZE)" != 1 ] && [ -d tests/vm ] && ls tests/vm/*.t >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory check-vm; fi
	@if [ "$(SANITIZE)" != 1 ] && [ -d tests/boot ] && ls tests/boot/*.t >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory check-boot; fi

check-unit: all
	$(PROVE) $(UNIT_BIN)

check-integration: all
	$(PROVE) $(wildcard tests/integration/*.t tests/hostile/*.t)

# The whole host-side suite again, built with ASan and UBSan.
check-asan asan:
	$(MAKE) --no-print-directory SANITIZE=1 all
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	NBDC=$(CURDIR)/build-asan/nbd-client \
		$(PROVE) $(patsubst build/%,build-asan/%,$(UNIT_BIN)) \
		$(wildcard tests/integration/*.t tests/hostile/*.t)

# Further suites (tests/*/suite.mk: fuzzing, valgrind, ...) each add a
# check-NAME target and NAME to CHECK_PARTS; `make check` runs them after
# check-asan, before the VM and boot tests.
CHECK_PARTS :=
include $(sort $(wildcard tests/*/suite.mk))

# The VM tests run once per installed kernel (Debian 12's 6.1 and, from
# bookworm-backports, Debian 13's 6.12; tests/vm/README.md); VM_KERNEL=IMAGE
# or VM_KERNELS="IMAGE..." picks.
check-vm: all
	tests/vm/check-kernels.sh $(PROVE) $(wildcard tests/vm/*.t)

# Real boots with the root file system on NBD: `make install` into this
# system, images from the real mkinitramfs and dracut (tests/boot/README.md).
# They skip unless run as root.
.PHONY: check-boot
check-boot: all
	$(PROVE) $(wildcard tests/boot/*.t)

# install and uninstall run as they are when you are root or can write
# where they install (a DESTDIR, a PREFIX of your own), else through
# $(SUDO): "make && make install" works for root on a machine without sudo
# and for a user with sudo, and the build itself never runs as root.
# SUDO= turns that off.
SUDO      ?= sudo
INSTALL_DIRS = $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR) $(DESTDIR)$(PREFIX)/share
AS_ROOT    = $(shell [ "$$(id -u)" = 0 ] && exit; \
	for d in $(INSTALL_DIRS); do \
		while [ ! -e "$$d" ]; do d=$$(dirname "$$d"); done; \
		[ -w "$$d" ] || { echo '$(SUDO)'; exit; }; \
	done)

# Each piece of system integration (scripts/*/install.mk) adds its own
# install-NAME and uninstall-NAME targets to INSTALL_PARTS.
INSTALL_PARTS := core
include $(sort $(wildcard scripts/*/install.mk))

install: $(BIN) $(INSTALL_PARTS:%=install-%)
uninstall: $(INSTALL_PARTS:%=uninstall-%)

install-core: $(BIN)
	$(AS_ROOT) install -D -m 0755 $(BIN) $(DESTDIR)$(SBINDIR)/nbd-client
	$(AS_ROOT) install -D -m 0644 nbd-client.8 $(DESTDIR)$(MANDIR)/man8/nbd-client.8
	$(AS_ROOT) install -D -m 0644 scripts/bash-completion/nbd-client \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/nbd-client

uninstall-core:
	$(AS_ROOT) rm -f $(DESTDIR)$(SBINDIR)/nbd-client $(DESTDIR)$(MANDIR)/man8/nbd-client.8 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/nbd-client

format:
	clang-format -i $(wildcard client/*.[ch] proxy/*.[ch] netlink/*.[ch] tests/unit/*.[ch])

clean:
	rm -rf build build-asan build-fuzz nbd-client
