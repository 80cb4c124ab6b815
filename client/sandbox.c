// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The sandboxes of the TLS proxy and of the resident monitor (sandbox.h).
 * One set of steps, two tables: which capabilities each keeps, which
 * system calls each may make, and what a forbidden call does.
 */
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/socket.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif

bool sandbox_under_valgrind(void)
{
#ifdef RUNNING_ON_VALGRIND
	return RUNNING_ON_VALGRIND != 0;
#else
	return false;
#endif
}

/*
 * What the monitor keeps, and what in the kernel checks it:
 * - CAP_SYS_ADMIN: drivers/block/nbd.c checks
 *   netlink_capable(skb, CAP_SYS_ADMIN) in nbd_genl_connect,
 *   nbd_genl_disconnect and nbd_genl_reconfigure (NBD_CMD_RECONFIGURE
 *   hands a reconnected socket over), and capable(CAP_SYS_ADMIN) in
 *   nbd_ioctl (NBD_SET_SOCK, NBD_DO_IT... of -nonetlink).  NBD_CMD_STATUS
 *   needs none.
 * - CAP_IPC_LOCK: mlockall (-swap) beyond RLIMIT_MEMLOCK (mm/mlock.c
 *   can_do_mlock), in the monitor and the proxies it starts.
 * - CAP_SYS_RESOURCE: a proxy's oom_score_adj -1000 (fs/proc/base.c,
 *   lowering below the old minimum), PR_SET_IO_FLUSHER (kernel/sys.c), and
 *   raising its RLIMIT_MEMLOCK (kernel/sys.c do_prlimit).
 * - CAP_SETUID, CAP_SETGID: a proxy becoming nobody (kernel/sys.c
 *   setresuid, setresgid; setgroups).
 * - CAP_SETPCAP: a proxy dropping its bounding set (PR_CAPBSET_DROP,
 *   security/commoncap.c cap_prctl_drop).
 * - CAP_KILL: killing a proxy that no longer runs as root (kernel/signal.c
 *   kill_ok_by_cred) when it does not start in time.
 * Not kept: CAP_NET_ADMIN (kernel TLS's "tls" module is loaded at set-up,
 * by the probe in device_init; tcp_set_ulp loads it only with it),
 * CAP_SYS_MODULE (the nbd module is loaded before the first attach),
 * CAP_DAC_* (credentials are kept in memory; /run/nbd-client, sysfs and
 * /dev/kmsg are root's own, or opened before).
 */
static const int monitor_caps[] = {
	CAP_SYS_ADMIN, CAP_IPC_LOCK, CAP_SYS_RESOURCE, CAP_SETUID,
	CAP_SETGID, CAP_SETPCAP, CAP_KILL,
};

/*
 * The proxy's system calls: what pump.c makes (recv, send, poll,
 * shutdown, fcntl, clock_gettime), what GnuTLS's record layer makes
 * through our pull and push functions and for its keys (getrandom), what
 * malloc makes (brk, mmap, munmap, mremap, madvise), what syslog makes
 * (sendto on its socket, getpid; socket and connect when syslogd was
 * restarted: socket only for AF_UNIX, proxy_rules), and closing down
 * (close, exit_group).  sigaltstack: the
 * sanitizers' builds wrap the SIGSYS handler in one that asks for it.
 * Names that this architecture lacks are skipped.
 */
static const char *const proxy_calls[] = {
	"read", "write", "readv", "writev", "recv", "recvfrom", "recvmsg",
	"send", "sendto", "sendmsg", "poll", "ppoll", "shutdown", "close",
	"fcntl", "fcntl64", "clock_gettime", "clock_gettime64",
	"gettimeofday", "time", "getrandom", "getpid", "brk", "mmap",
	"mmap2", "munmap", "mremap", "madvise", "futex", "connect", "fstat", "fstat64", "newfstatat", "lseek", "_llseek",
	"rt_sigreturn", "sigreturn", "rt_sigprocmask", "sigaltstack",
	"restart_syscall", "exit", "exit_group", NULL
};

/*
 * The monitor's: everything a reconnect makes (resolve, connect, TLS
 * handshake, netlink, fork a proxy and wait for it, record the state in
 * /run/nbd-client, log, sd_notify), generously: a call not listed fails
 * with EPERM, which its caller reports, and the kernel logs it
 * (SECCOMP_FILTER_FLAG_LOG).  Never: execve, module loading, mount,
 * ptrace, bpf, kexec, reboot, keyctl, swapon.
 */
static const char *const monitor_calls[] = {
	/* files */
	"open", "openat", "openat2", "creat", "close", "close_range",
	"read", "pread64", "readv", "write", "pwrite64", "writev", "lseek",
	"_llseek", "stat", "lstat", "fstat", "newfstatat", "statx",
	"stat64", "lstat64", "fstat64", "fstatat64", "statfs", "fstatfs",
	"access", "faccessat", "faccessat2", "readlink", "readlinkat",
	"getdents", "getdents64", "mkdir", "mkdirat", "rename", "renameat",
	"renameat2", "unlink", "unlinkat", "fsync", "fdatasync",
	"ftruncate", "fchmod", "fchmodat", "flock", "umask", "dup", "dup2",
	"dup3", "pipe", "pipe2", "fcntl", "fcntl64", "ioctl", "chdir",
	"fchdir", "getcwd",
	/* sockets, waiting */
	"socket", "socketpair", "connect", "bind", "getsockname",
	"getpeername", "setsockopt", "getsockopt", "send", "sendto",
	"sendmsg", "sendmmsg", "recv", "recvfrom", "recvmsg", "recvmmsg",
	"shutdown", "poll", "ppoll", "select", "_newselect", "pselect6",
	"epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait",
	"eventfd2", "signalfd", "signalfd4",
	/* processes, signals: proxies, adoption, the resolver's threads */
	"fork", "vfork", "clone", "clone3", "wait4", "waitid", "kill",
	"tgkill", "tkill", "exit", "exit_group", "set_robust_list",
	"get_robust_list", "set_tid_address", "rseq", "futex",
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigreturn",
	"rt_sigtimedwait", "rt_sigsuspend", "sigaltstack",
	"restart_syscall", "getpid", "getppid", "gettid", "getuid",
	"geteuid", "getgid", "getegid", "getresuid", "getresgid",
	"getgroups", "setsid", "getsid", "getpgrp", "getpgid",
	/* what a proxy does to itself before its own filter */
	"prctl", "seccomp", "capget", "capset", "setresuid", "setresgid",
	"setuid", "setgid", "setgroups", "setrlimit", "getrlimit",
	"prlimit64", "mlockall", "munlockall", "mlock", "munlock",
	/* memory, time, randomness */
	"brk", "mmap", "mmap2", "munmap", "mremap", "mprotect", "madvise",
	"clock_gettime", "clock_gettime64", "clock_getres",
	"clock_nanosleep", "nanosleep", "gettimeofday", "time", "getrandom",
	"uname", "sysinfo", "sched_yield", "sched_getaffinity",
	"membarrier", "getrusage", NULL
};

/* The proxy's report fd, for its SIGSYS handler: a handler has no other
 * way to reach it. */
static int sigsys_fd = -1;

static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	struct sandbox_report r = { .magic = SANDBOX_REPORT_MAGIC,
				    .nr = si->si_syscall,
				    .arch = si->si_arch };

	(void)sig;
	(void)uc;
	/* raw calls: a sanitizer's write or _exit wrapper may make calls
	 * of its own, and a second SIGSYS in here kills without a word */
	if (syscall(SYS_write, sigsys_fd, &r, sizeof(r)) != (long)sizeof(r))
		r.nr = -1;	/* nothing more to do: the status says it */
	sandbox_exit(SANDBOX_EXIT);
}

void sandbox_exit(int status)
{
	for (;;)
		syscall(SYS_exit_group, status);
}

static int sigsys_handler(int report_fd, struct nbd_err *e)
{
	struct sigaction sa;
	sigset_t set;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigfillset(&sa.sa_mask);
	sigsys_fd = report_fd;
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return err_errno(e, errno, "cannot catch SIGSYS");
	sigemptyset(&set);
	sigaddset(&set, SIGSYS);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	return 0;
}

/* ---- capabilities ---- */

static uint64_t keep_mask(enum sandbox_role role)
{
	uint64_t m = 0;
	size_t i;

	if (role == SANDBOX_PROXY)
		return 0;
	for (i = 0; i < sizeof(monitor_caps) / sizeof(monitor_caps[0]); i++)
		m |= 1ULL << monitor_caps[i];
	return m;
}

static int cap_get(struct __user_cap_data_struct d[2])
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };

	return (int)syscall(SYS_capget, &h, d);
}

/* Every capability not in keep leaves the bounding set: no exec, setuid
 * binary or file capability can bring it back. */
static int drop_bounding(uint64_t keep, struct nbd_err *e)
{
	struct __user_cap_data_struct d[2];
	int cap, in;

	/* without CAP_SETPCAP (not root: make bench) nothing can be dropped,
	 * and no_new_privs keeps an exec from raising anything */
	if (cap_get(d) < 0)
		return err_errno(e, errno, "capget");
	if (!(d[0].effective & (1U << CAP_SETPCAP)))
		return 0;
	for (cap = 0; cap < 64; cap++) {
		in = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
		if (in < 0)
			break;	/* past the kernel's last capability */
		if (!in || (keep & (1ULL << cap)))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return err_errno(e, errno, "cannot drop capability %d from the bounding set",
					 cap);
	}
	return 0;
}

/* Permitted and effective become keep (what of it we have), inheritable
 * and ambient nothing. */
static int drop_sets(uint64_t keep, struct nbd_err *e)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2];
	uint64_t have;

	if (cap_get(d) < 0)
		return err_errno(e, errno, "capget");
	have = d[0].permitted | (uint64_t)d[1].permitted << 32;
	keep &= have;
	d[0].permitted = d[0].effective = (uint32_t)keep;
	d[1].permitted = d[1].effective = (uint32_t)(keep >> 32);
	d[0].inheritable = d[1].inheritable = 0;
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (syscall(SYS_capset, &h, d) < 0)
		return err_errno(e, errno, "cannot drop capabilities (capset)");
	return 0;
}

/* uid and gid 65534, no supplementary groups: the kernel clears the
 * permitted and effective sets with the uid. */
static int become_nobody(struct nbd_err *e)
{
	if (geteuid() != 0)	/* not root: no uid to give up */
		return 0;
	if (setgroups(0, NULL) < 0)
		return err_errno(e, errno, "setgroups");
	if (setresgid(SANDBOX_PROXY_GID, SANDBOX_PROXY_GID,
		      SANDBOX_PROXY_GID) < 0)
		return err_errno(e, errno, "cannot change to gid %d",
				 SANDBOX_PROXY_GID);
	if (setresuid(SANDBOX_PROXY_UID, SANDBOX_PROXY_UID,
		      SANDBOX_PROXY_UID) < 0)
		return err_errno(e, errno, "cannot change to uid %d",
				 SANDBOX_PROXY_UID);
	return 0;
}

int sandbox_caps(enum sandbox_role role, struct nbd_err *e)
{
	uint64_t keep = keep_mask(role);

	if (drop_bounding(keep, e) < 0)
		return -1;
	if (role == SANDBOX_PROXY && become_nobody(e) < 0)
		return -1;
	if (drop_sets(keep, e) < 0)
		return -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return err_errno(e, errno, "PR_SET_NO_NEW_PRIVS");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return err_errno(e, errno, "PR_SET_DUMPABLE");
	return 0;
}

/* ---- system calls ---- */

static int allow_calls(scmp_filter_ctx ctx, const char *const *names,
		       struct nbd_err *e)
{
	int nr, r;

	for (; *names; names++) {
		nr = seccomp_syscall_resolve_name(*names);
		if (nr < 0)	/* not on this architecture */
			continue;
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		if (r < 0)
			return err_errno(e, -r, "cannot allow %s in the system call filter",
					 *names);
	}
	return 0;
}

/* The proxy's calls allowed with some arguments only: a new socket is
 * syslog's, AF_UNIX, never one to the network. */
static int proxy_rules(scmp_filter_ctx ctx, struct nbd_err *e)
{
	/* every field spelled out: SCMP_A0() leaves datum_b to the
	 * compiler, which clang's -Wmissing-field-initializers rejects */
	const struct scmp_arg_cmp unix_only = {
		.arg = 0, .op = SCMP_CMP_EQ, .datum_a = AF_UNIX, .datum_b = 0,
	};
	int r = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				       &unix_only);

	if (r < 0)
		return err_errno(e, -r, "cannot allow socket(AF_UNIX) in the system call filter");
	return 0;
}

static scmp_filter_ctx filter_new(enum sandbox_role role)
{
	uint32_t deny = role == SANDBOX_PROXY ? SCMP_ACT_TRAP
					      : SCMP_ACT_ERRNO(EPERM);
	scmp_filter_ctx ctx = seccomp_init(deny);

	if (!ctx)
		return NULL;
	/* a foreign architecture's calls (x32, int 0x80) are denied alike */
	seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
			 role == SANDBOX_PROXY ? SCMP_ACT_KILL_PROCESS : deny);
	/* the kernel logs what the monitor's filter denies (best effort:
	 * older kernels and libseccomp cannot) */
	if (role == SANDBOX_MONITOR)
		seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1);
	return ctx;
}

int sandbox_filter(enum sandbox_role role, int report_fd, struct nbd_err *e)
{
	scmp_filter_ctx ctx;
	int r = -1;

	if (role == SANDBOX_PROXY && sigsys_handler(report_fd, e) < 0)
		return -1;
	ctx = filter_new(role);
	if (!ctx)
		return err_set(e, "cannot set up the system call filter (seccomp_init)");
	if (allow_calls(ctx, role == SANDBOX_PROXY ? proxy_calls
						   : monitor_calls, e) < 0)
		goto out;
	if (role == SANDBOX_PROXY && proxy_rules(ctx, e) < 0)
		goto out;
	r = seccomp_load(ctx);
	if (r < 0) {
		r = err_errno(e, -r, "cannot load the system call filter");
		goto out;
	}
	r = 0;
out:
	seccomp_release(ctx);
	return r;
}

/*
 * Under valgrind (make check-valgrind) neither sandbox is set up: a filter
 * binds valgrind's own system calls too, which it cannot know, and the
 * proxy's memory limit as nobody does not hold valgrind's shadow memory.
 */
int sandbox_proxy(int report_fd, struct nbd_err *e)
{
	if (sandbox_under_valgrind())
		return 0;
	if (sandbox_caps(SANDBOX_PROXY, e) < 0 ||
	    sandbox_filter(SANDBOX_PROXY, report_fd, e) < 0)
		return err_prefix(e, "cannot sandbox the TLS proxy (--sandbox=off runs without)");
	return 0;
}

int sandbox_monitor(struct nbd_err *e)
{
	if (sandbox_under_valgrind())
		return 0;
	if (sandbox_caps(SANDBOX_MONITOR, e) < 0 ||
	    sandbox_filter(SANDBOX_MONITOR, -1, e) < 0)
		return err_prefix(e, "cannot sandbox the resident process (--sandbox=off runs without)");
	return 0;
}

/* ---- the parent's side ---- */

void sandbox_call_name(int nr, uint32_t arch, char *name, size_t len)
{
	char *s = seccomp_syscall_resolve_num_arch(arch, nr);

	if (s)
		snprintf(name, len, "%s", s);
	else
		snprintf(name, len, "syscall %d", nr);
	free(s);
}

int sandbox_report_read(int fd, char *name, size_t len)
{
	struct sandbox_report r;
	ssize_t n;

	if (fd < 0)
		return 0;
	do
		n = read(fd, &r, sizeof(r));
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(r) || r.magic != SANDBOX_REPORT_MAGIC)
		return 0;
	sandbox_call_name(r.nr, r.arch, name, len);
	return 1;
}

/* ---- file descriptors ---- */

static void close_from(unsigned int lo, unsigned int hi)
{
	long max;

	if (lo > hi)
		return;
	if (close_range(lo, hi, 0) == 0)
		return;
	max = sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > 65536)
		max = 65536;
	for (; lo <= hi && lo < (unsigned int)max; lo++)
		close((int)lo);
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

void sandbox_close_others(const int *keep, unsigned int n)
{
	int k[SANDBOX_KEEP_MAX];
	unsigned int next = 3, i;

	if (n > SANDBOX_KEEP_MAX)
		n = SANDBOX_KEEP_MAX;
	memcpy(k, keep, n * sizeof(k[0]));
	qsort(k, n, sizeof(k[0]), cmp_int);
	for (i = 0; i < n; i++) {
		close_from(next, (unsigned int)k[i] - 1);
		next = (unsigned int)k[i] + 1;
	}
	close_from(next, ~0U);
}
