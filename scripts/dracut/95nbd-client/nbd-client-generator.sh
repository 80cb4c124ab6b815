#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck disable=SC1091,SC2154 # /lib/dracut-lib.sh and its variables (root, hookdir...)
# systemd generator of the dracut module nbd-client (systemd initrd):
# for root=nbd:..., nbds:..., nbd://..., nbds://... (or such a netroot=
# with no root=), /sysroot is /dev/root, which the netroot handler's udev
# rule links to the nbd device once it is attached.  root=/dev/nbdX[pN]
# is an ordinary block root: dracut's and systemd's generators handle it.

type getarg > /dev/null 2>&1 || . /lib/dracut-lib.sh
. /lib/nbd-client-lib.sh

GENERATOR_DIR="$1"
[ -n "$GENERATOR_DIR" ] || exit 1

root=$(getarg root=)
spec=
if nbdc_is_spec "$root"; then
    spec=$root
elif [ -z "$root" ]; then
    for spec in $(getargs netroot=); do
        nbdc_is_spec "$spec" && break
    done
fi
nbdc_is_spec "$spec" || exit 0
nbdc_parse "$spec" || exit 0
[ "$nbdc_kind" = nbdtab ] && exit 0

fstype=$nbdc_fstype
[ -z "$fstype" ] && fstype=$(getarg rootfstype=)
flags=$nbdc_flags
[ -z "$flags" ] && flags=$(getarg rootflags=)
if getargbool 0 ro; then
    flags=${flags:+$flags,}ro
fi

mkdir -p "$GENERATOR_DIR"
{
    echo "[Unit]"
    echo "Before=initrd-root-fs.target"
    echo "[Mount]"
    echo "Where=/sysroot"
    echo "What=/dev/root"
    [ -n "$fstype" ] && echo "Type=$fstype"
    [ -n "$flags" ] && echo "Options=$flags"
} > "$GENERATOR_DIR"/sysroot.mount
mkdir -p "$GENERATOR_DIR"/initrd-root-fs.target.requires
ln -sf ../sysroot.mount "$GENERATOR_DIR"/initrd-root-fs.target.requires/sysroot.mount

# The device comes after the network, DHCP and a TLS handshake: wait as
# long as dracut waits for a root device (rd.timeout, default: no limit)
# instead of systemd's 90 s; the handler stops the boot if nbd-client fails.
timeout=$(getarg rd.timeout=)
mkdir -p "$GENERATOR_DIR"/dev-root.device.d
{
    echo "[Unit]"
    echo "JobTimeoutSec=${timeout:-0}"
    echo "JobRunningTimeoutSec=${timeout:-0}"
} > "$GENERATOR_DIR"/dev-root.device.d/timeout.conf

exit 0
