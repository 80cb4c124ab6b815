# SPDX-License-Identifier: GPL-2.0-or-later
# systemd integration and nbdtab(5): included by the Makefile, run by
# "make install" / "make uninstall".
#
# The unit and the generator go where systemd looks for them: under
# /usr/local/lib/systemd with the default PREFIX, under /lib/systemd (as
# Debian 12's systemd.pc says) with PREFIX=/usr, under PREFIX/lib/systemd
# otherwise (systemd reads that only if PREFIX is one of its own).
# SYSTEMDUNITDIR and SYSTEMDGENERATORDIR override the choice.
ifeq ($(PREFIX),/usr)
SYSTEMD_LIBDIR      ?= /lib/systemd
else
SYSTEMD_LIBDIR      ?= $(PREFIX)/lib/systemd
endif
SYSTEMDUNITDIR      ?= $(SYSTEMD_LIBDIR)/system
SYSTEMDGENERATORDIR ?= $(SYSTEMD_LIBDIR)/system-generators

INSTALL_PARTS += systemd
INSTALL_DIRS  += $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(SYSTEMDGENERATORDIR)
.PHONY: install-systemd uninstall-systemd

# The paths are filled in at install time, every time: a PREFIX given to
# this "make install" must not meet files made for another.
SYSTEMD_SUBST = sed -e 's|@SBINDIR@|$(SBINDIR)|g' \
	-e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	-e 's|@SYSTEMDUNITDIR@|$(SYSTEMDUNITDIR)|g'

install-systemd:
	@mkdir -p $(BUILD)/systemd
	$(SYSTEMD_SUBST) scripts/systemd/nbd@.service.in >$(BUILD)/systemd/nbd@.service
	$(SYSTEMD_SUBST) scripts/systemd/nbd-client-generator.in \
		>$(BUILD)/systemd/nbd-client-generator
	$(AS_ROOT) install -D -m 0644 $(BUILD)/systemd/nbd@.service \
		$(DESTDIR)$(SYSTEMDUNITDIR)/nbd@.service
	$(AS_ROOT) install -D -m 0755 $(BUILD)/systemd/nbd-client-generator \
		$(DESTDIR)$(SYSTEMDGENERATORDIR)/nbd-client-generator
	$(AS_ROOT) install -D -m 0644 nbdtab.5 $(DESTDIR)$(MANDIR)/man5/nbdtab.5

uninstall-systemd:
	$(AS_ROOT) rm -f $(DESTDIR)$(SYSTEMDUNITDIR)/nbd@.service \
		$(DESTDIR)$(SYSTEMDGENERATORDIR)/nbd-client-generator \
		$(DESTDIR)$(MANDIR)/man5/nbdtab.5
