# SPDX-License-Identifier: GPL-2.0-or-later
# tests/bench/vm-bench-guest.sh: the guest half of vm-bench.sh (busybox sh,
# /lib/guest-lib.sh already sourced).  vm-bench.sh puts a header before it
# that sets MIB, ROUNDS, RAND_S and PRIO.
#
# One nbdkit (memory plugin, --tls=on: TLS and plaintext on one server and
# port), four devices attached at once and kept attached:
#   ktls   /dev/nbd0  ours, --ktls=on           (kernel TLS, no process)
#   proxy  /dev/nbd1  ours, --ktls=off          (forked nbd-proxy process)
#   ref    /dev/nbd2  Debian's nbd-client, TLS  (its own process pumps)
#   plain  /dev/nbd3  ours, no TLS
# Round 0 is the warm-up; rounds 1..ROUNDS go ktls proxy ref plain, each:
# MIB MiB sequential write (1 MiB, O_DIRECT), the same read back, and
# RAND_S seconds of 4 KiB random reads (randread, queue depth 1).  Every
# operation prints one line for the host:
#   # BENCH cfg op round secs mib ops user sys idle proc nbdkit busy
# (user/sys/idle: whole-guest /proc/stat ticks, sys = system+irq+softirq;
# proc: the process that carries the TLS data (nbd-proxy or the reference
# client), nbdkit: the server, busy: all the guest's CPUs minus idle from
# /proc/schedstat; all in 1/100 s).

CA=/pki/ca-cert.pem
REF=/usr/sbin/nbd-client-ref
HZ=100

# --- the CPU and the crypto the benchmark is about -----------------------------
diag "guest: kernel $(uname -r), $(grep -c ^processor /proc/cpuinfo) cpus, $(grep -m1 '^model name' /proc/cpuinfo | sed 's/.*: //')"
flags=" $(grep -m1 '^flags' /proc/cpuinfo | sed 's/.*: //') "
for f in aes pclmulqdq avx avx2; do
	case $flags in
	*" $f "*) pass "CPU flag $f" ;;
	*) fail "CPU flag $f" "the guest CPU lacks $f: is qemu running with -cpu max?" ;;
	esac
done
check "/proc/schedstat (CPU time of the whole guest)" test -r /proc/schedstat
check "aesni_intel loaded" grep -q '^aesni_intel ' /proc/modules
check "ghash_clmulni_intel loaded" grep -q '^ghash_clmulni_intel ' /proc/modules
check "kernel: AES CTR mode by8 optimization enabled" sh -c 'dmesg | grep -q "AES CTR mode by8 optimization enabled"'
check "kernel: AVX2 version of gcm_enc/dec engaged" sh -c 'dmesg | grep -q "AVX2 version of gcm_enc/dec engaged"'
diag "$(dmesg | grep -E 'AES CTR|gcm_enc|aesni|clmul' | sed 's/^\[[^]]*\] //')"
# The gcm(aes) the kernel's TLS gets: the highest priority implementation.
gcm=$(awk '/^name/ { n = $3 } /^driver/ { d = $3 } /^priority/ { p = $3 }
	/^$/ { if (n == "gcm(aes)" && p > best) { best = p; bd = d } n = "" }
	END { print bd }' /proc/crypto)
check_eq "kernel gcm(aes) is the AES-NI one" "$gcm" generic-gcm-aesni
gt=$(GNUTLS_DEBUG_LEVEL=2 nbdc --help 2>&1 | grep -i 'accelerator' | sed 's/^gnutls\[[0-9]*\]: //' | tr '\n' ';')
diag "GnuTLS: $gt"
check "GnuTLS: Intel AES accelerator detected" sh -c 'echo "$0" | grep -q "Intel AES accelerator was detected"' "$gt"
check "GnuTLS: Intel GCM accelerator detected" sh -c 'echo "$0" | grep -q "Intel GCM accelerator"' "$gt"

# --- server and clients ------------------------------------------------------------
check "nbdkit (memory, --tls=on) starts" \
	nbdkit -P /run/nbdkit.pid -i 127.0.0.1 -p 10809 --tls=on --tls-certificates=/pki memory 1G
wait_listen 10809 30 || bail "nbdkit does not listen"
NBDKIT=$(cat /run/nbdkit.pid)

# attach CFG / detach CFG: the device of each configuration, on the one
# server
dev_of() { case $1 in ktls) echo /dev/nbd0 ;; proxy) echo /dev/nbd1 ;; ref) echo /dev/nbd2 ;; plain) echo /dev/nbd3 ;; esac; }
attach() {
	case $1 in
	ktls) nbdc --ktls=on -y "$PRIO" -A $CA localhost 10809 /dev/nbd0 -N '' ;;
	proxy) nbdc --ktls=off -y "$PRIO" -A $CA localhost 10809 /dev/nbd1 -N '' ;;
	ref) $REF localhost 10809 /dev/nbd2 -N "" -enable-tls -cacertfile $CA \
		-tlshostname localhost -certfile /pki/client-cert.pem -keyfile /pki/client-key.pem ;;
	plain) nbdc localhost 10809 /dev/nbd3 -N '' ;;
	esac
}
detach() {
	if [ "$1" = ref ]; then $REF -d "$(dev_of ref)"; else nbdc -d "$(dev_of "$1")"; fi
}
check "ktls: attach /dev/nbd0" attach ktls
check "proxy: attach /dev/nbd1" attach proxy
check "ref: attach /dev/nbd2 (TLS)" attach ref
check "plain: attach /dev/nbd3" attach plain
for d in 0 1 3; do diag "$(nbdc --status /dev/nbd$d 2>&1)"; done
pid_of() { grep -l "^$1\$" /proc/[0-9]*/comm 2>/dev/null | sed 's|/proc/||; s|/comm||'; }
PROXY=$(pid_of nbd-proxy)
REFPID=$(pid_of nbd-client-ref)
check_eq "one nbd-proxy process (the proxy device's)" "$(echo $PROXY | wc -w)" 1
check_eq "one reference client process" "$(echo $REFPID | wc -w)" 1
diag "pids: nbdkit $NBDKIT, nbd-proxy $PROXY, nbd-client-ref $REFPID"
check "kernel TLS: one TX and one RX socket (ktls only)" \
	sh -c 'awk "\$1 == \"TlsCurrTxSw\" || \$1 == \"TlsCurrRxSw\" { s = s \$2 \" \" } END { exit s != \"1 1 \" }" /proc/net/tls_stat'

patgen -s 3 "${MIB}M" >/tmp/src
want=$(sha </tmp/src)

# --- measurement ---------------------------------------------------------------------
ticks() { # PID: utime+stime of the process (all threads), 0 without one
	if [ -n "$1" ] && [ -r "/proc/$1/stat" ]; then
		awk '{ print $14 + $15 }' "/proc/$1/stat"
	else
		echo 0
	fi
}
snap() { # user sys idle proc nbdkit busy
	echo "$(awk '$1 == "cpu" { print $2 + $3, $4 + $7 + $8, $5 + $6 }' /proc/stat) $(ticks "$1") $(ticks "$NBDKIT") $(busy)"
}
# busy: ns all CPUs ran anything but their idle task (rq_cpu_time, the 7th
# number of each cpuN line of /proc/schedstat) in 1/100 s.  Exact, unlike
# /proc/stat, whose ticks get lost when qemu's vCPU threads wait for the
# host (/proc/PID/stat is exact too: it scales the task's runtime).
busy() {
	awk '/^cpu[0-9]/ { t += $8 } END { printf "%.0f", t / 1e7 }' /proc/schedstat
}
# run CFG OP ROUND PROCPID MIB OPS CMD...: time CMD, print the BENCH line
# (OPS is 1, or for rand4k what randread reports).
run() {
	_c=$1 _o=$2 _r=$3 _p=$4 _m=$5
	shift 6
	_s0=$(snap "$_p")
	_t0=$(cut -d' ' -f1 /proc/uptime)
	if ! "$@" >/tmp/run.out 2>&1; then
		fail "$_c $_o round $_r: $*" "$(tail -n 5 /tmp/run.out)"
		return 1
	fi
	_t1=$(cut -d' ' -f1 /proc/uptime)
	_s1=$(snap "$_p")
	_ops=1
	if [ "$_o" = rand4k ]; then
		# randread times itself; its bytes count as the MiB.
		set -- $(cat /tmp/run.out)
		_ops=$2 _t0=0 _t1=$4 _m=$(awk -v b="$6" 'BEGIN { printf "%.4f", b / 1048576 }')
	fi
	diag "BENCH $_c $_o $_r $(awk -v a="$_t0" -v b="$_t1" 'BEGIN { printf "%.3f", b - a }') $_m $_ops $(echo "$_s0 $_s1" |
		awk '{ print $7 - $1, $8 - $2, $9 - $3, $10 - $4, $11 - $5, $12 - $6 }')"
}

pid_for() { case $1 in proxy) echo "$PROXY" ;; ref) echo "$REFPID" ;; *) echo "" ;; esac; }

t_start=$(uptime_s)
nok=0
r=0
while [ "$r" -le "$ROUNDS" ]; do
	for c in ktls proxy ref plain; do
		d=$(dev_of $c) p=$(pid_for $c)
		run $c write $r "$p" "$MIB" 1 dd if=/tmp/src of="$d" bs=1M count="$MIB" oflag=direct &&
		run $c read $r "$p" "$MIB" 1 dd if="$d" of=/dev/null bs=1M count="$MIB" iflag=direct &&
		run $c rand4k $r "$p" 0 0 randread "$d" "$RAND_S" 4096 $((MIB * 1048576)) &&
		nok=$((nok + 1))
	done
	diag "round $r done at $(uptime_s)s"
	r=$((r + 1))
done
check_eq "every round of every configuration ran" "$nok" $(((ROUNDS + 1) * 4))
diag "benchmark took $(awk -v a="$t_start" -v b="$(uptime_s)" 'BEGIN { printf "%.1f", b - a }')s of guest time"

# The data really went through each path.
for c in ktls proxy ref plain; do
	check_eq "$c: $MIB MiB read back byte-exact" "$(devsha "$(dev_of $c)" "$MIB")" "$want"
done
diag "$(cat /proc/net/tls_stat)"
for c in ktls proxy plain; do check "detach $(dev_of $c)" detach $c; done
check "detach /dev/nbd2 (ref)" detach ref

# --- exec to a ready device ------------------------------------------------------------
# The attach command from exec to its exit, when the device is usable:
# connect, negotiate, TLS handshake, the proxy's fork (or the keys handed
# to the kernel), the netlink attach.  Three times each, alternating; one
# line per attach for the host: "# ATTACH cfg secs" (/proc/uptime: 10 ms).
na=0
for i in 1 2 3; do
	for c in ktls proxy ref plain; do
		t0=$(uptime_s)
		if attach $c >/tmp/attach.out 2>&1; then
			diag "ATTACH $c $(awk -v a="$t0" -v b="$(uptime_s)" 'BEGIN { printf "%.2f", b - a }')"
			na=$((na + 1))
		else
			diag "$c attach failed: $(tail -n 3 /tmp/attach.out)"
		fi
		detach $c >/dev/null 2>&1
		sleep 1
	done
done
check_eq "every timed attach worked" "$na" 12
done_testing
