#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# 15-differential.t: the reference client (Debian's nbd-client 3.24,
# /usr/sbin/nbd-client-ref in the guest) and ours (/bin/nbdc) side by side
# in one boot, against the same real servers (qemu-nbd, nbdkit, nbd-server),
# asserting the same outcome for both, or ours better where the reference
# is wrong (issue 16).  At the end a TAP diag table "case | reference |
# ours" says what each client did.
#
#  a. qemu-nbd, raw image, MBR made for 512-byte sectors (p1: 2048 +
#     65536 sectors, ext4): logical block size 512, nbdXp1 2048+65536,
#     mounts, a file written and read back (ours also reads the
#     reference's file)
#  b. the same with a GPT made for 512-byte sectors
#  c. a GPT made for 4096-byte sectors, -b 4096 for both: block size 4096,
#     p1 right (sysfs counts 512-byte sectors: 2048+65536), mounts
#  d. odd sizes: qemu-nbd 64 MiB + 512 and nbdkit 64 MiB + 1024: both
#     attach with the exact size; the last sector reads back byte-exact
#  e. -c while connected (on both devices, with both clients), -c after
#     -d, -d (connected, not connected, no such device), -l against
#     nbd-server and nbdkit with several exports, the nbdtab form
#  f. nbdkit blocksize-policy (maximum 64K, error policy): an 8 MiB
#     O_DIRECT write and read; ours' --check shows the maximum
#  g. the udev race: 20 attach/detach cycles on one device while another
#     process keeps opening it; and a device held open at the moment of
#     the attach, closed after the client's first try
#  h. -nonetlink, -persist and -C 2: attached, same size, -d cleans up
#
# Intentional differences (ours better, or only different), each asserted
# for both clients so that a change on either side is noticed:
#  1. f: the reference ignores the server's maximum block size, the kernel
#     sends requests larger than 64K and the server fails them (EIO on the
#     8 MiB O_DIRECT write and read, max_sectors_kb stays at the kernel's
#     default: 6.1 128, 6.12 1280); ours caps max_sectors_kb at 64 and the
#     data round-trips byte-exact, and its next attach to a server without
#     a maximum restores the default.
#  2. g: the reference exits on EBUSY ("nbd15 already in use") when the
#     device is held open at the moment of NBD_CMD_CONNECT; ours must wait
#     for the device to be free and attach (0 failures of 20 cycles, and
#     the held-open attach succeeds).  The reference's count of the 20
#     cycles depends on timing: it is shown, not asserted.
#  3. e, -l: the reference prints a "Negotiation: .." progress line first
#     and "NAME: DESCRIPTION"; ours prints the names only, "NAME<TAB>DESC"
#     with a description.  The export names are the same.
#  4. e, -d of a device that does not exist: the same exit status (1) and
#     empty stdout; the reference says "Error: Failed to disconnect device,
#     check dmsg" on stderr, ours "nbd-client: cannot disconnect
#     /dev/nbdN: no such device".
#  5. e, nbdtab: the reference 3.24 ignores "port=" (it connects to 10809);
#     ours uses it.
#  6. h, -persist with netlink: the reference 3.24 ignores it (nothing
#     stays resident); ours keeps a resident process, which -d ends.
#  7. e, -c: ours prints exactly the pid file's content ("PID\n"); the
#     reference prints it and adds an empty line ("PID\n\n").
. "$(dirname "$0")/lib.sh"
# qemu-nbd and its libraries go into the guest (missing on the host: the
# image build fails and says so)
qemu_nbd=$(command -v qemu-nbd) || qemu_nbd=/usr/bin/qemu-nbd
export VM_EXTRA_BINS="${VM_EXTRA_BINS:+$VM_EXTRA_BINS }$qemu_nbd"
vm_setup
for h in mkpart devopener; do
	"${CC:-cc}" -O2 -Wall -o "$VM_WORK/$h" "$VM_DIR/$h.c" ||
		{ echo "Bail out! cannot compile $h.c"; exit 1; }
	vm_add "$VM_WORK/$h" "/usr/bin/$h"
done
vm_scenario <<'EOF'
REF=/usr/sbin/nbd-client-ref
MiB=1048576
TABLE=/tmp/table
: >$TABLE
# row CASE REFERENCE OURS: one line of the final table
row() { printf '%s|%s|%s\n' "$1" "$2" "$3" >>$TABLE; }
# cl ref|ours: the command
cl() { if [ "$1" = ref ]; then echo $REF; else echo nbdc; fi; }
# run NAME CMD...: run with a limit; $RC, /tmp/NAME.out, /tmp/NAME.err
run() {
	_rn=$1
	shift
	timeout 60 "$@" >/tmp/$_rn.out 2>/tmp/$_rn.err
	RC=$?
}
gone() { ! test -e /sys/block/nbd$1/pid; }
size_set() { [ "$(cat /sys/block/nbd$1/size 2>/dev/null || echo 0)" != 0 ]; }
# wait_gone N: the kernel tore the device's connection down (pid file gone)
wait_gone() { wait_for 15 gone "$1"; }
# detach CLIENT N: -d and wait until it is gone (cleanup, not a check)
detach() {
	timeout 30 $(cl "$1") -d /dev/nbd$2 >/dev/null 2>&1
	wait_gone "$2" || diag "/dev/nbd$2 still connected after $1 -d"
}
# estab PORT: established TCP connections from a client to PORT
estab() {
	awk -v p=":$(printf '%04X' "$1")" '$4 == "01" && substr($3, length($3) - 4) == p { n++ } END { print n + 0 }' \
		/proc/net/tcp
}
# count_exe PATH: running processes whose executable is PATH
count_exe() {
	_n=0
	for _p in /proc/[0-9]*; do
		[ "$(readlink "$_p/exe" 2>/dev/null)" = "$1" ] && _n=$((_n + 1))
	done
	echo $_n
}
estab_is() { [ "$(estab "$1")" = "$2" ]; }
no_exe() { [ "$(count_exe "$1")" = 0 ]; }
exe_of() { if [ "$1" = ref ]; then echo $REF; else echo /bin/nbdc; fi; }
sysval() { cat "$1" 2>/dev/null || echo none; }
# esc FILE: its bytes on one line, a newline as \n
esc() { awk '{ printf "%s\\n", $0 }' "$1"; }
# words: lines joined by spaces
words() { tr '\n' ' ' | sed 's/ $//'; }

# --- servers -------------------------------------------------------------------
# partitioned images, made here (there is no sfdisk): p1 is 1 MiB + 32 MiB
mkimg() { # FILE mbr|gpt SECTOR START COUNT
	truncate -s 34M "$1" && mkpart "$1" "$2" "$3" "$4" "$5" &&
		mkfs.ext4 -q -F -b 4096 -E offset=1048576,nodiscard "$1" 8192
}
check "image: MBR for 512-byte sectors" mkimg /tmp/mbr.img mbr 512 2048 65536
check "image: GPT for 512-byte sectors" mkimg /tmp/gpt512.img gpt 512 2048 65536
check "image: GPT for 4096-byte sectors" mkimg /tmp/gpt4k.img gpt 4096 256 8192
# 64 MiB + 512, the last sector holding a pattern
truncate -s $((64 * MiB + 512)) /tmp/odd.img
patgen -s 5 -o 64M 512 | dd of=/tmp/odd.img bs=512 seek=131072 conv=notrunc 2>/dev/null
ODD_TAIL=$(patgen -s 5 -o 64M 512 | sha)
qnbd() { # PORT IMAGE
	qemu-nbd -f raw -b 127.0.0.1 -p "$1" -t -e 8 --fork --pid-file "/run/qemu-nbd-$1.pid" "$2"
}
check "qemu-nbd: MBR image on 10820" qnbd 10820 /tmp/mbr.img
check "qemu-nbd: GPT-512 image on 10821" qnbd 10821 /tmp/gpt512.img
check "qemu-nbd: GPT-4096 image on 10822" qnbd 10822 /tmp/gpt4k.img
check "qemu-nbd: 64 MiB + 512 image on 10823" qnbd 10823 /tmp/odd.img
check "nbdkit memory 64M on 10809 (multi-conn)" nbdkit -P /run/nk-10809.pid -i 127.0.0.1 -p 10809 memory 64M
check "nbdkit memory 64 MiB + 1024 on 10824" nbdkit -P /run/nk-10824.pid -i 127.0.0.1 -p 10824 memory $((64 * MiB + 1024))
check "nbdkit exports one, two (described) on 10831" nbdkit -P /run/nk-10831.pid -i 127.0.0.1 -p 10831 \
	--filter=exportname memory 16M exportname=one exportname=two exportname-list=explicit exportdesc=fixed:the-desc
check "nbdkit memory 16M on 10832" nbdkit -P /run/nk-10832.pid -i 127.0.0.1 -p 10832 memory 16M
check "nbdkit blocksize-policy maximum 64K on 10833" nbdkit -P /run/nk-10833.pid -i 127.0.0.1 -p 10833 \
	--filter=blocksize-policy memory 16M blocksize-maximum=64K blocksize-error-policy=error
truncate -s 8M /tmp/alpha.img /tmp/beta.img
cat >/tmp/nbd-server.conf <<'CONF'
[generic]
	listenaddr = 127.0.0.1
	port = 10830
	allowlist = true
[alpha]
	exportname = /tmp/alpha.img
[beta]
	exportname = /tmp/beta.img
[gamma]
	exportname = /tmp/beta.img
CONF
check "nbd-server exports alpha, beta, gamma on 10830" nbd-server -C /tmp/nbd-server.conf
for p in 10809 10820 10821 10822 10823 10824 10830 10831 10832 10833; do
	wait_listen $p 30 || bail "nothing listens on $p"
done
pass "all servers listen"
mkdir -p /mnt/d

# --- a, b, c: partition tables ---------------------------------------------------
# part_one CASE CLIENT N PORT LBS SEED [OPTS...]: attach, partition, mount,
# file round trip, -d.  Sets SUM (for the table).
part_one() {
	_c=$1 _w=$2 _n=$3 _port=$4 _lbs=$5 _seed=$6
	shift 6
	_t="$_c, $_w"
	_dev=/dev/nbd$_n _sys=/sys/block/nbd$_n
	run att $(cl $_w) "$@" 127.0.0.1 $_port $_dev
	if ! check_eq "$_t: attach /dev/nbd$_n: exit 0" "$RC" 0; then
		diag "$(tail -n 3 /tmp/att.err)"
		SUM="attach failed: $(tail -n 1 /tmp/att.err)"
		return
	fi
	# the first open reads the partition table (udev would open it)
	blockdev --getsize64 $_dev >/dev/null
	wait_for 5 test -e $_sys/nbd${_n}p1
	_got_lbs=$(sysval $_sys/queue/logical_block_size)
	_p1="$(sysval $_sys/nbd${_n}p1/start)+$(sysval $_sys/nbd${_n}p1/size)"
	check_eq "$_t: logical block size" "$_got_lbs" "$_lbs"
	check_eq "$_t: nbd${_n}p1 start+size (512-byte sectors)" "$_p1" "2048+65536"
	SUM="lbs $_got_lbs, p1 $_p1"
	if ! check "$_t: mount nbd${_n}p1" timeout 60 mount -t ext4 ${_dev}p1 /mnt/d; then
		SUM="$SUM, mount failed"
		detach $_w $_n
		return
	fi
	if [ "$_w" = ours ]; then
		# the same filesystem: what the reference wrote is there
		check_eq "$_t: reads the file the reference wrote" \
			"$(sha </mnt/d/ref.dat 2>/dev/null)" "$(patgen -s $((_seed - 1)) 1M | sha)"
	fi
	check "$_t: write a file" sh -c "patgen -s $_seed 1M >/mnt/d/$_w.dat && sync"
	check "$_t: umount" umount /mnt/d
	drop_caches
	check "$_t: mount again" timeout 60 mount -t ext4 ${_dev}p1 /mnt/d
	_ok=bad
	check_eq "$_t: file byte-exact after remount" "$(sha </mnt/d/$_w.dat 2>/dev/null)" \
		"$(patgen -s $_seed 1M | sha)" && _ok=ok
	umount /mnt/d 2>/dev/null
	SUM="$SUM, mount ok, file $_ok"
	run det $(cl $_w) -d $_dev
	check_eq "$_t: -d: exit 0" "$RC" 0
	check "$_t: -d: disconnected" wait_gone $_n
}
# part_case CASE PORT REF_N OURS_N LBS [OPTS...]
part_case() {
	_pc=$1 _pp=$2 _rn=$3 _on=$4 _pl=$5
	shift 5
	part_one "$_pc" ref "$_rn" "$_pp" "$_pl" 10 "$@"
	_rsum=$SUM
	part_one "$_pc" ours "$_on" "$_pp" "$_pl" 11 "$@"
	row "$_pc" "$_rsum" "$SUM"
}
part_case "a. MBR-512" 10820 0 1 512
part_case "b. GPT-512" 10821 2 3 512
part_case "c. GPT-4096 -b 4096" 10822 4 5 4096 -b 4096

# --- d: sizes that are not a multiple of 4096 ------------------------------------
# odd_one CASE CLIENT N PORT SIZE: attach, exact size; sets SUM
odd_one() {
	_t="$1, $2"
	run att $(cl $2) 127.0.0.1 $4 /dev/nbd$3
	if ! check_eq "$_t: attach /dev/nbd$3: exit 0" "$RC" 0; then
		diag "$(tail -n 3 /tmp/att.err)"
		SUM="attach failed: $(tail -n 1 /tmp/att.err)"
		return 1
	fi
	_s=$(sysval /sys/block/nbd$3/size)
	check_eq "$_t: /sys/block/nbd$3/size * 512" "$((_s * 512))" "$5"
	check_eq "$_t: blockdev --getsize64" "$(blockdev --getsize64 /dev/nbd$3)" "$5"
	SUM="size $((_s * 512))"
}
odd_one "d. qemu-nbd 64M+512" ref 6 10823 $((64 * MiB + 512)) &&
	check_eq "d. qemu-nbd 64M+512, ref: last sector byte-exact" \
		"$(dd if=/dev/nbd6 bs=512 skip=131072 count=1 iflag=direct 2>/dev/null | sha)" "$ODD_TAIL"
detach ref 6
_r=$SUM
odd_one "d. qemu-nbd 64M+512" ours 7 10823 $((64 * MiB + 512)) &&
	check_eq "d. qemu-nbd 64M+512, ours: last sector byte-exact" \
		"$(dd if=/dev/nbd7 bs=512 skip=131072 count=1 iflag=direct 2>/dev/null | sha)" "$ODD_TAIL"
detach ours 7
row "d. qemu-nbd 64M+512" "$_r" "$SUM"
# nbdkit: the reference writes the last KiB, ours reads it back
TAIL_K=$(patgen -s 6 1K | sha)
odd_one "d. nbdkit 64M+1024" ref 8 10824 $((64 * MiB + 1024)) &&
	check "d. nbdkit 64M+1024, ref: write the last KiB" \
		sh -c 'patgen -s 6 1K | dd of=/dev/nbd8 bs=512 seek=131072 oflag=direct 2>/dev/null'
detach ref 8
_r=$SUM
odd_one "d. nbdkit 64M+1024" ours 9 10824 $((64 * MiB + 1024)) &&
	check_eq "d. nbdkit 64M+1024, ours: reads the last KiB the reference wrote" \
		"$(dd if=/dev/nbd9 bs=512 skip=131072 count=2 iflag=direct 2>/dev/null | sha)" "$TAIL_K"
detach ours 9
row "d. nbdkit 64M+1024" "$_r" "$SUM"

# --- e: -c, -d ---------------------------------------------------------------------
run att $REF 127.0.0.1 10809 /dev/nbd10
check_eq "e. ref attaches /dev/nbd10" "$RC" 0
run att nbdc 127.0.0.1 10809 /dev/nbd11
check_eq "e. ours attaches /dev/nbd11" "$RC" 0
_cr= _co=
for n in 10 11; do
	{ cat /sys/block/nbd$n/pid; echo; } >/tmp/c.want
	run cref $REF -c /dev/nbd$n
	check_eq "e. ref -c /dev/nbd$n (connected): exit 0" "$RC" 0
	check "e. ref -c /dev/nbd$n: stdout is the pid file and an empty line" cmp /tmp/cref.out /tmp/c.want
	run cours nbdc -c /dev/nbd$n
	check_eq "e. ours -c /dev/nbd$n (connected): exit 0" "$RC" 0
	check "e. ours -c /dev/nbd$n: stdout is exactly the pid file" cmp /tmp/cours.out /sys/block/nbd$n/pid
	check_eq "e. ours -c /dev/nbd$n: stderr empty" "$(cat /tmp/cours.err)" ""
	_cr="$_cr${_cr:+, }$(esc /tmp/cref.out)"
	_co="$_co${_co:+, }$(esc /tmp/cours.out)"
done
row "e. -c connected (stdout)" "$_cr" "$_co"
run dref $REF -d /dev/nbd10
_r="exit $RC, stdout '$(cat /tmp/dref.out)'"
check_eq "e. ref -d (connected): exit 0" "$RC" 0
check_eq "e. ref -d: stdout empty" "$(cat /tmp/dref.out)" ""
run dours nbdc -d /dev/nbd11
check_eq "e. ours -d (connected): exit 0" "$RC" 0
check_eq "e. ours -d: stdout empty" "$(cat /tmp/dours.out)" ""
check_eq "e. ours -d: stderr empty" "$(cat /tmp/dours.err)" ""
row "e. -d connected" "$_r" "exit $RC, stdout '$(cat /tmp/dours.out)'"
check "e. both gone after -d" wait_for 15 sh -c "! test -e /sys/block/nbd10/pid && ! test -e /sys/block/nbd11/pid"
_cr= _co=
for n in 10 11; do
	run cref $REF -c /dev/nbd$n
	check_eq "e. ref -c /dev/nbd$n after -d: exit 1, no output" "$RC $(cat /tmp/cref.out)" "1 "
	_cr="$_cr${_cr:+, }exit $RC '$(esc /tmp/cref.out)'"
	run cours nbdc -c /dev/nbd$n
	check_eq "e. ours -c /dev/nbd$n after -d: exit 1, no output" "$RC $(cat /tmp/cours.out)" "1 "
	_co="$_co${_co:+, }exit $RC '$(esc /tmp/cours.out)'"
done
row "e. -c after -d (exit)" "$_cr" "$_co"
run dref $REF -d /dev/nbd10
_r="exit $RC"
check_eq "e. ref -d (not connected): exit 0, no output" "$RC $(cat /tmp/dref.out /tmp/dref.err)" "0 "
run dours nbdc -d /dev/nbd11
check_eq "e. ours -d (not connected): exit 0, no output" "$RC $(cat /tmp/dours.out /tmp/dours.err)" "0 "
row "e. -d not connected" "$_r" "exit $RC"
run dref $REF -d /dev/nbd200
check_eq "e. ref -d /dev/nbd200 (no such device): exit 1, stdout empty" "$RC $(cat /tmp/dref.out)" "1 "
check_eq "e. ref -d /dev/nbd200: stderr" "$(cat /tmp/dref.err)" "Error: Failed to disconnect device, check dmsg

Exiting."
_r="exit $RC, $(head -n 1 /tmp/dref.err)"
run dours nbdc -d /dev/nbd200
check_eq "e. ours -d /dev/nbd200 (no such device): exit 1, stdout empty" "$RC $(cat /tmp/dours.out)" "1 "
check_eq "e. ours -d /dev/nbd200: stderr" "$(cat /tmp/dours.err)" \
	"nbd-client: cannot disconnect /dev/nbd200: no such device"
row "e. -d no such device" "$_r" "exit $RC, $(head -n 1 /tmp/dours.err)"

# --- e: -l ---------------------------------------------------------------------------
# names: the reference's stdout without its progress line and descriptions;
# ours' without descriptions
ref_names() { sed '1d; s/: .*//' /tmp/lref.out; }
ours_names() { cut -f1 /tmp/lours.out; }
run lref $REF -l 127.0.0.1 10830
_r="exit $RC, $(ref_names | words)"
check_eq "e. ref -l nbd-server: exit 0" "$RC" 0
check_eq "e. ref -l nbd-server: stdout" "$(cat /tmp/lref.out)" "Negotiation: ..
alpha
beta
gamma"
run lours nbdc -l 127.0.0.1 10830
check_eq "e. ours -l nbd-server: exit 0" "$RC" 0
check_eq "e. ours -l nbd-server: stdout" "$(cat /tmp/lours.out)" "alpha
beta
gamma"
check_eq "e. -l nbd-server: the same names" "$(ours_names)" "$(ref_names)"
row "e. -l nbd-server (names)" "$_r" "exit $RC, $(ours_names | words)"
run lref $REF -l 127.0.0.1 10831
_r="exit $RC, $(ref_names | words)"
check_eq "e. ref -l nbdkit: exit 0" "$RC" 0
check_eq "e. ref -l nbdkit: stdout" "$(cat /tmp/lref.out)" "Negotiation: ..
one: the-desc
two: the-desc"
run lours nbdc -l 127.0.0.1 10831
check_eq "e. ours -l nbdkit: exit 0" "$RC" 0
check_eq "e. ours -l nbdkit: stdout" "$(cat /tmp/lours.out)" "$(printf 'one\tthe-desc\ntwo\tthe-desc')"
check_eq "e. -l nbdkit: the same names" "$(ours_names)" "$(ref_names)"
row "e. -l nbdkit (names)" "$_r" "exit $RC, $(ours_names | words)"

# --- e: nbdtab ---------------------------------------------------------------------
printf '# differential\nnbd12 127.0.0.1 disk\n' >/etc/nbdtab
_r= _o=
for w in ref ours; do
	run tab $(cl $w) nbd12
	check_eq "e. nbdtab, $w: 'nbd-client nbd12': exit 0" "$RC" 0
	_s=$(blockdev --getsize64 /dev/nbd12 2>/dev/null)
	check_eq "e. nbdtab, $w: 64 MiB from 10809" "$_s" $((64 * MiB))
	[ $w = ref ] && _r="exit $RC, size $_s" || _o="exit $RC, size $_s"
	detach $w 12
done
row "e. nbdtab (default port)" "$_r" "$_o"
# port= on a later line: the reference 3.24 does not use it
printf 'nbd3 127.0.0.1 other\nnbd12 127.0.0.1 disk port=10832\n' >/etc/nbdtab
for w in ref ours; do
	run tab $(cl $w) nbd12
	check_eq "e. nbdtab port=10832, $w: exit 0" "$RC" 0
	_s=$(blockdev --getsize64 /dev/nbd12 2>/dev/null)
	if [ $w = ref ]; then
		check_eq "e. nbdtab port=10832, ref: ignores port=, attaches 10809's 64 MiB" "$_s" $((64 * MiB))
		_r="exit $RC, size $_s (10809)"
	else
		check_eq "e. nbdtab port=10832, ours: 10832's 16 MiB" "$_s" $((16 * MiB))
		_o="exit $RC, size $_s"
	fi
	detach $w 12
done
row "e. nbdtab port=10832" "$_r" "$_o"

# --- f: the server's maximum block size ------------------------------------------------
run chk nbdc --check 127.0.0.1 10833
check_eq "f. ours --check: exit 0" "$RC" 0
check "f. ours --check: a line shows the maximum (64K)" \
	sh -c "grep maximum /tmp/chk.out | grep -qE '64K|65536'"
diag "$(grep maximum /tmp/chk.out)"
WANT8=$(patgen -s 8 8M | sha)
# bs_one CLIENT N: attach, 8 MiB O_DIRECT write + read; sets W R MSK
bs_one() {
	run att $(cl $1) 127.0.0.1 10833 /dev/nbd$2
	check_eq "f. $1 attaches /dev/nbd$2" "$RC" 0
	MSK=$(sysval /sys/block/nbd$2/queue/max_sectors_kb)
	patgen -s 8 8M | timeout 120 dd of=/dev/nbd$2 bs=8M count=1 iflag=fullblock oflag=direct 2>/dev/null
	W=$?
	drop_caches
	R=$(timeout 120 dd if=/dev/nbd$2 bs=8M count=1 iflag=direct 2>/dev/null | sha)
}
# the kernel's default, from a device no one has attached yet (6.1: nbd's
# own 128; 6.12: the block layer's 1280)
DEFKB=$(sysval /sys/block/nbd13/queue/max_sectors_kb)
diag "f. max_sectors_kb of an unused device: $DEFKB"
bs_one ref 13
check_rc 1 "f. ref: 8 MiB O_DIRECT write fails (requests above 64K)" test "$W" = 0
check_rc 1 "f. ref: 8 MiB O_DIRECT read is not the data" test "$R" = "$WANT8"
check_eq "f. ref: max_sectors_kb left at the kernel's default" "$MSK" "$DEFKB"
_r="write exit $W, read $([ "$R" = "$WANT8" ] && echo ok || echo bad), max_sectors_kb $MSK"
detach ref 13
bs_one ours 14
check_eq "f. ours: 8 MiB O_DIRECT write: exit 0" "$W" 0
check_eq "f. ours: 8 MiB O_DIRECT read back byte-exact" "$R" "$WANT8"
check "f. ours: max_sectors_kb <= 64 (is $MSK)" test "$MSK" -le 64
row "f. blocksize-policy max 64K" "$_r" \
	"write exit $W, read $([ "$R" = "$WANT8" ] && echo ok || echo bad), max_sectors_kb $MSK"
detach ours 14
# the device keeps the limit after the detach; ours' next attach to a
# server without a maximum restores the kernel's default
check_eq "f. ours: the limit stays after -d" "$(sysval /sys/block/nbd14/queue/max_sectors_kb)" "$MSK"
run att nbdc 127.0.0.1 10809 /dev/nbd14
check_eq "f. ours: attach /dev/nbd14 to a server without a maximum" "$RC" 0
check_eq "f. ours: max_sectors_kb back to the kernel's default" \
	"$(sysval /sys/block/nbd14/queue/max_sectors_kb)" "$DEFKB"
detach ours 14

# --- g: the udev race -----------------------------------------------------------------
# race CLIENT: 20 attach/detach cycles on /dev/nbd15 while devopener runs;
# sets FAILS and MSG
race() {
	FAILS=0 MSG= _i=0
	while [ $_i -lt 20 ]; do
		_i=$((_i + 1))
		run race $(cl $1) 127.0.0.1 10809 /dev/nbd15
		if [ "$RC" = 0 ]; then
			timeout 30 $(cl $1) -d /dev/nbd15 >/dev/null 2>&1
		else
			FAILS=$((FAILS + 1))
			MSG=$(grep -v '^$' /tmp/race.err | head -n 1)
		fi
		wait_gone 15 || diag "race $1: /dev/nbd15 still connected"
	done
}
devopener /dev/nbd15 /tmp/opens &
OPENER=$!
race ref
_rf=$FAILS _rm=$MSG
race ours
kill $OPENER
wait $OPENER
check "g. the opener kept opening /dev/nbd15 ($(cat /tmp/opens) opens)" test "$(cat /tmp/opens)" -gt 0
diag "g. 20 attach/detach cycles under the opener: reference $_rf failed${_rm:+ ($_rm)}, ours $FAILS${MSG:+ ($MSG)}"
check_eq "g. ours: 0 of 20 attaches failed while the device was being opened" "$FAILS" 0
row "g. 20 cycles, opener running" "$_rf of 20 failed${_rm:+ ($_rm)}" "$FAILS of 20 failed${MSG:+ ($MSG)}"
# held open at the moment of the attach; closed after the client's first
# try (the kernel logs "nbd15 already in use" for it)
busy_n() { dmesg | grep -c 'nbd15 already in use'; }
# held CLIENT: sets HRC (exit status), HERR (stderr), HATT (attached?)
held() {
	_b0=$(busy_n)
	exec 7</dev/nbd15
	# 7<&-: the client must not hold the device open itself
	timeout 60 $(cl $1) 127.0.0.1 10809 /dev/nbd15 7<&- >/tmp/held.out 2>/tmp/held.err &
	_hp=$!
	wait_for 30 sh -c "[ \$(dmesg | grep -c 'nbd15 already in use') -gt $_b0 ]" ||
		diag "held $1: no EBUSY seen in 30 s"
	exec 7<&-
	wait $_hp
	HRC=$?
	HERR=$(cat /tmp/held.err)
	HATT=no
	test -e /sys/block/nbd15/pid && HATT=yes
	detach $1 15
}
held ref
check_eq "g. held open, ref: fails (exit 1, attached: no)" "$HRC $HATT" "1 no"
check_eq "g. held open, ref: message" "$HERR" "Error: Failed to setup device, check dmesg

Exiting."
_r="exit $HRC, attached $HATT"
held ours
check_eq "g. held open, ours: waits, then attaches (exit 0, attached: yes)" "$HRC $HATT" "0 yes"
[ -z "$HERR" ] || diag "ours said: $HERR"
row "g. held open during the attach" "$_r" "exit $HRC, attached $HATT"

# --- h: -nonetlink, -persist, -C 2 ---------------------------------------------------------
# h_one CASE CLIENT N OPTS...: attach with OPTS; sets SIZE RES (resident
# processes of that client right after the attach)
h_one() {
	_t="h. $1, $2"
	_hw=$2 _n=$3
	shift 3
	run att $(cl $_hw) "$@" 127.0.0.1 10809 /dev/nbd$_n
	check_eq "$_t: attach /dev/nbd$_n: exit 0" "$RC" 0 || diag "$(tail -n 3 /tmp/att.err)"
	# with -nonetlink the command returns before NBD_DO_IT, and the kernel
	# makes the pid file before it sets the size: wait for both
	wait_for 10 test -e /sys/block/nbd$_n/pid
	wait_for 10 size_set $_n
	SIZE=$(blockdev --getsize64 /dev/nbd$_n 2>/dev/null)
	check_eq "$_t: 64 MiB" "$SIZE" $((64 * MiB))
}
# -nonetlink: both stay resident in NBD_DO_IT; -d ends them
_r= _o=
for _w in ref ours; do
	h_one -nonetlink $_w 0 -nonetlink
	_res=$(count_exe "$(exe_of $_w)")
	check "h. -nonetlink, $_w: a resident process holds the device" test "$_res" -ge 1
	run det $(cl $_w) -d /dev/nbd0
	check_eq "h. -nonetlink, $_w: -d: exit 0" "$RC" 0
	check "h. -nonetlink, $_w: disconnected" wait_gone 0
	check "h. -nonetlink, $_w: the resident process exited" \
		wait_for 15 no_exe "$(exe_of $_w)"
	[ $_w = ref ] && _r="size $SIZE, resident $_res" || _o="size $SIZE, resident $_res"
done
row "h. -nonetlink" "$_r" "$_o"
# -persist: the reference 3.24 ignores it with netlink
for _w in ref ours; do
	h_one -persist $_w 2 -persist
	_res=$(count_exe "$(exe_of $_w)")
	if [ $_w = ref ]; then
		check_eq "h. -persist, ref: nothing resident (3.24 ignores -persist with netlink)" "$_res" 0
		_r="size $SIZE, resident $_res"
	else
		check "h. -persist, ours: a resident process watches the device" test "$_res" -ge 1
		_o="size $SIZE, resident $_res"
	fi
	run det $(cl $_w) -d /dev/nbd2
	check_eq "h. -persist, $_w: -d: exit 0" "$RC" 0
	check "h. -persist, $_w: disconnected" wait_gone 2
	check "h. -persist, $_w: no process left" \
		wait_for 15 no_exe "$(exe_of $_w)"
done
row "h. -persist" "$_r" "$_o"
# -C 2 against nbdkit (multi-conn): two connections each
_e0=$(estab 10809)
for _w in ref ours; do
	h_one "-C 2" $_w 4 -C 2
	_c=$(($(estab 10809) - _e0))
	check_eq "h. -C 2, $_w: two connections to the server" "$_c" 2
	run det $(cl $_w) -d /dev/nbd4
	check_eq "h. -C 2, $_w: -d: exit 0" "$RC" 0
	check "h. -C 2, $_w: disconnected" wait_gone 4
	check "h. -C 2, $_w: the connections are closed" \
		wait_for 15 estab_is 10809 "$_e0"
	[ $_w = ref ] && _r="size $SIZE, $_c connections" || _o="size $SIZE, $_c connections"
done
row "h. -C 2" "$_r" "$_o"

# --- the table ---------------------------------------------------------------------------
diag "" "differential: Debian nbd-client 3.24 (reference) vs ours, kernel $(uname -r)"
diag "$(awk -F'|' 'BEGIN { printf "%-30s | %-44s | %s\n", "case", "reference", "ours" }
	{ printf "%-30s | %-44s | %s\n", $1, $2, $3 }' $TABLE)"
done_testing
EOF
vm_run "${VM_TIMEOUT:-600}"
