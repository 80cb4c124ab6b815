# initramfs-tools: a hook and a local-top script for a root file system on
# NBD (scripts/initramfs-tools/), included by the Makefile.
#
# mkinitramfs reads hooks and boot scripts from /usr/share/initramfs-tools
# and from its configuration directory, /etc/initramfs-tools, and from
# nowhere else: with the default PREFIX (/usr/local) they go to
# $(SYSCONFDIR)/initramfs-tools, with PREFIX=/usr (a distribution package)
# to /usr/share/initramfs-tools.  INITRAMFS_TOOLS_DIR overrides.
#
# Next to Debian's nbd-client package (hooks/nbd, hooks/nbd-client and
# scripts/local-top/nbd in /usr/share/initramfs-tools): our local-top/nbd in
# /etc replaces theirs (mkinitramfs copies /etc's scripts over
# /usr/share's); hooks of the same name do not replace each other (both
# run, /usr/share's first), so our hook puts our binary over the one theirs
# copied, and puts our script in if the image's is not ours.  See the
# hook's header.
#
# update-initramfs is not run: `update-initramfs -u` puts them in the image.
ifeq ($(PREFIX),/usr)
INITRAMFS_TOOLS_DIR ?= /usr/share/initramfs-tools
else
INITRAMFS_TOOLS_DIR ?= $(SYSCONFDIR)/initramfs-tools
endif
ITOOLS_SRC   := scripts/initramfs-tools
ITOOLS_BUILD := $(BUILD)/initramfs-tools
ITOOLS_FILES := hooks/nbd-client scripts/local-top/nbd
INSTALL_PARTS += initramfs-tools
INSTALL_DIRS  += $(DESTDIR)$(INITRAMFS_TOOLS_DIR)

# Always made again: SBINDIR and the directories may differ from the last
# install.
.PHONY: install-initramfs-tools uninstall-initramfs-tools \
	$(ITOOLS_FILES:%=$(ITOOLS_BUILD)/%)

$(ITOOLS_FILES:%=$(ITOOLS_BUILD)/%): $(ITOOLS_BUILD)/%: $(ITOOLS_SRC)/%
	@mkdir -p $(dir $@)
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
		-e 's|@ITDIR@|$(INITRAMFS_TOOLS_DIR)|g' $< >$@

install-initramfs-tools: $(ITOOLS_FILES:%=$(ITOOLS_BUILD)/%)
	$(AS_ROOT) install -D -m 0755 $(ITOOLS_BUILD)/hooks/nbd-client \
		$(DESTDIR)$(INITRAMFS_TOOLS_DIR)/hooks/nbd-client
	$(AS_ROOT) install -D -m 0755 $(ITOOLS_BUILD)/scripts/local-top/nbd \
		$(DESTDIR)$(INITRAMFS_TOOLS_DIR)/scripts/local-top/nbd
	@echo "initramfs-tools: hook and local-top script in $(DESTDIR)$(INITRAMFS_TOOLS_DIR);" \
		"run 'update-initramfs -u' to put them in the initramfs"

uninstall-initramfs-tools:
	$(AS_ROOT) rm -f $(DESTDIR)$(INITRAMFS_TOOLS_DIR)/hooks/nbd-client \
		$(DESTDIR)$(INITRAMFS_TOOLS_DIR)/scripts/local-top/nbd
