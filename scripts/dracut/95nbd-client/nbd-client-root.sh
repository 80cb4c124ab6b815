#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck disable=SC1091,SC2154 # /lib/dracut-lib.sh and its variables (root, hookdir...)
# The netroot handler of the dracut module nbd-client, installed as
# /sbin/nbd-client-root with /sbin/nbdroot, /sbin/nbdsroot and
# /sbin/nbdtabroot linked to it.  /sbin/netroot runs it, once the network
# is up, as: HANDLER NETIF NETROOT NEWROOT.
#
# It attaches the root export with nbd-client -persist -swap -systemd-mark:
# the resident process (and its TLS proxy) holds the credentials and the
# server's address in memory, so it goes on after switch_root, and systemd
# spares it (argv[0] starts with '@').  While the client fails in a way
# that waiting can fix (no server yet: refused, reset, closed, timed out),
# it is run again, with a console line for each wait, for up to
# nbdroot.wait= seconds (default 300; see nbdc_attach in
# nbd-client-lib.sh); nbdroot.dead_timeout=SECONDS becomes its -T.  If the
# client fails otherwise (a wrong CA, a refused STARTTLS, an export the
# server does not have), or the wait runs out, the reason it gives is
# shown on the console and the boot stops (die): nothing is mounted, and
# nothing is retried in plaintext.

# nbd-client-root --print NBDTAB CMDLINE: the decision without booting (on
# any machine, from the module's directory): the nbd-client command line
# that the boot would run (exit status 0), the reason it would stop (1), or
# nothing when CMDLINE asks for no NBD root (2).  /etc/nbd-client/ is read
# for the default credentials of nbds: (NBDC_CREDDIR overrides it).
# nbd-client-root --attach NBDTAB CMDLINE: then runs $NBDC_BIN (default
# nbd-client) as the boot would, waiting and retrying (no udev, no
# mounts, no die): what the console would show, die's message last on
# stdout; exit status 0 (attached) or 1; 2 as above.

# nbdc_failed DEV WHAT: die's message, after nbdc_attach failed.
nbdc_failed() {
    if [ -n "$nbdc_waited" ]; then
        echo "nbd-client could not attach /dev/$1 to $2: gave up waiting for the server after $nbdc_waited s (nbdroot.wait=$nbdc_wait): ${nbdc_reason:-exit status $nbdc_rc}"
    else
        echo "nbd-client could not attach /dev/$1 to $2: ${nbdc_reason:-exit status $nbdc_rc}"
    fi
}

if [ "$1" = --print ] || [ "$1" = --attach ]; then
    # shellcheck disable=SC2034 # read by nbd-client-lib.sh
    NBDC_NBDTAB=$2
    for _l in "${0%/*}/nbd-client-lib.sh" /lib/nbd-client-lib.sh; do
        [ -f "$_l" ] && break
    done
    # shellcheck source=nbd-client-lib.sh
    . "$_l"
    root='' netroots=''
    set -f
    for _w in $3; do
        case "$_w" in
            root=*) root=${_w#root=} ;;
            netroot=*) netroots="$netroots ${_w#netroot=}" ;;
        esac
    done
    # shellcheck disable=SC2086
    nbdc_select "$root" $netroots
    case $? in
        1)
            echo "$nbdc_err"
            exit 1
            ;;
        2) exit 2 ;;
    esac
    if ! nbdc_boot_opts "$3"; then
        echo "$nbdc_err"
        exit 1
    fi
    dev=$(nbdc_device "$nbdc_newroot")
    argv=$(nbdc_argv "$dev")
    if [ "$1" = --print ]; then
        echo "nbd-client $argv"
        exit 0
    fi
    NBDC_BIN=${NBDC_BIN:-nbd-client}
    what=$(nbdc_what "$dev")
    _out=$(mktemp) && _err=$(mktemp) || exit 1
    echo "nbd-client-root: attaching /dev/$dev to $what: $NBDC_BIN $argv" >&2
    # shellcheck disable=SC2086 # one word per argument, none has a space
    if nbdc_attach "$_out" "$_err" $argv; then
        cat "$_err" >&2
        cat "$_out"
        _rc=0
    else
        cat "$_err" >&2
        nbdc_failed "$dev" "$what"
        _rc=1
    fi
    rm -f -- "$_out" "$_err"
    exit "$_rc"
fi

type getarg > /dev/null 2>&1 || . /lib/dracut-lib.sh
. /lib/nbd-client-lib.sh

PATH=/usr/sbin:/usr/bin:/sbin:/bin
NBDC_BIN=/usr/sbin/nbd-client

# say MESSAGE: on the console (the handler's stderr: the console, or the
# journal and the console under systemd), unless the command line says quiet.
say() {
    if getargbool 0 quiet; then
        info "$*"
    else
        echo "$*" >&2
    fi
}

[ -n "$1" ] && [ -n "$2" ] && [ -n "$3" ] || exit 1
# shellcheck disable=SC2034
netif=$1
nroot=$2
NEWROOT=$3

nbdc_parse "$nroot" || die "nbd-client: $nbdc_err"
nbdc_boot_opts "$(getcmdline)" || die "nbd-client: $nbdc_err"
[ -z "$root" ] && root=$(getarg root=)
dev=$(nbdc_device "$root")

# A second interface, or a DHCP renewal: attached already.
"$NBDC_BIN" -c "/dev/$dev" > /dev/null 2>&1 && exit 0

# root=nbd:... (root=block:/dev/root) or a DHCP root-path (root=dhcp):
# /dev/root is the device, once it shows a file system.
if [ "$root" = block:/dev/root ] || [ "$root" = dhcp ] || [ "$root" = dhcp6 ]; then
    printf 'KERNEL=="%s", ENV{DEVTYPE}!="partition", ENV{ID_FS_TYPE}=="?*", SYMLINK+="root"\n' \
        "$dev" > /etc/udev/rules.d/99-nbd-client-root.rules
    udevadm control --reload
fi
# A DHCP root-path: nothing knew the root at generator/cmdline time.
if [ "$root" = dhcp ] || [ "$root" = dhcp6 ]; then
    _fstype=$nbdc_fstype
    [ -z "$_fstype" ] && _fstype=$(getarg rootfstype=)
    _flags=$nbdc_flags
    [ -z "$_flags" ] && _flags=$(getarg rootflags=)
    getargbool 0 ro && _flags=${_flags:+$_flags,}ro
    getargbool 0 rw && _flags=${_flags:+$_flags,}rw
    if [ -n "$DRACUT_SYSTEMD" ]; then
        mkdir -p /run/systemd/system/sysroot.mount.d
        {
            echo "[Mount]"
            echo "Where=/sysroot"
            echo "What=/dev/root"
            echo "Type=${_fstype:-auto}"
            [ -n "$_flags" ] && echo "Options=$_flags"
        } > /run/systemd/system/sysroot.mount.d/nbd-client.conf
        systemctl --no-block daemon-reload
    else
        type write_fs_tab > /dev/null 2>&1 || . /lib/fs-lib.sh
        write_fs_tab /dev/root "${_fstype:-auto}" "$_flags"
        printf '/bin/mount %s\n' "$NEWROOT" > "$hookdir"/mount/01-$$-nbd-client.sh
    fi
fi

what=$(nbdc_what "$dev")
argv=$(nbdc_argv "$dev")
set -f
# shellcheck disable=SC2086
set -- $argv
set +f

say "nbd-client-root: attaching /dev/$dev to $what: $NBDC_BIN $argv"
_err=/tmp/nbd-client-$dev.err
_out=/tmp/nbd-client-$dev.out
# Files, not a pipe: the resident process outlives the command.  The full
# path makes its argv[0] @usr/sbin/nbd-client once marked (-systemd-mark).
# Waits for the server (nbdroot.wait=), saying so on the console.
if nbdc_attach "$_out" "$_err" "$@"; then
    # its warnings, then "Connected /dev/nbdX"
    cat "$_err" >&2
    while read -r _l; do say "$_l"; done < "$_out"
    # The connect's uevent may come before the kernel publishes pid
    # (systemd's udev rules wait for it); say it again.
    udevadm trigger --action=change --subsystem-match=block --sysname-match="$dev" \
        --sysname-match="${dev}p*" > /dev/null 2>&1
    # and wait until udev has handled it: the initqueue must not finish
    # (and sysroot.mount start) while /dev/root is being relinked
    udevadm settle --timeout=30 > /dev/null 2>&1
    rm -f -- "$_err" "$_out"
else
    # the client's own lines, as it wrote them; the last one says why
    cat "$_err" >&2
    die "$(nbdc_failed "$dev" "$what")"
fi

need_shutdown
exit 0
