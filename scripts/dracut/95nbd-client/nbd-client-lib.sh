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
#
# Kernel command-line words of the attach (nbdc_boot_opts):
#   nbdroot.wait=SECONDS          how long the handler waits for the server
#                                 (default 300; 0: one attempt); see
#                                 nbdc_attach
#   nbdroot.dead_timeout=SECONDS  nbd-client -T SECONDS (1 to 2147483);
#                                 without it, no -T

NBDC_CREDDIR=${NBDC_CREDDIR:-/etc/nbd-client}
NBDC_NBDTAB=${NBDC_NBDTAB:-/etc/nbdtab}
# nbdroot.wait='s default, in seconds; backoff between attempts: from 1 s,
# doubled up to this.
NBDC_WAIT_DEFAULT=300
NBDC_BACKOFF_MAX=10
nbdc_wait=$NBDC_WAIT_DEFAULT
nbdc_dead=''

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

# nbdc_argv DEV: after nbdc_parse (and nbdc_boot_opts, for -T),
# nbd-client's arguments to attach /dev/DEV (words without spaces,
# separated by one space).
nbdc_argv() {
    _nbdc_a="-persist -swap -systemd-mark${nbdc_dead:+ -T $nbdc_dead}"
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

# nbdc_what DEV: after nbdc_parse, what /dev/DEV is attached to, in words.
nbdc_what() {
    case "$nbdc_kind" in
        uri) echo "$nbdc_uri" ;;
        colon) echo "$nbdc_host port ${nbdc_port:-10809} export '$nbdc_export'${nbdc_tls:+ (TLS)}" ;;
        nbdtab) echo "/etc/nbdtab's $1" ;;
    esac
}

# _nbdc_seconds WORD MIN: set _nbdc_s to the value of WORD (NAME=VALUE), a
# number of seconds from MIN to 2147483 (leading zeros dropped: the shell
# would read 010 as octal); else set nbdc_err and return 1.
_nbdc_seconds() {
    _nbdc_s=${1#*=}
    case "$_nbdc_s" in
        '' | *[!0-9]*) _nbdc_s=x ;;
        *)
            while :; do
                case "$_nbdc_s" in
                    0?*) _nbdc_s=${_nbdc_s#0} ;;
                    *) break ;;
                esac
            done
            [ "${#_nbdc_s}" -le 7 ] && [ "$_nbdc_s" -le 2147483 ] || _nbdc_s=x
            ;;
    esac
    if [ "$_nbdc_s" = x ] || [ "$_nbdc_s" -lt "$2" ]; then
        nbdc_err="$1: not a number of seconds from $2 to 2147483"
        return 1
    fi
    return 0
}

# nbdc_boot_opts CMDLINE: nbdroot.wait= and nbdroot.dead_timeout= of the
# kernel command line CMDLINE (the last of each counts): sets nbdc_wait
# (seconds; $NBDC_WAIT_DEFAULT without the word) and nbdc_dead (empty
# without the word: no -T).  Returns 1 with nbdc_err for a value that is
# not a number of seconds in range.
nbdc_boot_opts() {
    nbdc_wait=$NBDC_WAIT_DEFAULT nbdc_dead='' nbdc_err=''
    _nbdc_w='' _nbdc_t='' _nbdc_glob=1
    case $- in
        *f*) _nbdc_glob='' ;;
    esac
    set -f
    for _nbdc_x in $1; do
        case "$_nbdc_x" in
            nbdroot.wait=*) _nbdc_w=$_nbdc_x ;;
            nbdroot.dead_timeout=*) _nbdc_t=$_nbdc_x ;;
        esac
    done
    [ -z "$_nbdc_glob" ] || set +f
    if [ -n "$_nbdc_w" ]; then
        _nbdc_seconds "$_nbdc_w" 0 || return 1
        nbdc_wait=$_nbdc_s
    fi
    if [ -n "$_nbdc_t" ]; then
        _nbdc_seconds "$_nbdc_t" 1 || return 1
        nbdc_dead=$_nbdc_s
    fi
    return 0
}

# nbdc_retry_why MESSAGE: when nbd-client's error MESSAGE is one that
# waiting for the server can fix, set nbdc_why (a few words) and nbdc_peer
# (host:port as the client names it; empty if the message has none) and
# return 0; else 1.  nbd-client exits 1 for every error (nbd-client.8,
# EXIT STATUS), so this matches the text of its messages (client/conn.c,
# nego.c, optreply.c); initramfs-tools' local-top/nbd (nbd_retry_why) is
# the same and must change with it.  A refused certificate, a bad command
# line, an export the server does not have, a host name that does not
# exist: not these, so they stop the boot at once.
nbdc_retry_why() {
    nbdc_why='' nbdc_peer=''
    case "$1" in
        *"timed out after "*" s waiting for the server "*" (raise it with -timeout)")
            nbdc_peer=${1##*waiting for the server }
            nbdc_peer=${nbdc_peer% (raise it with -timeout)}
            nbdc_why='timed out'
            ;;
        *"timed out: the whole negotiation with "*" may take at most "*)
            nbdc_peer=${1#*the whole negotiation with }
            nbdc_peer=${nbdc_peer%% may take at most *}
            nbdc_why='timed out'
            ;;
        "nbd-client: cannot connect to "*)
            nbdc_peer=${1#nbd-client: cannot connect to }
            case "$nbdc_peer" in
                *": Connection refused") nbdc_why='connection refused' ;;
                *": Connection timed out") nbdc_why='timed out' ;;
                *": Connection reset by peer") nbdc_why='connection reset' ;;
                *": No route to host") nbdc_why='no route to host' ;;
                *": Network is unreachable") nbdc_why='network unreachable' ;;
                *": Host is down") nbdc_why='host down' ;;
                *": Network is down") nbdc_why='network down' ;;
                *": the server is not accepting connections (its listen backlog is full)") nbdc_why='server busy' ;;
                *) return 1 ;;
            esac
            nbdc_peer=${nbdc_peer%%: *}
            ;;
        "nbd-client: waiting for the server's greeting: the server "*" closed the connection")
            nbdc_peer=${1#*greeting: the server }
            nbdc_peer=${nbdc_peer% closed the connection}
            nbdc_why='connection closed'
            ;;
        "nbd-client: waiting for the server's greeting: read from "*": Connection reset by peer")
            nbdc_peer=${1#*greeting: read from }
            nbdc_peer=${nbdc_peer%%: *}
            nbdc_why='connection reset'
            ;;
        "nbd-client: cannot resolve "*": Temporary failure in name resolution")
            nbdc_peer=${1#nbd-client: cannot resolve }
            nbdc_peer=${nbdc_peer%%: *}
            nbdc_why='name lookup failed'
            ;;
        *"the server is shutting down; try again later")
            nbdc_why='shutting down'
            ;;
        *) return 1 ;;
    esac
    return 0
}

# _nbdc_now: set _nbdc_now to the time since boot in hundredths of a second.
_nbdc_now() {
    read -r _nbdc_now _ < /proc/uptime
    _nbdc_now=${_nbdc_now%.*}${_nbdc_now#*.}
    while :; do
        case "$_nbdc_now" in
            0?*) _nbdc_now=${_nbdc_now#0} ;;
            *) break ;;
        esac
    done
}

# nbdc_attach OUT ERR ARGS...: run $NBDC_BIN ARGS (stdout into OUT, stderr
# into ERR) until it attaches.  A failure that waiting can fix
# (nbdc_retry_why) is tried again after 1, 2, 4, 8, then every
# NBDC_BACKOFF_MAX seconds, with one line on stderr each time (the
# console, quiet or not), until $nbdc_wait seconds have passed since the
# first attempt (an attempt under way runs to its end: at most
# nbd-client's -timeout, 30 s by default, per step).  Returns 0 once
# attached; else 1 with nbdc_rc (the client's exit status), nbdc_reason
# (its last line) and, when the bound passed, nbdc_waited (seconds).
nbdc_attach() {
    _nbdc_o=$1 _nbdc_e=$2
    shift 2
    nbdc_rc=0 nbdc_reason='' nbdc_waited=''
    _nbdc_now
    _nbdc_t0=$_nbdc_now
    _nbdc_delay=1
    while :; do
        "$NBDC_BIN" "$@" > "$_nbdc_o" 2> "$_nbdc_e" < /dev/null && return 0
        nbdc_rc=$?
        nbdc_reason=''
        while IFS= read -r _nbdc_l || [ -n "$_nbdc_l" ]; do
            nbdc_reason=$_nbdc_l
        done < "$_nbdc_e"
        [ "$nbdc_wait" != 0 ] || return 1
        nbdc_retry_why "$nbdc_reason" || return 1
        _nbdc_now
        _nbdc_left=$((_nbdc_t0 + nbdc_wait * 100 - _nbdc_now))
        if [ "$_nbdc_left" -le 0 ]; then
            nbdc_waited=$(((_nbdc_now - _nbdc_t0) / 100))
            return 1
        fi
        _nbdc_left=$(((_nbdc_left + 99) / 100))
        [ "$_nbdc_delay" -le "$_nbdc_left" ] || _nbdc_delay=$_nbdc_left
        echo "nbd-client-root: waiting for the server${nbdc_peer:+ $nbdc_peer} ($nbdc_why); retry in $_nbdc_delay s, giving up in $_nbdc_left s (nbdroot.wait=SECONDS)" >&2
        sleep "$_nbdc_delay"
        _nbdc_delay=$((_nbdc_delay * 2))
        [ "$_nbdc_delay" -le "$NBDC_BACKOFF_MAX" ] || _nbdc_delay=$NBDC_BACKOFF_MAX
    done
}
