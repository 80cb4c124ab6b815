#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck disable=SC1091,SC2154 # /lib/dracut-lib.sh and its variables (root, hookdir...)
# dracut cmdline hook (sourced) of the module nbd-client.
#
#   root=nbd:SERVER:PORT[:FSTYPE[:ROOTFLAGS[:NBDOPTS]]]   dracut's form
#   root=nbds:SERVER:PORT[:...]                           TLS required
#   root=nbd://HOST[:PORT]/EXPORT[?QUERY], root=nbds://...
#   netroot= any of these, with root= unset, dhcp, or /dev/nbdX[pN]
#   root=/dev/nbdX or /dev/nbdXpN alone: the /etc/nbdtab line for nbdX
#   nbdroot.wait=SECONDS, nbdroot.dead_timeout=SECONDS: see nbd-client-lib.sh
#
# root= takes precedence over netroot=.  Credentials are never on the
# command line: they are files in the initramfs (from /etc/nbdtab, or in
# /etc/nbd-client/), named by nbdtab, NBDOPTS or the URI's query.

type nbdc_parse > /dev/null 2>&1 || . /lib/nbd-client-lib.sh

[ -z "$root" ] && root=$(getarg root=)

# netroot is set already when /sbin/netroot runs this again with DHCP's
# root-path (root=dhcp), or when an earlier hook took another netroot;
# else the netroot= arguments count.
if [ -n "$netroot" ]; then
    nbdc_is_spec "$netroot" || return 0
    _nbdc_netroots=$netroot
else
    _nbdc_netroots=$(getargs netroot=)
fi
# shellcheck disable=SC2086
nbdc_select "$root" $_nbdc_netroots
case $? in
    1) die "nbd-client: $nbdc_err" ;;
    2) return 0 ;; # not ours: let the other handlers look
esac
# A bad nbdroot.wait= or nbdroot.dead_timeout= stops the boot here, before
# the network comes up (the handler reads them again).
nbdc_boot_opts "$(getcmdline)" || die "nbd-client: $nbdc_err"
if nbdc_is_spec "$root" && [ -n "$_nbdc_netroots" ]; then
    warn "root takes precedence over netroot. Ignoring netroot"
fi
netroot=$nbdc_spec
root=$nbdc_newroot

# dracut's form may carry the file system type and mount options; without
# systemd, mount-root takes them from here (with systemd, the generator).
if [ "$nbdc_kind" = colon ] && [ "$root" = block:/dev/root ]; then
    # shellcheck disable=SC2034
    [ -n "$nbdc_fstype" ] && fstype=$nbdc_fstype
    # shellcheck disable=SC2034
    [ -n "$nbdc_flags" ] && rflags=$nbdc_flags
fi

# NBD actually supported?
incol2 /proc/devices nbd || modprobe nbd || die "nbd root requested, but the kernel/initramfs has no nbd module"

# shellcheck disable=SC2034
rootok=1

echo "nbd-client -c /dev/$(nbdc_device "$root") > /dev/null 2>&1" \
    > "$hookdir"/initqueue/finished/nbd-client.sh
