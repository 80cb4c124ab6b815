# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash disable=SC2034
# tests/vm/lib.sh: host-side helpers for the VM tests (bash).
#
# Sourcing this file only defines functions and variables; it is also
# sourced by mkinitramfs.sh and run-vm.sh for vm_find_kernel.
#
# Typical .t script:
#
#   #!/bin/bash
#   . "$(dirname "$0")/lib.sh"
#   vm_setup                       # skips (1..0 # SKIP) without kernel/qemu
#   vm_add /path/on/host /etc/x    # optional: files for the guest
#   vm_scenario <<'EOF'            # guest script, runs as /scenario.sh
#   check "nbd module loaded" grep -q '^nbd ' /proc/modules
#   done_testing
#   EOF
#   vm_run 300                     # build image, boot, print TAP, exit code
#
# The guest scenario (busybox sh) has /lib/guest-lib.sh sourced for it
# (pass/fail/check/... -- see that file).  vm_run renumbers the guest's
# "ok"/"not ok" lines, adds checks of its own (the VM finished, the kernel
# log is clean) and prints the plan.
#
# Environment knobs (all optional):
#   NBDC            our client, installed in the guest as /bin/nbdc
#                   (default: build/nbd-client; left out if absent)
#   VM_KERNEL       kernel image (default: newest /boot/vmlinuz-* that has
#                   /lib/modules/<version>; `make check-vm` sets it for
#                   each kernel of vm_kernels in turn); VM_KVER its version
#   VM_QEMU         qemu binary (default qemu-system-x86_64)
#   VM_MEM, VM_SMP  guest RAM in MiB (1024) and CPUs (2)
#   NBDC_VM_ACCEL   tcg, kvm or auto (the default): auto uses KVM only when
#                   a probe guest really boots under it (vm_pick_accel);
#                   VM_ACCEL is the older name
#   NBDC_VM_KVM_DEV the KVM device the probe checks (default /dev/kvm; qemu
#                   itself always opens /dev/kvm: this is for testing the
#                   fallback)
#   NBDC_VM_KVM_PROBE_TIMEOUT  seconds the probe guest gets (default 10)
#   VM_APPEND       extra kernel command line
#   VM_VERBOSE=1    stream the guest console to stderr while it runs
#   VM_LOG_DIR      where console logs go: VM_LOG_DIR/<kernel version>/
#                   (default tests/vm/cache/logs)
#   VM_KEEP=1       keep the work directory (image, scenario) for debugging
#   VM_ALLOW_KERNEL_WARN=1  don't fail on WARNING/BUG/Oops in the kernel log
#   VM_MODULES, VM_EXTRA_BINS: see mkinitramfs.sh

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VM_REPO=$(cd "$VM_DIR/../.." && pwd)
VM_CACHE=${VM_CACHE:-$VM_DIR/cache}

# vm_kernels: every kernel image the VM tests can boot, newest first, one
# path a line: a readable /boot/vmlinuz-VER with /lib/modules/VER/modules.dep.
# On Debian 12 with .ci/deps: Debian 13's 6.12 (bookworm-backports) and
# Debian 12's 6.1.  `make check-vm` runs the suite once on each.
vm_kernels() {
	local k v
	for k in $(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -rV); do
		v=${k##*/vmlinuz-}
		if [ -r "$k" ] && [ -f "/lib/modules/$v/modules.dep" ]; then
			echo "$k"
		fi
	done
}

# vm_find_kernel: set VM_KERNEL and VM_KVER: VM_KERNEL if set, else the
# newest of vm_kernels.  Returns 1 if there is none.
vm_find_kernel() {
	if [ -n "${VM_KERNEL:-}" ]; then
		[ -r "$VM_KERNEL" ] || return 1
		VM_KVER=${VM_KVER:-${VM_KERNEL##*/vmlinuz-}}
		return 0
	fi
	VM_KERNEL=$(vm_kernels | head -n 1)
	[ -n "$VM_KERNEL" ] || return 1
	VM_KVER=${VM_KERNEL##*/vmlinuz-}
}

# vm_find_release_kernel: like vm_find_kernel, but the default is the newest
# kernel that does not come from backports (its package's version has no
# "~bpo"): the running release's own kernel, Debian 12's 6.1 next to the
# 6.12 from bookworm-backports.  For the boot tests (images from this
# release's generators) and the benchmark (its AES-NI checks read 6.1's
# messages).  Falls back to the newest when dpkg cannot tell.
vm_find_release_kernel() {
	local k pkg ver
	[ -z "${VM_KERNEL:-}" ] || { vm_find_kernel; return; }
	for k in $(vm_kernels); do
		pkg=$(dpkg-query -S "$k" 2>/dev/null | sed -n '1s/:.*//p')
		[ -n "$pkg" ] || continue
		ver=$(dpkg-query -W -f '${Version}' "$pkg" 2>/dev/null) || continue
		case $ver in *~bpo*) continue ;; esac
		VM_KERNEL=$k
		VM_KVER=${k##*/vmlinuz-}
		return 0
	done
	vm_find_kernel
}

vm_find_qemu() {
	VM_QEMU=${VM_QEMU:-qemu-system-x86_64}
	command -v "$VM_QEMU" >/dev/null 2>&1
}

# vm_find_busybox: set VM_BUSYBOX to a static busybox.  Returns 1 if none.
vm_find_busybox() {
	local b
	for b in /bin/busybox /usr/bin/busybox; do
		if [ -x "$b" ] && ! ldd "$b" >/dev/null 2>&1; then
			VM_BUSYBOX=$b
			return 0
		fi
	done
	return 1
}

# vm_probe_image OUT: a tiny initramfs (uncompressed cpio) whose /init
# prints "VM-DONE rc=0" on ttyS0 and powers off, for run-vm.sh.
vm_probe_image() {
	local out=$1 d
	vm_find_busybox || return 1
	d=$(mktemp -d "${TMPDIR:-/tmp}/nbdc-vm-probe.XXXXXX") || return 1
	mkdir -p "$d/bin" "$d/dev"
	cp "$VM_BUSYBOX" "$d/bin/busybox"
	cat >"$d/init" <<-'EOF'
	#!/bin/busybox sh
	/bin/busybox mount -t devtmpfs devtmpfs /dev
	echo "VM-DONE rc=0" >/dev/ttyS0
	/bin/busybox poweroff -f
	EOF
	chmod 755 "$d/init"
	(cd "$d" && find . | cpio -o -H newc --quiet) >"$out"
	local rc=$?
	rm -rf "$d"
	return $rc
}

# vm_pick_accel: choose qemu's accelerator.  Sets VM_ACCEL (kvm or tcg) and
# VM_ACCEL_WHY (a human-readable reason).  Returns 2 on a bad NBDC_VM_ACCEL.
#
# A /dev/kvm that opens is not enough: with nested virtualization that the
# host does not support, it opens and no guest ever runs.  So KVM is chosen
# only after a probe guest (the test kernel with a /init that powers off at
# once) booted under it within NBDC_VM_KVM_PROBE_TIMEOUT seconds.  The result
# is cached in $VM_CACHE/accel-<key> (key: boot id, the device node, qemu,
# the kernel, this harness): one probe per boot, not one per test.
vm_pick_accel() {
	local want=${NBDC_VM_ACCEL:-${VM_ACCEL:-}} from=NBDC_VM_ACCEL
	[ -n "${NBDC_VM_ACCEL:-}" ] || from=VM_ACCEL
	# Already chosen by the caller (vm_run hands its choice to run-vm.sh).
	if [ -n "${VM_ACCEL_WHY:-}" ] && [ -n "${VM_ACCEL:-}" ]; then
		return 0
	fi
	case $want in
	kvm | tcg)
		VM_ACCEL=$want
		VM_ACCEL_WHY="set by $from"
		return 0
		;;
	'' | auto) ;;
	*)
		VM_ACCEL_WHY="$from='$want' is not tcg, kvm or auto"
		return 2
		;;
	esac
	VM_ACCEL=tcg
	local dev=${NBDC_VM_KVM_DEV:-/dev/kvm}
	if [ ! -e "$dev" ]; then
		VM_ACCEL_WHY="no $dev"
		return 0
	fi
	if [ ! -r "$dev" ] || [ ! -w "$dev" ]; then
		VM_ACCEL_WHY="$dev is not readable and writable by $(id -un)"
		return 0
	fi
	vm_kvm_probe "$dev"
}

# vm_kvm_probe DEV: boot the probe guest under KVM (or take the cached
# result); sets VM_ACCEL and VM_ACCEL_WHY.
vm_kvm_probe() {
	local dev=$1 t=${NBDC_VM_KVM_PROBE_TIMEOUT:-10} key cache fd line
	local tmp out rc t0 ms qemu
	qemu=$(command -v "${VM_QEMU:-qemu-system-x86_64}")
	key=$({
		cat /proc/sys/kernel/random/boot_id
		stat -L -c '%n %i %Z' "$dev" "$qemu" "$VM_KERNEL"
		echo "$t ${VM_SMP:-2} ${VM_MEM:-1024} ${VM_BIOS:-} ${VM_APPEND:-}"
		cat "$VM_DIR/run-vm.sh" "$VM_DIR/lib.sh"
	} 2>/dev/null | md5sum | cut -c1-16)
	mkdir -p "$VM_CACHE/logs/$VM_KVER"
	cache=$VM_CACHE/accel-$key
	# Tests run in parallel (prove -j) probe once: the others wait.
	exec {fd}>"$VM_CACHE/accel.lock"
	flock -w $((t + 60)) "$fd" 2>/dev/null || true
	if [ -s "$cache" ]; then
		IFS= read -r line <"$cache"
		VM_ACCEL=${line%% *}
		VM_ACCEL_WHY="${line#* } (probed once; cached in $cache)"
		exec {fd}>&-
		return 0
	fi
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/nbdc-kvm-probe.XXXXXX")
	if ! vm_probe_image "$tmp/probe.cpio"; then
		# Not cached: installing busybox-static or cpio fixes it.
		rm -rf "$tmp"
		VM_ACCEL=tcg
		VM_ACCEL_WHY="could not build the KVM probe image (no static busybox or cpio?)"
		exec {fd}>&-
		return 0
	fi
	t0=${EPOCHREALTIME/[.,]/}
	out=$(VM_ACCEL=kvm VM_ACCEL_WHY="KVM probe" VM_TAP='' VM_LOG='' \
		"$VM_DIR/run-vm.sh" "$tmp/probe.cpio" "$t" 2>&1)
	rc=$?
	ms=$(((${EPOCHREALTIME/[.,]/} - t0) / 1000))
	printf '%s\n' "$out" >"$VM_CACHE/logs/$VM_KVER/kvm-probe.log"
	if [ "$rc" = 0 ] && grep -q 'VM-DONE rc=0' <<<"$out"; then
		VM_ACCEL=kvm
		VM_ACCEL_WHY="a probe guest booted under KVM in $(vm_secs "$ms")s"
	elif [ "$rc" = 124 ]; then
		VM_ACCEL=tcg
		VM_ACCEL_WHY="$dev opens but a probe guest did not boot under KVM within ${t}s (nested virtualization without support?); log $VM_CACHE/logs/$VM_KVER/kvm-probe.log"
	else
		VM_ACCEL=tcg
		# qemu's own error, e.g. "qemu-system-x86_64: -accel kvm:
		# failed to initialize kvm: ...".
		line=$(grep -v '^run-vm:' <<<"$out" | grep -m1 '^qemu-system')
		[ -n "$line" ] || line=$(grep -v '^run-vm:' <<<"$out" | grep -i -m1 kvm)
		VM_ACCEL_WHY="the KVM probe failed (run-vm status $rc${line:+: $line}); log $VM_CACHE/logs/$VM_KVER/kvm-probe.log"
	fi
	rm -rf "$tmp"
	printf '%s %s\n' "$VM_ACCEL" "$VM_ACCEL_WHY" >"$cache.tmp" && mv "$cache.tmp" "$cache"
	exec {fd}>&-
	return 0
}

# vm_skip_all REASON: TAP "skip everything" and exit 0.
vm_skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}

# vm_setup: check prerequisites, make the work dir ($VM_WORK) and the
# overlay root ($VM_ROOT, copied into the guest's /).  Skips the whole test
# only when there is no kernel image or no qemu.
vm_setup() {
	# Skip only when there is no kernel image or no qemu at all; anything
	# else missing is a failure, not a skip.
	if [ -n "${VM_KERNEL:-}" ]; then
		[ -e "$VM_KERNEL" ] || vm_skip_all "no kernel image $VM_KERNEL"
	else
		compgen -G '/boot/vmlinuz-*' >/dev/null || vm_skip_all "no kernel image (/boot/vmlinuz-*)"
	fi
	vm_find_qemu || vm_skip_all "no ${VM_QEMU:-qemu-system-x86_64}"
	if ! vm_find_kernel; then
		echo "not ok 1 - find a readable kernel image with /lib/modules/<version>/modules.dep"
		echo "1..1"
		exit 1
	fi
	VM_NAME=${VM_NAME:-$(basename "$0" .t)}
	VM_WORK=$(mktemp -d "${TMPDIR:-/tmp}/nbdc-vm-$VM_NAME.XXXXXX")
	VM_ROOT=$VM_WORK/root
	mkdir -p "$VM_ROOT"
	VM_T0=${EPOCHREALTIME/[.,]/}
	trap 'vm_cleanup' EXIT
}

# vm_kernel_in LIST: the test kernel's major.minor (6.1, 6.12) is in LIST.
vm_kernel_in() {
	case " $1 " in
	*" $(echo "$VM_KVER" | cut -d. -f1-2) "*) return 0 ;;
	esac
	return 1
}

# vm_only_on VAR DEFAULT: skip the whole test unless the kernel is in
# $VAR (default DEFAULT).  make check-vm boots every test once per kernel;
# the longest ones run on one, to keep CI under its time (VAR="6.1 6.12"
# runs them on both).
vm_only_on() {
	local list=${!1:-$2}
	vm_kernel_in "$list" || vm_skip_all "kernel $VM_KVER: runs on $list only ($1)"
}

vm_cleanup() {
	if [ -n "${VM_WORK:-}" ] && [ -d "$VM_WORK" ]; then
		if [ "${VM_KEEP:-0}" = 1 ]; then
			echo "# kept $VM_WORK" >&2
		else
			rm -rf "$VM_WORK"
		fi
	fi
}

# vm_add SRC [DEST]: copy a host file or directory into the guest image
# (DEST is a guest path; default: the same path as on the host).
vm_add() {
	local src=$1 dst=${2:-$1}
	mkdir -p "$VM_ROOT/$(dirname "$dst")"
	cp -a "$src" "$VM_ROOT/$dst"
}

# vm_scenario [FILE]: the guest scenario, from FILE or stdin.  It is run by
# busybox sh with guest-lib.sh already sourced and cwd /tmp.
vm_scenario() {
	{
		echo '#!/bin/sh'
		echo '. /lib/guest-lib.sh'
		cat "${1:--}"
	} >"$VM_ROOT/scenario.sh"
	chmod 755 "$VM_ROOT/scenario.sh"
}

# vm_ms: milliseconds since vm_setup.
vm_ms() { local now=${EPOCHREALTIME/[.,]/}; echo $(((now - VM_T0) / 1000)); }
vm_secs() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }

# vm_build: build $VM_WORK/initrd.cpio.gz from the overlay root.
vm_build() {
	"$VM_DIR/mkinitramfs.sh" "$VM_WORK/initrd.cpio.gz" "$VM_ROOT"
}

# vm_run [TIMEOUT_S]: build the image, boot it, print TAP.  Returns 0 when
# every check passed.  Console log: $VM_LOG_DIR/$VM_NAME.log.
vm_run() {
	local timeout=${1:-300} rc logdir log tap t_build t_boot
	local n=0 nfail=0 guest_n=0 guest_plan='' line status desc done_rc=''
	local kissues='' guest_kver=''

	logdir=${VM_LOG_DIR:-$VM_CACHE/logs}/$VM_KVER
	mkdir -p "$logdir"
	log=$logdir/$VM_NAME.log
	tap=$VM_WORK/tap.out
	: >"$tap"

	if ! vm_build >"$VM_WORK/build.log" 2>&1; then
		echo "not ok 1 - build the VM image"
		sed 's/^/# /' "$VM_WORK/build.log"
		sed 's/^/# /' "$VM_WORK/build.log" >&2
		echo "1..1"
		return 1
	fi
	t_build=$(vm_ms)

	# One choice for the test, told on stderr (prove shows it) and handed
	# to run-vm.sh, which repeats it in the TAP comments below.
	if ! vm_pick_accel; then
		echo "not ok 1 - choose the accelerator: $VM_ACCEL_WHY"
		echo "1..1"
		return 1
	fi
	echo "# VM kernel $VM_KVER ($VM_KERNEL), accelerator $VM_ACCEL: $VM_ACCEL_WHY" >&2
	export VM_ACCEL VM_ACCEL_WHY

	if [ "${VM_VERBOSE:-0}" = 1 ]; then
		VM_TAP=$tap "$VM_DIR/run-vm.sh" "$VM_WORK/initrd.cpio.gz" "$timeout" \
			2>"$VM_WORK/run.err" | tee "$log" >&2
		rc=${PIPESTATUS[0]}
	else
		VM_TAP=$tap "$VM_DIR/run-vm.sh" "$VM_WORK/initrd.cpio.gz" "$timeout" \
			>"$log" 2>"$VM_WORK/run.err"
		rc=$?
	fi
	t_boot=$(vm_ms)

	# Guest TAP channel (second serial port): renumber and pass through.
	while IFS= read -r line; do
		line=${line%$'\r'}
		case $line in
		"ok "* | ok | "not ok"*)
			if [ "${line#not ok}" != "$line" ]; then
				status="not ok"
				desc=${line#not ok}
			else
				status=ok
				desc=${line#ok}
			fi
			desc=${desc# }
			desc=${desc#"${desc%%[!0-9]*}"}	# drop the guest's number
			desc=${desc# }
			desc=${desc#- }
			n=$((n + 1))
			guest_n=$((guest_n + 1))
			# "# SKIP"/"# TODO" failures don't count as failures.
			if [ "$status" = "not ok" ] && ! [[ $desc =~ \#\ *(TODO|todo) ]]; then
				nfail=$((nfail + 1))
			fi
			echo "$status $n - $desc"
			;;
		"#"*) echo "$line" ;;
		"Bail out!"*) echo "$line" ;;
		1..*) guest_plan=${line#1..}; guest_plan=${guest_plan%% *} ;;
		"VM-DONE rc="*) done_rc=${line#VM-DONE rc=}; done_rc=${done_rc%% *} ;;
		"VM-KMSG "*) kissues+="${line#VM-KMSG }"$'\n' ;;
		"VM-KERNEL "*) guest_kver=${line#VM-KERNEL } ;;
		esac
	done <"$tap"

	# Host-side checks.
	if [ "$rc" = 126 ]; then
		n=$((n + 1)); nfail=$((nfail + 1))
		echo "not ok $n - the guest kept making progress ($(sed -n 's/^run-vm: STALL: //p' "$VM_WORK/run.err"))"
	elif [ -z "$done_rc" ] && [ "$rc" = 124 ]; then
		n=$((n + 1)); nfail=$((nfail + 1))
		echo "not ok $n - VM finished within ${timeout}s (timed out)"
	elif [ -z "$done_rc" ]; then
		n=$((n + 1)); nfail=$((nfail + 1))
		echo "not ok $n - VM finished the scenario (no VM-DONE; run-vm rc=$rc)"
	elif [ "$done_rc" != 0 ] && [ "$nfail" = 0 ]; then
		n=$((n + 1)); nfail=$((nfail + 1))
		echo "not ok $n - scenario exited 0 (rc=$done_rc)"
	fi
	if [ "$guest_n" = 0 ]; then
		n=$((n + 1)); nfail=$((nfail + 1))
		echo "not ok $n - guest scenario reported results"
	elif [ -n "$done_rc" ] && [ "$guest_plan" != "$guest_n" ]; then
		n=$((n + 1)); nfail=$((nfail + 1))
		echo "not ok $n - guest ran its planned checks (plan '${guest_plan}', ran $guest_n)"
	fi
	# The kernel that ran is the one asked for (make check-vm runs the
	# suite once per kernel: a result must say which).
	if [ -n "$guest_kver" ] || [ -n "$done_rc" ]; then
		n=$((n + 1))
		if [ "$guest_kver" = "$VM_KVER" ]; then
			echo "ok $n - guest ran kernel $VM_KVER"
		else
			nfail=$((nfail + 1))
			echo "not ok $n - guest ran kernel $VM_KVER"
			echo "#   uname -r in the guest: '${guest_kver}' ($VM_KERNEL)"
		fi
	fi
	# Kernel trouble: the guest reports dmesg lines (VM-KMSG); a panic or
	# oops that killed the VM only shows on the console.
	if [ -z "$kissues" ]; then
		kissues=$(grep -E 'Kernel panic|Oops:|BUG:|general protection fault' "$log" | head -20)
	fi
	n=$((n + 1))
	if [ -z "$kissues" ]; then
		echo "ok $n - kernel $VM_KVER: log has no Oops/BUG/WARNING/panic"
	elif [ "${VM_ALLOW_KERNEL_WARN:-0}" = 1 ]; then
		echo "ok $n - kernel $VM_KVER: log has no Oops/BUG/WARNING/panic # TODO allowed by VM_ALLOW_KERNEL_WARN"
		printf '%s' "$kissues" | sed 's/^/#   /'
	else
		nfail=$((nfail + 1))
		echo "not ok $n - kernel $VM_KVER: log has no Oops/BUG/WARNING/panic"
		printf '%s\n' "$kissues" | sed '/^$/d; s/^/#   /'
	fi

	echo "# image build $(vm_secs "$t_build")s, VM run $(vm_secs $((t_boot - t_build)))s, total $(vm_secs "$t_boot")s"
	sed -n 's/^run-vm: /# /p' "$VM_WORK/run.err"
	echo "# console log: $log"
	echo "1..$n"

	if [ "$nfail" != 0 ]; then
		{
			echo "--- $VM_NAME: $nfail failed; last 60 console lines ($log):"
			tail -n 60 "$log"
			echo "---"
		} >&2
		return 1
	fi
	return 0
}
