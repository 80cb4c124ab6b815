#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck disable=SC2034 # the nbdc_ variables are for the scripts that source it
# /lib/nbd-client-lib.sh in the initramfs: parsing shared by the cmdline
# hook, the netroot handler and the systemd generator of the dracut module
# nbd-client.  POSIX sh; sourced after /lib/dracut-lib.sh.
#
# Root specifications (root= or netroot=):
#   nbd:SERVER:PORT[:FSTYPE[:ROOTFLAGS[:NBDOPTS]]]   dracut's own form
#   nbds:SERVER:PORT[:...]                           the same, TLS required
#   nbd://HOST[:PORT]/EXPORT[?QUERY], nbds://...     NBD URIs
#   nbdtab:nbdX                                      (internal) the nbdtab line
# SERVER may be [IPv6]; PORT a number, a number/EXPORT, or (as in dracut's
# module) an export name on the default port.  NBDOPTS are nbd-client
# options, comma-separated (-N,disk,-b,4096).

NBDC_CREDDIR=${NBDC_CREDDIR:-/etc/nbd-client}
NBDC_NBDTAB=${NBDC_NBDTAB:-/etc/nbdtab}

# nbdc_is_spec VALUE: VALUE is a root/netroot value this module handles.
nbdc_is_spec() {
    case "$1" in
        nbd:* | nbds:* | nbdtab:*) return 0 ;;
    esac
    return 1
}

# _nbdc_field: split $_nbdc_rest at its first ':' into $_nbdc_f (before)
# and $_nbdc_rest (after; empty when there was no ':').
_nbdc_field() {
    _nbdc_f=${_nbdc_rest%%:*}
    case "$_nbdc_rest" in
        *:*) _nbdc_rest=${_nbdc_rest#*:} ;;
        *) _nbdc_rest= ;;
    esac
}

# nbdc_parse SPEC: sets
#   nbdc_kind    colon | uri | nbdtab
#   nbdc_tls     1 when the scheme requires TLS (nbds)
#   nbdc_uri     the URI (uri)
#   nbdc_tabdev  nbdX (nbdtab)
#   nbdc_host nbdc_port nbdc_export nbdc_fstype nbdc_flags
#   nbdc_opts    NBDOPTS with spaces for commas (colon)
# Returns 1 with the reason in nbdc_err when SPEC is malformed.
nbdc_parse() {
    nbdc_kind='' nbdc_tls='' nbdc_uri='' nbdc_tabdev='' nbdc_host='' nbdc_port=''
    nbdc_export='' nbdc_fstype='' nbdc_flags='' nbdc_opts='' nbdc_err=''
    case "$1" in
        nbd://* | nbds://*)
            nbdc_kind=uri
            nbdc_uri=$1
            [ "${1%%:*}" = nbds ] && nbdc_tls=1
            [ -n "${1#*://}" ] || {
                nbdc_err="no server in '$1'"
                return 1
            }
            return 0
            ;;
        nbdtab:*)
            nbdc_kind=nbdtab
            nbdc_tabdev=${1#nbdtab:}
            case "$nbdc_tabdev" in
                nbd | nbd*[!0-9]*)
                    nbdc_err="not an nbd device: '$nbdc_tabdev'"
                    return 1
                    ;;
                nbd*) return 0 ;;
            esac
            nbdc_err="not an nbd device: '$nbdc_tabdev'"
            return 1
            ;;
        nbds:*)
            nbdc_tls=1
            _nbdc_rest=${1#nbds:}
            ;;
        nbd:*) _nbdc_rest=${1#nbd:} ;;
        *)
            nbdc_err="not an NBD root: '$1'"
            return 1
            ;;
    esac
    nbdc_kind='colon'
    case "$_nbdc_rest" in
        \[*)
            nbdc_host=${_nbdc_rest#\[}
            nbdc_host=${nbdc_host%%\]*}
            _nbdc_rest=${_nbdc_rest#*\]}
            case "$_nbdc_rest" in
                '') ;;
                :*) _nbdc_rest=${_nbdc_rest#:} ;;
                *)
                    nbdc_err="bad address in '$1'"
                    return 1
                    ;;
            esac
            ;;
        *)
            _nbdc_field
            nbdc_host=$_nbdc_f
            ;;
    esac
    [ -n "$nbdc_host" ] || {
        nbdc_err="no server in '$1'"
        return 1
    }
    _nbdc_field
    case "$_nbdc_f" in
        '') ;;
        *[!0-9]*/*) nbdc_export=$_nbdc_f ;;
        */*)
            nbdc_port=${_nbdc_f%%/*}
            nbdc_export=${_nbdc_f#*/}
            ;;
        *[!0-9]*) nbdc_export=$_nbdc_f ;;
        *) nbdc_port=$_nbdc_f ;;
    esac
    if [ -n "$nbdc_port" ] && { [ "$nbdc_port" -lt 1 ] || [ "$nbdc_port" -gt 65535 ]; }; then
        nbdc_err="bad port '$nbdc_port' in '$1'"
        return 1
    fi
    _nbdc_field
    nbdc_fstype=$_nbdc_f
    _nbdc_field
    nbdc_flags=$_nbdc_f
    # NBDOPTS: the rest, colons included
    nbdc_opts=$(printf '%s' "$_nbdc_rest" | tr ',' ' ')
    return 0
}

# nbdc_root_dev ROOT: the nbd device (nbdX) that root= names, as
# /dev/nbdX, /dev/nbdXpN or block:/dev/...; nothing when it names none.
nbdc_root_dev() {
    _nbdc_d=${1#block:}
    case "$_nbdc_d" in
        /dev/*) _nbdc_d=${_nbdc_d#/dev/} ;;
        *) return 1 ;;
    esac
    case "$_nbdc_d" in
        nbd | nbd*[!0-9p]* | nbdp*) return 1 ;;
        nbd*p*[!0-9]* | nbd*p) return 1 ;;
        nbd*p*)
            echo "${_nbdc_d%%p*}"
            return 0
            ;;
        nbd*)
            echo "$_nbdc_d"
            return 0
            ;;
    esac
    return 1
}

# nbdc_nbdtab_has DEV: /etc/nbdtab has a line for DEV (nbdX).
nbdc_nbdtab_has() {
    [ -f "$NBDC_NBDTAB" ] || return 1
    while read -r _nbdc_d _; do
        case "$_nbdc_d" in
            "$1" | "/dev/$1") return 0 ;;
        esac
    done < "$NBDC_NBDTAB"
    return 1
}

# nbdc_opts_have_creds WORDS...: the options name TLS credentials of their
# own (then the defaults of $NBDC_CREDDIR are not added).
nbdc_opts_have_creds() {
    for _nbdc_o in "$@"; do
        case "$_nbdc_o" in
            -A | -F | -K | -cacertfile | --cacertfile | -certfile | --certfile | \
                -keyfile | --keyfile | -psk-file | --psk-file)
                return 0
                ;;
        esac
    done
    return 1
}

# nbdc_uri_has_creds URI: the URI's query names credentials.
nbdc_uri_has_creds() {
    case "$1" in
        *\?*tls-certificates=* | *\?*tls-psk-file=*) return 0 ;;
    esac
    return 1
}

# nbdc_default_creds: print the options for $NBDC_CREDDIR's certificate
# files (ca-cert.pem, client-cert.pem + client-key.pem, the names of a
# tls-certificates directory), one word a line.
nbdc_default_creds() {
    [ -f "$NBDC_CREDDIR/ca-cert.pem" ] && printf '%s\n' -A "$NBDC_CREDDIR/ca-cert.pem"
    if [ -f "$NBDC_CREDDIR/client-cert.pem" ] && [ -f "$NBDC_CREDDIR/client-key.pem" ]; then
        printf '%s\n' -F "$NBDC_CREDDIR/client-cert.pem" -K "$NBDC_CREDDIR/client-key.pem"
    fi
    return 0
}

# nbdc_device ROOT: the device to attach, after nbdc_parse: the nbdtab
# line's; else the one root= names (/dev/nbdX, /dev/nbdXpN); else nbd0.
nbdc_device() {
    if [ "$nbdc_kind" = nbdtab ]; then
        echo "$nbdc_tabdev"
        return 0
    fi
    nbdc_root_dev "$1" || echo nbd0
}

# nbdc_select ROOT [NETROOT...]: which root specification to handle, from
# root= and the netroot= values.  root= wins when it is one; else the first
# netroot= that is one; else root=/dev/nbdX[pN] alone means the nbdtab line
# of nbdX.  Sets nbdc_spec (the netroot to hand to the handler),
# nbdc_newroot (what root= becomes: block:/dev/root when root= was the
# specification) and what nbdc_parse sets.  Returns 0 (ours), 1 (an error,
# nbdc_err says why) or 2 (not an NBD root).
nbdc_select() {
    _nbdc_r=$1
    shift
    nbdc_spec='' nbdc_newroot=$_nbdc_r nbdc_err=''
    for _nbdc_x in "$@"; do
        if nbdc_is_spec "$_nbdc_x"; then
            nbdc_spec=$_nbdc_x
            break
        fi
    done
    if nbdc_is_spec "$_nbdc_r"; then
        nbdc_spec=$_nbdc_r
        nbdc_newroot=block:/dev/root
    elif [ -z "$nbdc_spec" ]; then
        _nbdc_x=$(nbdc_root_dev "$_nbdc_r") || return 2
        if ! nbdc_nbdtab_has "$_nbdc_x"; then
            nbdc_err="root=$_nbdc_r: no line for $_nbdc_x in $NBDC_NBDTAB, and no netroot=nbd..."
            return 1
        fi
        nbdc_spec=nbdtab:$_nbdc_x
    fi
    nbdc_parse "$nbdc_spec" || return 1
}

# _nbdc_uri_creds URI: the URI with a relative tls-psk-file= or
# tls-certificates= taken in $NBDC_CREDDIR, and, for an nbds URI with
# neither, tls-certificates=$NBDC_CREDDIR when it holds ca-cert.pem.
_nbdc_uri_creds() {
    case "$1" in
        *\?*) ;;
        *)
            if [ "${1%%:*}" = nbds ] && [ -f "$NBDC_CREDDIR/ca-cert.pem" ]; then
                echo "$1?tls-certificates=$NBDC_CREDDIR"
            else
                echo "$1"
            fi
            return 0
            ;;
    esac
    _nbdc_q=${1#*\?}
    _nbdc_out=${1%%\?*}
    _nbdc_sep='?'
    _nbdc_has=''
    _nbdc_ifs=$IFS
    IFS='&'
    for _nbdc_kv in $_nbdc_q; do
        case "$_nbdc_kv" in
            tls-psk-file=/* | tls-certificates=/*) _nbdc_has=1 ;;
            tls-psk-file=?* | tls-certificates=?*)
                _nbdc_has=1
                _nbdc_kv="${_nbdc_kv%%=*}=$NBDC_CREDDIR/${_nbdc_kv#*=}"
                ;;
        esac
        _nbdc_out="$_nbdc_out$_nbdc_sep$_nbdc_kv"
        _nbdc_sep='&'
    done
    IFS=$_nbdc_ifs
    if [ -z "$_nbdc_has" ] && [ "${1%%:*}" = nbds ] && [ -f "$NBDC_CREDDIR/ca-cert.pem" ]; then
        _nbdc_out="$_nbdc_out&tls-certificates=$NBDC_CREDDIR"
    fi
    echo "$_nbdc_out"
}

# nbdc_argv DEV: after nbdc_parse, nbd-client's arguments to attach /dev/DEV
# (words without spaces, separated by one space).
nbdc_argv() {
    _nbdc_a="-persist -swap -systemd-mark"
    case "$nbdc_kind" in
        uri)
            _nbdc_a="$(_nbdc_uri_creds "$nbdc_uri") /dev/$1 $_nbdc_a"
            ;;
        colon)
            _nbdc_a="$nbdc_host ${nbdc_port:-10809} /dev/$1${nbdc_export:+ -N $nbdc_export} $_nbdc_a"
            if [ -n "$nbdc_tls" ]; then
                _nbdc_a="$_nbdc_a -enable-tls"
                # shellcheck disable=SC2086
                if ! nbdc_opts_have_creds $nbdc_opts; then
                    _nbdc_a="$_nbdc_a $(nbdc_default_creds | tr '\n' ' ')"
                    _nbdc_a=${_nbdc_a% }
                fi
            fi
            [ -z "$nbdc_opts" ] || _nbdc_a="$_nbdc_a $nbdc_opts"
            ;;
        nbdtab)
            _nbdc_a="$1 $_nbdc_a"
            ;;
    esac
    echo "$_nbdc_a"
}
