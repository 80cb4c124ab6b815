#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck disable=SC2154 # dracut sets initdir, moddir, systemdutildir...
# dracut module "nbd-client": the root file system on an NBD export, over TLS
# if asked, attached by this project's nbd-client; see nbd-client(8), ROOT
# ON NBD, dracut.  It replaces dracut's own module "nbd" (95nbd): both handle
# root=nbd:... and install /sbin/nbdroot, so an image holds only one of
# them ("make install" puts a dracut.conf.d file that omits "nbd").

# The client that "make install" installed (substituted at install time);
# dracut's PATH would find another one (Debian's nbd-client package puts
# /usr/sbin/nbd-client) or none (PREFIX=/usr/local).
nbdc_host_bin="@SBINDIR@/nbd-client"

# The configuration comes from /etc (of dracut's --sysroot, if given).
_nbdc_root() {
    printf '%s\n' "$dracutsysrootdir"
}

# called by dracut
check() {
    local _rootdev
    [[ -x $nbdc_host_bin ]] || {
        derror "nbd-client: $nbdc_host_bin is missing (make install)"
        return 1
    }
    # hostonly: in by itself for a machine whose root is on an nbd device.
    # shellcheck disable=SC2154
    if [[ $hostonly ]] || [[ $mount_needs ]]; then
        _rootdev=$(find_root_block_device)
        [[ -b /dev/block/$_rootdev ]] \
            && check_block_and_slaves block_is_nbd "$_rootdev" && return 0
    fi
    # Otherwise only on request (--add nbd-client): it carries /etc/nbdtab
    # and key material, so a generic image never gets it unasked.
    return 255
}

# called by dracut
depends() {
    local _m _net=network-legacy
    # dracut's systemd-networkd module never runs the netroot handlers;
    # take network-legacy unless a network module that runs them is in.
    for _m in network-legacy network-manager connman network-wicked; do
        if dracut_module_included "$_m"; then
            _net=
            break
        fi
    done
    echo $_net network rootfs-block
}

# called by dracut
installkernel() {
    # nbd itself; tls and the AEAD ciphers for kernel TLS; all optional
    # but nbd (missing ones are skipped).
    hostonly='' instmods nbd
    hostonly='' instmods tls gcm ccm ctr ghash-generic ghash-clmulni-intel \
        aesni-intel aes-generic chacha20poly1305 chacha-generic chacha-x86_64 \
        poly1305-generic poly1305-x86_64
}

# _nbdc_inst_conf PATH: a configuration file PATH (absolute, as the client
# sees it at boot), taken from the configuration root, mode kept.
_nbdc_inst_conf() {
    local _root
    _root=$(_nbdc_root)
    case "$1" in
        /*) ;;
        *)
            dwarn "nbd-client: /etc/nbdtab names '$1', not an absolute path; not in the image"
            return 1
            ;;
    esac
    if [[ ! -e $_root$1 ]]; then
        dwarn "nbd-client: /etc/nbdtab names $1, which does not exist${_root:+ under $_root}"
        return 1
    fi
    _nbdc_inst_file "$1"
}

# _nbdc_inst_file PATH: PATH into the image, mode kept.
_nbdc_inst_file() {
    inst_simple "$1"
}

# _nbdc_inst_nbdtab: /etc/nbdtab and every file its lines name.
_nbdc_inst_nbdtab() {
    local _root _dev _host _export _opts _o _k _v
    local -a _list
    _root=$(_nbdc_root)
    [[ -f $_root/etc/nbdtab ]] || return 0
    _nbdc_inst_conf /etc/nbdtab
    while read -r _dev _host _export _opts _; do
        case "$_dev" in '' | \#*) continue ;; esac
        case "$_opts" in \#*) _opts= ;; esac
        # (IFS=, only for the split: dracut's inst functions split on IFS)
        IFS=, read -r -a _list <<< "$_opts"
        for _o in "${_list[@]}"; do
            _k=${_o%%=*}
            _v=${_o#*=}
            case "$_k" in
                cacertfile | certfile | keyfile | psk-file)
                    [[ $_o == *=* ]] && _nbdc_inst_conf "$_v"
                    ;;
            esac
        done
    done < "$_root/etc/nbdtab"
}

# _nbdc_inst_credir: the whole /etc/nbd-client/, where the credentials
# named by nbds: and nbds:// root specifications live.
_nbdc_inst_credir() {
    local _root _f
    _root=$(_nbdc_root)
    [[ -d $_root/etc/nbd-client ]] || return 0
    mkdir -p "$initdir/etc/nbd-client"
    chmod --reference="$_root/etc/nbd-client" "$initdir/etc/nbd-client"
    while IFS= read -r -d '' _f; do
        _nbdc_inst_file "${_f#"$_root"}"
    done < <(find "$_root/etc/nbd-client" \( -type f -o -type l \) -print0)
}

# called by dracut
install() {
    if dracut_module_included nbd; then
        dfatal "nbd-client: dracut's own nbd module is in this image too; both handle root=nbd: (and install /sbin/nbdroot). Build with --omit nbd (make install puts omit_dracutmodules+=\" nbd \" in /usr/lib/dracut/dracut.conf.d/50-nbd-client.conf)."
        exit 1
    fi
    if dracut_module_included systemd-networkd; then
        if dracut_module_included network-legacy || dracut_module_included network-manager; then
            # Debian's /etc/dracut.conf.d/11-ifcfg.conf pulls it in before
            # this module can ask for network-legacy.
            dwarn "nbd-client: dracut's systemd-networkd module is in the image too, and will configure the interface as well; for one DHCP client, build with --add \"network-legacy nbd-client\" or --omit systemd-networkd"
        else
            dwarn "nbd-client: dracut's systemd-networkd module never runs netroot handlers; add network-legacy (or network-manager)"
        fi
    fi

    inst_binary "$nbdc_host_bin" /usr/sbin/nbd-client || {
        dfatal "nbd-client: cannot install $nbdc_host_bin"
        exit 1
    }
    inst_simple "$moddir/nbd-client-lib.sh" /lib/nbd-client-lib.sh
    inst_hook cmdline 90 "$moddir/parse-nbd-client.sh"
    inst_script "$moddir/nbd-client-root.sh" /sbin/nbd-client-root
    # The netroot handler is /sbin/<scheme>root: nbd:, nbd://; nbds:,
    # nbds://; nbdtab: (root=/dev/nbdX with an /etc/nbdtab line).
    ln_r /sbin/nbd-client-root /sbin/nbdroot
    ln_r /sbin/nbd-client-root /sbin/nbdsroot
    ln_r /sbin/nbd-client-root /sbin/nbdtabroot
    if dracut_module_included systemd-initrd || dracut_module_included systemd; then
        inst_script "$moddir/nbd-client-generator.sh" \
            "$systemdutildir"/system-generators/dracut-nbd-client-generator
    fi
    inst_multiple -o modprobe udevadm

    _nbdc_inst_nbdtab
    _nbdc_inst_credir
    # The system's CAs, for TLS without a CA of its own (-x, nbds://host
    # with no tls-certificates): GnuTLS reads one bundle file.
    inst_multiple -o /etc/ssl/certs/ca-certificates.crt \
        /etc/pki/tls/certs/ca-bundle.crt /etc/ssl/ca-bundle.pem /etc/ssl/cert.pem
    inst_multiple -o /etc/services /etc/protocols

    dracut_need_initqueue
}
