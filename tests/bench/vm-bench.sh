#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# vm-bench.sh: kernel TLS against the TLS proxy (and plaintext, and Debian's
# nbd-client over TLS) on a real kernel, in ONE boot of tests/vm's VM.  See
# tests/bench/README.md.  The guest half is vm-bench-guest.sh.
#
# Prints the VM's TAP (checks: AES-NI in the kernel and in GnuTLS, every
# device attached, data byte-exact) to $BENCH_LOG and a table on stdout:
# medians of the rounds, ratios, CPU seconds per GiB.  Exit status 0 when
# every check passed (the 1.2x target is reported, not enforced).
#
# Knobs: BENCH_MIB (8: MiB per sequential round), BENCH_ROUNDS (3, after a
# warm-up round), BENCH_RAND_S (3: seconds of 4 KiB random reads per
# round), BENCH_PRIO (the GnuTLS priority of our client, both paths; default
# TLS 1.3 AES-128-GCM), BENCH_TIMEOUT (1500 s), BENCH_LOG (default
# build/bench/vm-bench.tap), BENCH_TARGET (1.2: kTLS over the proxy),
# BENCH_REF_TARGET (1.3: ours over TLS over the reference), and tests/vm's (NBDC,
# NBDC_VM_ACCEL, VM_SMP, VM_MEM, VM_VERBOSE, ...).
here=$(cd "$(dirname "$0")" && pwd)
VM_NAME=bench-vm
# shellcheck source=../vm/lib.sh
. "$here/../vm/lib.sh"

MIB=${BENCH_MIB:-8}
ROUNDS=${BENCH_ROUNDS:-3}
RAND_S=${BENCH_RAND_S:-3}
PRIO=${BENCH_PRIO:-NORMAL:-VERS-ALL:-CIPHER-ALL:+VERS-TLS1.3:+AES-128-GCM}
TARGET=${BENCH_TARGET:-1.2}
LOG=${BENCH_LOG:-$VM_REPO/build/bench/vm-bench.tap}

# One kernel: VM_KERNEL, else the release's own (Debian 12's 6.1, not the
# 6.12 from backports): the AES-NI checks read 6.1's messages (6.12's
# AES-GCM is other code, with other names and no "AVX2 ... engaged" line).
vm_find_release_kernel && export VM_KERNEL VM_KVER
vm_setup
mkdir -p "$(dirname "$LOG")"
"${CC:-cc}" -O2 -Wall -Wextra -Werror -o "$VM_WORK/randread" "$here/randread.c" ||
	{ echo "vm-bench: cannot compile randread.c" >&2; exit 1; }
vm_add "$VM_WORK/randread" /usr/bin/randread
(. "$VM_REPO/tests/lib.sh" && make_pki "$VM_WORK/pki") ||
	{ echo "vm-bench: cannot make certificates" >&2; exit 1; }
vm_add "$VM_WORK/pki/ca" /pki
{
	printf 'MIB=%s ROUNDS=%s RAND_S=%s PRIO=%s\n' "$MIB" "$ROUNDS" "$RAND_S" "'$PRIO'"
	cat "$here/vm-bench-guest.sh"
} >"$VM_WORK/scenario.in"
vm_scenario "$VM_WORK/scenario.in"

t0=${EPOCHREALTIME/[.,]/}
echo "vm-bench: one boot, $MIB MiB x (1 warm-up + $ROUNDS) rounds, ${RAND_S}s random reads; TAP in $LOG" >&2
vm_run "${BENCH_TIMEOUT:-1500}" >"$LOG"
rc=$?
wall=$(((${EPOCHREALTIME/[.,]/} - t0) / 1000))
grep -E '^not ok|^Bail' "$LOG" >&2

echo "kernel $VM_KVER ($VM_KERNEL)"
echo "accelerator: $VM_ACCEL ($VM_ACCEL_WHY), qemu -cpu $([ "$VM_ACCEL" = kvm ] && echo host || echo max), ${VM_SMP:-2} vCPU, ${VM_MEM:-1024} MiB"
[ "$VM_ACCEL" = kvm ] || echo "NOTE: TCG emulates every instruction (AES-NI too): the figures compare paths, they are not real-hardware speeds"
grep -E '^# (guest:|GnuTLS:|.*(AES CTR|gcm_enc))' "$LOG" | sed 's/^# /  /'
echo "our GnuTLS priority: $PRIO; $MIB MiB per sequential round, ${RAND_S}s of 4 KiB random reads (QD1); 1 warm-up + $ROUNDS rounds, alternating ktls proxy ref plain"
echo "VM wall time $(vm_secs "$wall")s"
echo
sed -n 's/^# BENCH //p; s/^# \(ATTACH .*\)/\1/p' "$LOG" |
	awk -v target="$TARGET" -v reftarget="${BENCH_REF_TARGET:-1.3}" -v hz=100 \
		-f "$here/stats.awk" -f "$here/table.awk"
exit $rc
