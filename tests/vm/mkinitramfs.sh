#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# mkinitramfs.sh OUT.cpio.gz [EXTRA_DIR...]
#
# Build the initramfs for the VM tests.  It is two concatenated gzip'd cpio
# (newc) archives, which the kernel unpacks one over the other:
#
#  base     busybox-static with its applets, kernel modules (+ deps), nbdkit
#           with plugins/filters, nbd-server, the reference nbd-client (as
#           /usr/sbin/nbd-client-ref), e2fsprogs, patgen, every shared
#           library they need, /etc basics.  Cached in tests/vm/cache/,
#           keyed on everything it is made from.
#  overlay  /init, /lib/guest-lib.sh, /bin/nbdc ($NBDC, default
#           build/nbd-client, left out if absent) with its libraries, and
#           the contents of each EXTRA_DIR.  Rebuilt every time.
#
# Environment:
#   NBDC           our client (default: build/nbd-client)
#   VM_KERNEL/VM_KVER  see lib.sh (the modules come from /lib/modules/VER)
#   VM_MODULES     modules /init loads, in this order (deps are added and
#                  loaded first); a trailing '?' marks a module optional
#                  (missing on the host, or insmod failing, is not an error)
#   VM_EXTRA_MODULES  more modules, appended to VM_MODULES
#   VM_EXTRA_BINS  more host programs to install (same path) with their libs
#   VM_CACHE       cache directory (default tests/vm/cache)
#
# Every module is also installed under /lib/modules/VER with a modules.dep
# (depmod), so libkmod in the guest finds them.  There is no modprobe in
# the guest: nothing is autoloaded, /init insmods the list.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

die() { echo "mkinitramfs: $*" >&2; exit 1; }

[ $# -ge 1 ] || die "usage: mkinitramfs.sh OUT.cpio.gz [EXTRA_DIR...]"
out=$1
shift
for d in "$@"; do
	[ -d "$d" ] || die "not a directory: $d"
done

vm_find_kernel || die "no kernel found (/boot/vmlinuz-* with /lib/modules)"
kver=$VM_KVER
moddir=/lib/modules/$kver
[ -f "$moddir/modules.dep" ] || die "no $moddir/modules.dep"

DEFAULT_MODULES="nbd tls
 gcm ctr ghash-generic ghash-clmulni-intel? ccm
 aesni-intel? chacha20poly1305 chacha-generic chacha-x86_64?
 poly1305-generic poly1305-x86_64?
 crc32c-generic crc32c-intel? ext4"
modules="${VM_MODULES:-$DEFAULT_MODULES} ${VM_EXTRA_MODULES:-}"
modules=$(echo $modules) # normalise whitespace

NBDC=${NBDC:-$VM_REPO/build/nbd-client}

find_prog() { # NAME: first of PATH + sbin dirs
	PATH="$PATH:/usr/sbin:/sbin:/usr/bin:/bin" command -v "$1" 2>/dev/null
}
busybox=
for b in /bin/busybox /usr/bin/busybox; do
	if [ -x "$b" ] && ! ldd "$b" >/dev/null 2>&1; then
		busybox=$b
		break
	fi
done
[ -n "$busybox" ] || die "no static busybox (apt install busybox-static)"
nbdkit=$(find_prog nbdkit) || die "no nbdkit (apt install nbdkit)"
nbd_server=$(find_prog nbd-server) || die "no nbd-server (apt install nbd-server)"
nbd_client_ref=
for c in /usr/sbin/nbd-client /sbin/nbd-client; do
	[ -x "$c" ] && { nbd_client_ref=$c; break; }
done
[ -n "$nbd_client_ref" ] || die "no reference nbd-client (apt install nbd-client)"
mke2fs=$(find_prog mke2fs) || die "no mke2fs (apt install e2fsprogs)"
e2fsck=$(find_prog e2fsck) || die "no e2fsck (apt install e2fsprogs)"
depmod=$(find_prog depmod) || depmod=
modinfo=$(find_prog modinfo) || modinfo=
plugindir=$("$nbdkit" --dump-config | sed -n 's/^plugindir=//p')
filterdir=$("$nbdkit" --dump-config | sed -n 's/^filterdir=//p')
[ -d "$plugindir" ] || die "no nbdkit plugin directory"

NBDKIT_PLUGINS="memory file null pattern data zero full random sparse-random info sh eval"
optional_bins="tune2fs dumpe2fs debugfs"

# ---------------------------------------------------------------- cache key
cache=${VM_CACHE:-$here/cache}
mkdir -p "$cache"
key=$(
	{
		cat "$here/mkinitramfs.sh" "$here/patgen.c"
		echo "$kver $modules ${VM_EXTRA_BINS:-} ${CC:-cc}"
		stat -L -c '%n %s %Y' "$busybox" "$nbdkit" "$nbd_server" \
			"$nbd_client_ref" "$mke2fs" "$e2fsck" "$moddir/modules.dep" \
			"$plugindir" "$filterdir"
		for b in ${VM_EXTRA_BINS:-}; do stat -L -c '%n %s %Y' "$b"; done
		# Library upgrades come with package upgrades.
		[ -f /var/lib/dpkg/status ] && stat -c '%n %s %Y' /var/lib/dpkg/status
		true
	} | sha256sum | cut -c1-16
)
base=$cache/base-$key.cpio.gz
manifest=$cache/base-$key.files

# --------------------------------------------------------------- helpers
# Shared by base and overlay builds: copy into $root.
declare -A have_lib=()

copy_file() { # SRC DEST(absolute guest path)
	mkdir -p "$root$(dirname "$2")"
	# DEST may be one of busybox's applet links, to /bin/busybox: cp
	# would write through it, over this machine's busybox
	rm -f "$root$2"
	cp -L --preserve=mode "$1" "$root$2"
}

# add_libs FILE: every library FILE needs (ldd), the loader included.
add_libs() {
	local f=$1 line lib
	local out
	out=$(ldd "$f" 2>&1) || {
		# Static executables make ldd fail: nothing to do.
		case $out in *"not a dynamic executable"* | *"statically linked"*) return 0 ;; esac
		die "ldd $f: $out"
	}
	while IFS= read -r line; do
		line=${line#"${line%%[![:space:]]*}"}
		case $line in
		*"not found"*) die "$f: missing library: $line" ;;
		*"=> /"*) lib=${line#*=> }; lib=${lib%% (*} ;;
		/*) lib=${line%% (*} ;;
		*) continue ;;
		esac
		lib=${lib## }
		[ -n "${have_lib[$lib]:-}" ] && continue
		have_lib[$lib]=1
		copy_file "$lib" "$lib"
	done <<<"$out"
}

add_bin() { # SRC [DEST]
	copy_file "$1" "${2:-$1}"
	add_libs "$1"
}

pack() { # DIR OUT: cpio newc, gzip
	(cd "$1" && find . -mindepth 1 | LC_ALL=C sort |
		cpio -o -H newc -R 0:0 --quiet) | gzip "-${3:-6}" -n >"$2"
}

# ----------------------------------------------------------- base image
build_base() {
	local tmp m path deps name opt
	tmp=$(mktemp -d "$cache/.base.XXXXXX")
	root=$tmp/root
	mkdir -p "$root"
	# Merged-/usr layout like Debian: /lib and /lib64 point into /usr.
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,usr/lib,usr/lib64,etc,proc,sys,dev,tmp,run,mnt,root,var}
	ln -s usr/lib "$root/lib"
	ln -s usr/lib64 "$root/lib64"
	ln -s ../run "$root/var/run"
	chmod 1777 "$root/tmp"

	# busybox and its applets (no modprobe/depmod: nothing autoloads).
	cp "$busybox" "$root/bin/busybox"
	"$busybox" --list-full | while read -r path; do
		case ${path##*/} in busybox | modprobe | depmod | mke2fs | mkfs.ext2) continue ;; esac
		[ -e "$root/$path" ] || [ -L "$root/$path" ] || ln -s /bin/busybox "$root/$path"
	done

	# Programs.
	add_bin "$nbdkit" /usr/bin/nbdkit
	add_bin "$nbd_server" /usr/bin/nbd-server
	add_bin "$nbd_client_ref" /usr/sbin/nbd-client-ref
	add_bin "$mke2fs" /usr/sbin/mke2fs
	for l in mkfs.ext4 mkfs.ext3 mkfs.ext2; do ln -s mke2fs "$root/usr/sbin/$l"; done
	add_bin "$e2fsck" /usr/sbin/e2fsck
	for l in fsck.ext4 fsck.ext3 fsck.ext2; do ln -s e2fsck "$root/usr/sbin/$l"; done
	for b in $optional_bins; do
		p=$(find_prog "$b") && add_bin "$p" "/usr/sbin/$b"
	done
	for b in ${VM_EXTRA_BINS:-}; do add_bin "$b"; done
	# glibc dlopens libgcc_s for thread cancellation/unwinding.
	for l in /lib/x86_64-linux-gnu/libgcc_s.so.1 /usr/lib/x86_64-linux-gnu/libgcc_s.so.1; do
		[ -f "$l" ] && { add_bin "$l"; break; }
	done
	[ -f /etc/mke2fs.conf ] && copy_file /etc/mke2fs.conf /etc/mke2fs.conf

	# nbdkit plugins (those listed) and all filters, with their libraries.
	for p in $NBDKIT_PLUGINS; do
		f=$plugindir/nbdkit-$p-plugin.so
		[ -f "$f" ] || die "missing nbdkit plugin: $f"
		add_bin "$f"
	done
	for f in "$filterdir"/*.so; do add_bin "$f"; done

	# patgen (deterministic test pattern).
	"${CC:-cc}" -O2 -o "$tmp/patgen" "$here/patgen.c" || die "cannot compile patgen.c"
	add_bin "$tmp/patgen" /usr/bin/patgen

	# /etc
	cat >"$root/etc/passwd" <<-'EOF'
	root:x:0:0:root:/root:/bin/sh
	nbd:x:100:101:nbd:/tmp:/bin/false
	nobody:x:65534:65534:nobody:/nonexistent:/bin/false
	EOF
	cat >"$root/etc/group" <<-'EOF'
	root:x:0:
	nbd:x:101:
	nogroup:x:65534:
	EOF
	cat >"$root/etc/hosts" <<-'EOF'
	127.0.0.1 localhost
	::1 localhost ip6-localhost
	EOF
	printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files\nservices: files\nprotocols: files\n' \
		>"$root/etc/nsswitch.conf"
	printf 'tcp 6 TCP\nudp 17 UDP\n' >"$root/etc/protocols"
	printf 'nbd 10809/tcp\n' >"$root/etc/services"
	: >"$root/etc/fstab"
	ln -s /proc/mounts "$root/etc/mtab"

	# Kernel modules, dependencies first (modules.dep + softdep pre:).
	local -A mpath=() mdeps=() seen=() opt_of=()
	local order=()
	while IFS= read -r line; do
		path=${line%%:*}
		deps=${line#*:}
		name=${path##*/}
		name=${name%%.ko*}
		name=${name//-/_}
		mpath[$name]=$path
		mdeps[$name]=$deps
	done <"$moddir/modules.dep"

	resolve() { # NAME OPTIONAL
		local n=${1//-/_} o=$2 d dn sd a
		[ -n "${seen[$n]:-}" ] && return 0
		if [ -z "${mpath[$n]:-}" ]; then
			if grep -qE "/${n//_/[-_]}\.ko$" "$moddir/modules.builtin" 2>/dev/null; then
				return 0
			fi
			[ "$o" = 1 ] && return 0
			die "module $1 not found in $moddir"
		fi
		seen[$n]=1
		for d in ${mdeps[$n]}; do
			dn=${d##*/}
			dn=${dn%%.ko*}
			resolve "$dn" "$o"
		done
		# softdep pre: may name modules or aliases (crypto-crc32c).
		[ -n "$modinfo" ] || sd=
		[ -z "$modinfo" ] || sd=$("$modinfo" -F softdep "$moddir/${mpath[$n]}" 2>/dev/null |
			sed -n 's/.*pre: *\([^:]*\)\( post:.*\)\?$/\1/p' || true)
		for d in $sd; do
			if [ -n "${mpath[${d//-/_}]:-}" ]; then
				resolve "$d" 1
			else
				for a in $(awk -v a="$d" '$1 == "alias" && $2 == a { print $3 }' \
					"$moddir/modules.alias"); do
					resolve "$a" 1
				done
			fi
		done
		order+=("$n")
		opt_of[$n]=$o
	}
	for m in $modules; do
		opt=0
		case $m in *\?) m=${m%\?}; opt=1 ;; esac
		resolve "$m" "$opt"
	done
	local kroot=$root/lib/modules/$kver
	mkdir -p "$kroot"
	: >"$root/etc/vm-modules"
	: >"$tmp/modules.dep"
	for n in "${order[@]}"; do
		path=${mpath[$n]}
		local dst=${path%.ko*}.ko
		mkdir -p "$kroot/$(dirname "$dst")"
		case $path in
		*.ko) cp "$moddir/$path" "$kroot/$dst" ;;
		*.ko.xz) xz -dc "$moddir/$path" >"$kroot/$dst" ;;
		*.ko.zst) zstd -qdc "$moddir/$path" >"$kroot/$dst" ;;
		*.ko.gz) gzip -dc "$moddir/$path" >"$kroot/$dst" ;;
		*) die "unknown module format: $path" ;;
		esac
		echo "$dst ${opt_of[$n]}" >>"$root/etc/vm-modules"
		deps=
		for d in ${mdeps[$n]}; do deps+=" ${d%.ko*}.ko"; done
		echo "$dst:$deps" >>"$tmp/modules.dep"
	done
	for f in modules.builtin modules.builtin.modinfo; do
		[ -f "$moddir/$f" ] && cp "$moddir/$f" "$kroot/$f"
	done
	# modules.dep for libkmod: depmod if we have it, else our own text file.
	if [ -z "$depmod" ] || ! "$depmod" -b "$root" "$kver" 2>"$tmp/depmod.err"; then
		cp "$tmp/modules.dep" "$kroot/modules.dep"
	fi

	(cd "$root" && find . -mindepth 1 | LC_ALL=C sort) >"$tmp/files"
	pack "$root" "$tmp/base.cpio.gz"
	# Publish atomically (parallel builders produce the same thing).
	mv "$tmp/files" "$manifest.tmp$$" && mv "$manifest.tmp$$" "$manifest"
	mv "$tmp/base.cpio.gz" "$base"
	rm -rf "$tmp"
}

if [ ! -s "$base" ] || [ ! -s "$manifest" ]; then
	echo "mkinitramfs: building base image $base" >&2
	build_base
fi
# Bases not used for an hour are dead weight (inputs changed); the one in
# use is touched so that a parallel run does not remove it.
touch "$base" "$manifest"
find "$cache" -maxdepth 1 -name 'base-*' -mmin +60 -delete 2>/dev/null || true

# -------------------------------------------------------------- overlay
work=$(mktemp -d "${TMPDIR:-/tmp}/nbdc-initrd.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root/usr/lib" "$root/bin"
# Libraries already in the base are not added again.
while IFS= read -r f; do
	f=${f#.}
	case $f in
	/usr/lib/* | /usr/lib64/*) have_lib[$f]=1 have_lib[${f#/usr}]=1 ;;
	esac
done <"$manifest"

cp "$here/init" "$root/init"
chmod 755 "$root/init"
cp "$here/guest-lib.sh" "$root/usr/lib/guest-lib.sh"
if [ -x "$NBDC" ]; then
	add_bin "$NBDC" /bin/nbdc
fi
for d in "$@"; do
	cp -a "$d"/. "$root"/
done
# The base has /lib -> usr/lib and /lib64 -> usr/lib64; a real directory
# of the same name in the overlay would fight it, so fold them in.
for l in lib lib64; do
	if [ -d "$root/$l" ] && [ ! -L "$root/$l" ]; then
		mkdir -p "$root/usr/$l"
		cp -a "$root/$l"/. "$root/usr/$l"/
		rm -rf "${root:?}/$l"
	fi
done
pack "$root" "$work/overlay.cpio.gz" 1

mkdir -p "$(dirname "$out")"
cat "$base" "$work/overlay.cpio.gz" >"$out.tmp$$"
mv "$out.tmp$$" "$out"
