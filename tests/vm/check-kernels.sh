#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# check-kernels.sh PROVE [ARGS...] TEST...: run the command (prove over
# tests/vm/*.t, from `make check-vm`) once per kernel, with VM_KERNEL set:
# every kernel of vm_kernels (lib.sh; newest first), or VM_KERNEL alone
# when it is set, or the images that VM_KERNELS lists (space-separated).
# Each run starts with a line naming its kernel; the status is 0 only when
# every run passed, and the last lines sum up each kernel's result and
# wall time.  Without any kernel the command runs once as it is (the
# tests then skip).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

[ $# -ge 1 ] || { echo "usage: check-kernels.sh PROVE [ARGS...] TEST..." >&2; exit 2; }
if [ -n "${VM_KERNEL:-}" ]; then
	kernels=$VM_KERNEL
elif [ -n "${VM_KERNELS:-}" ]; then
	kernels=$VM_KERNELS
else
	kernels=$(vm_kernels)
fi
if [ -z "$kernels" ]; then
	"$@"
	exit
fi

rc=0
summary=()
for k in $kernels; do
	v=${k##*/vmlinuz-}
	echo "=== VM tests on kernel $v ($k)"
	t0=${EPOCHREALTIME/[.,]/}
	VM_KERNEL=$k VM_KVER=$v "$@"
	r=$?
	ms=$(((${EPOCHREALTIME/[.,]/} - t0) / 1000))
	if [ "$r" = 0 ]; then res=PASS; else res="FAIL (status $r)"; rc=1; fi
	summary+=("=== kernel $v: $res, $(vm_secs "$ms")s")
done
printf '%s\n' "${summary[@]}"
exit $rc
