# dracut module nbd-client (scripts/dracut/95nbd-client), included by the
# Makefile.  dracut reads modules only from /usr/lib/dracut/modules.d and
# its vendor configuration only from /usr/lib/dracut/dracut.conf.d, so they
# go there whatever PREFIX is (under DESTDIR).  module-setup.sh gets the
# path of the installed client ($(SBINDIR)/nbd-client), which dracut's own
# PATH may not reach (/usr/local/sbin) or may find another client first
# (Debian's nbd-client package in /usr/sbin).
DRACUT_DIR      ?= /usr/lib/dracut
DRACUT_MODDIR   := $(DRACUT_DIR)/modules.d/95nbd-client
DRACUT_CONF     := $(DRACUT_DIR)/dracut.conf.d/50-nbd-client.conf
DRACUT_SRC      := scripts/dracut/95nbd-client
DRACUT_SCRIPTS  := parse-nbd-client.sh nbd-client-root.sh nbd-client-generator.sh
INSTALL_PARTS   += dracut
INSTALL_DIRS    += $(DESTDIR)$(DRACUT_DIR)

# Always made again: SBINDIR may differ from the last install.
.PHONY: install-dracut uninstall-dracut $(BUILD)/dracut/module-setup.sh

$(BUILD)/dracut/module-setup.sh: $(DRACUT_SRC)/module-setup.sh
	@mkdir -p $(dir $@)
	sed 's|@SBINDIR@|$(SBINDIR)|g' $< >$@

install-dracut: $(BUILD)/dracut/module-setup.sh
	$(AS_ROOT) install -d -m 0755 $(DESTDIR)$(DRACUT_MODDIR) $(dir $(DESTDIR)$(DRACUT_CONF))
	$(AS_ROOT) install -m 0755 $(BUILD)/dracut/module-setup.sh $(DESTDIR)$(DRACUT_MODDIR)/module-setup.sh
	$(AS_ROOT) install -m 0755 $(DRACUT_SCRIPTS:%=$(DRACUT_SRC)/%) $(DESTDIR)$(DRACUT_MODDIR)/
	$(AS_ROOT) install -m 0644 $(DRACUT_SRC)/nbd-client-lib.sh $(DESTDIR)$(DRACUT_MODDIR)/
	$(AS_ROOT) install -m 0644 scripts/dracut/50-nbd-client.conf $(DESTDIR)$(DRACUT_CONF)

uninstall-dracut:
	$(AS_ROOT) rm -rf $(DESTDIR)$(DRACUT_MODDIR)
	$(AS_ROOT) rm -f $(DESTDIR)$(DRACUT_CONF)
