// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The sandboxes (sandbox.c), each applied in a forked child:
 * - the proxy's: no capabilities, uid/gid 65534, no_new_privs, a filter;
 *   what the pump does still works, and a forbidden call (openat) stops
 *   the child with SANDBOX_EXIT after its report, which the parent names.
 * - the monitor's: only its capabilities, no_new_privs, a filter; a
 *   forbidden call (execve, unshare) fails with EPERM and the child goes
 *   on; netlink, fork, files and a proxy's own sandbox still work.
 * The child tells the parent what it saw as "key value" lines on a pipe;
 * the parent asserts.  Dropping capabilities needs root.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/netlink.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "datapath.h"
#include "sandbox.h"
#include "tap.h"

#define INFO_MAX 8192

/* The parent's own capability sets, from /proc/self/status. */
static uint64_t status_hex(const char *status, const char *key)
{
	const char *p = strstr(status, key);

	return p ? strtoull(p + strlen(key), NULL, 16) : ~0ULL;
}

static size_t read_all(int fd, char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len - 1) {
		n = read(fd, buf + got, len - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	buf[got] = 0;
	return got;
}

static void read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	buf[0] = 0;
	if (fd < 0)
		return;
	read_all(fd, buf, len);
	close(fd);
}

/* The value of "key value" in info, "" if absent. */
static const char *info_get(const char *info, const char *key, char *out,
			    size_t len)
{
	size_t k = strlen(key);
	const char *p = info;

	out[0] = 0;
	while (p && *p) {
		if (!strncmp(p, key, k) && p[k] == ' ') {
			const char *v = p + k + 1, *end = strchr(v, '\n');
			size_t n = end ? (size_t)(end - v) : strlen(v);

			snprintf(out, len, "%.*s", (int)(n < len ? n : len - 1), v);
			break;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return out;
}

static void say(int fd, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0 && write(fd, line, (size_t)n) < 0)
		_exit(3);
}

/* The lines of /proc/self/status the tests look at, as "key value". */
static void say_status(int fd)
{
	static const char *const keys[] = { "CapInh", "CapPrm", "CapEff",
					    "CapBnd", "CapAmb", "NoNewPrivs",
					    "Seccomp", "Uid", "Gid", "Groups" };
	char st[4096], key[32], *p, *end;
	size_t i;

	read_file("/proc/self/status", st, sizeof(st));
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		snprintf(key, sizeof(key), "\n%s:", keys[i]);
		p = strstr(st, key);
		if (!p)
			continue;
		p += strlen(key);
		while (*p == '\t' || *p == ' ')
			p++;
		end = strchr(p, '\n');
		say(fd, "%s %.*s\n", keys[i], (int)(end ? end - p : 0), p);
	}
}

/* write, read, poll, sendmsg, recvmsg on a socketpair made beforehand:
 * 1 when all work. */
static int pump_calls_work(int sp[2])
{
	struct iovec iov = { .iov_base = "ping", .iov_len = 4 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	char buf[8];
	struct iovec riov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr rm = { .msg_iov = &riov, .msg_iovlen = 1 };
	struct pollfd p;
	int ok_all;

	p = (struct pollfd){ .fd = sp[1], .events = POLLIN };
	ok_all = write(sp[0], "abc", 3) == 3 && poll(&p, 1, 1000) == 1 &&
		 read(sp[1], buf, sizeof(buf)) == 3 &&
		 sendmsg(sp[0], &m, MSG_NOSIGNAL) == 4 &&
		 recvmsg(sp[1], &rm, 0) == 4 && !memcmp(buf, "ping", 4) &&
		 send(sp[1], "x", 1, MSG_NOSIGNAL) == 1 &&
		 recv(sp[0], buf, 1, 0) == 1 &&
		 fcntl(sp[0], F_SETFL, O_NONBLOCK) == 0 &&
		 shutdown(sp[0], SHUT_WR) == 0;
	close(sp[0]);
	close(sp[1]);
	return ok_all;
}

/* The child under test: fn runs in it with the info fd; its exit status
 * and what it said come back. */
struct child {
	int status;		/* waitpid's */
	char info[INFO_MAX];
	int report_fd;		/* the read end of the report pipe */
};

static void run_child(void (*fn)(int info_fd, int report_fd),
		      struct child *c)
{
	int info[2], rep[2];
	pid_t pid;

	memset(c, 0, sizeof(*c));
	c->report_fd = -1;
	if (pipe(info) < 0 || pipe2(rep, O_CLOEXEC) < 0)
		return;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(info[0]);
		close(rep[0]);
		fn(info[1], rep[1]);
		_exit(0);
	}
	close(info[1]);
	close(rep[1]);
	read_all(info[0], c->info, sizeof(c->info));
	close(info[0]);
	while (waitpid(pid, &c->status, 0) < 0 && errno == EINTR)
		;
	fcntl(rep[0], F_SETFL, O_NONBLOCK);
	c->report_fd = rep[0];
}

/* ---- the proxy ---- */

static void proxy_child(int fd, int report_fd)
{
	struct nbd_err e = { "" };
	int sp[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) < 0) {
		say(fd, "error socketpair: %s\n", strerror(errno));
		return;
	}
	if (sandbox_caps(SANDBOX_PROXY, &e) < 0) {
		say(fd, "error %s\n", e.msg);
		return;
	}
	say_status(fd);	/* /proc is closed to it once filtered */
	if (sandbox_filter(SANDBOX_PROXY, report_fd, &e) < 0) {
		say(fd, "error %s\n", e.msg);
		return;
	}
	say(fd, "pump %d\n", pump_calls_work(sp));
	say(fd, "getpid %d\n", getpid() > 0);
	say(fd, "unix %d\n", close(socket(AF_UNIX, SOCK_DGRAM, 0)) == 0);
	say(fd, "opening 1\n");
	/* forbidden: never returns */
	say(fd, "openat %d\n", open("/etc/hostname", O_RDONLY));
}

static void test_proxy(void)
{
	struct child c;
	char v[256], name[64] = "";

	run_child(proxy_child, &c);
	is_str(info_get(c.info, "error", v, sizeof(v)), "", "proxy: sandboxed without error");
	is_str(info_get(c.info, "CapPrm", v, sizeof(v)), "0000000000000000", "proxy: no permitted capabilities");
	is_str(info_get(c.info, "CapEff", v, sizeof(v)), "0000000000000000", "proxy: no effective capabilities");
	is_str(info_get(c.info, "CapInh", v, sizeof(v)), "0000000000000000", "proxy: no inheritable capabilities");
	is_str(info_get(c.info, "CapAmb", v, sizeof(v)), "0000000000000000", "proxy: no ambient capabilities");
	is_str(info_get(c.info, "CapBnd", v, sizeof(v)), "0000000000000000", "proxy: an empty bounding set");
	is_str(info_get(c.info, "NoNewPrivs", v, sizeof(v)), "1", "proxy: no_new_privs");
	is_str(info_get(c.info, "Uid", v, sizeof(v)), "65534\t65534\t65534\t65534", "proxy: uid nobody (real, effective, saved, fs)");
	is_str(info_get(c.info, "Gid", v, sizeof(v)), "65534\t65534\t65534\t65534", "proxy: gid nogroup");
	is_str(info_get(c.info, "Groups", v, sizeof(v)), "", "proxy: no supplementary groups");
	is_str(info_get(c.info, "pump", v, sizeof(v)), "1", "proxy: write, read, poll, sendmsg, recvmsg, send, recv, fcntl, shutdown still work");
	is_str(info_get(c.info, "getpid", v, sizeof(v)), "1", "proxy: getpid (syslog's) still works");
	is_str(info_get(c.info, "unix", v, sizeof(v)), "1", "proxy: socket(AF_UNIX) (syslog's) still works");
	is_str(info_get(c.info, "opening", v, sizeof(v)), "1", "proxy: got as far as the forbidden call");
	is_str(info_get(c.info, "openat", v, sizeof(v)), "", "proxy: the forbidden call never returned");
	ok(WIFEXITED(c.status) && WEXITSTATUS(c.status) == SANDBOX_EXIT,
	   "proxy: the child exited with status %d (status 0x%x)", SANDBOX_EXIT,
	   c.status);
	is_int(sandbox_report_read(c.report_fd, name, sizeof(name)), 1, "proxy: its handler reported the call");
	is_str(name, "openat", "proxy: the parent names it");
	is_int(sandbox_report_read(c.report_fd, name, sizeof(name)), 0, "proxy: one report, no more");
	close(c.report_fd);
}

/* A proxy that asks for a network socket: only AF_UNIX is allowed. */
static void proxy_inet_child(int fd, int report_fd)
{
	struct nbd_err e = { "" };

	if (sandbox_proxy(report_fd, &e) < 0) {
		say(fd, "error %s\n", e.msg);
		return;
	}
	say(fd, "inet %d\n", socket(AF_INET, SOCK_STREAM, 0));
}

static void test_proxy_inet(void)
{
	struct child c;
	char v[256], name[64] = "";

	run_child(proxy_inet_child, &c);
	is_str(info_get(c.info, "error", v, sizeof(v)), "", "proxy/inet: sandboxed without error");
	is_str(info_get(c.info, "inet", v, sizeof(v)), "", "proxy/inet: socket(AF_INET) never returned");
	ok(WIFEXITED(c.status) && WEXITSTATUS(c.status) == SANDBOX_EXIT,
	   "proxy/inet: the child exited with status %d (status 0x%x)",
	   SANDBOX_EXIT, c.status);
	is_int(sandbox_report_read(c.report_fd, name, sizeof(name)), 1, "proxy/inet: reported");
	is_str(name, "socket", "proxy/inet: the parent names socket");
	close(c.report_fd);
}

/* ---- the monitor ---- */

/* A proxy started by the sandboxed monitor: its own drop still works
 * under the monitor's filter, and its stricter filter wins. */
static void grandchild_proxy(int fd)
{
	int rep[2], ws = 0;
	char name[64] = "";
	pid_t pid;

	if (pipe2(rep, O_CLOEXEC) < 0)
		return;
	pid = fork();
	if (pid == 0) {
		struct nbd_err e;

		close(rep[0]);
		if (sandbox_proxy(rep[1], &e) < 0)
			_exit(2);
		open("/etc/hostname", O_RDONLY);
		_exit(0);
	}
	close(rep[1]);
	waitpid(pid, &ws, 0);
	fcntl(rep[0], F_SETFL, O_NONBLOCK);
	say(fd, "proxy-status %d\n", WIFEXITED(ws) ? WEXITSTATUS(ws) : -1);
	say(fd, "proxy-report %d\n", sandbox_report_read(rep[0], name, sizeof(name)));
	say(fd, "proxy-call %s\n", name);
	close(rep[0]);
}

/* A TCP listener on 127.0.0.1 that the sandboxed monitor connects to;
 * its port. */
static int listener_fd = -1;

static int listen_local(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);

	listener_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listener_fd < 0 || bind(listener_fd, (struct sockaddr *)&a, len) < 0 ||
	    listen(listener_fd, 4) < 0 ||
	    getsockname(listener_fd, (struct sockaddr *)&a, &len) < 0)
		return -1;
	return ntohs(a.sin_port);
}

/* What a reconnect does first: resolve, connect. */
static int connect_works(int port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
	char service[16];
	int s, r;

	snprintf(service, sizeof(service), "%d", port);
	if (getaddrinfo("127.0.0.1", service, &hints, &ai) != 0)
		return 0;
	s = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
	r = s >= 0 && connect(s, ai->ai_addr, ai->ai_addrlen) == 0;
	if (s >= 0)
		close(s);
	freeaddrinfo(ai);
	return r;
}

/* What recording the state does: a file written, synced, renamed into
 * place, then removed (in a directory of the parent's). */
static int state_file_works(const char *dir)
{
	char tmp[256], final[256];
	int fd, r;

	snprintf(tmp, sizeof(tmp), "%s/.x.tmp", dir);
	snprintf(final, sizeof(final), "%s/x", dir);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return 0;
	r = write(fd, "v\n", 2) == 2 && fsync(fd) == 0;
	close(fd);
	return r && rename(tmp, final) == 0 && unlink(final) == 0;
}

static char state_dir[64];
static int local_port;

static void monitor_allowed(int fd)
{
	char *argv[] = { "/bin/true", NULL };
	int nl, ws = 0, r, sp[2];
	pid_t pid;

	nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	say(fd, "netlink %d\n", nl >= 0);
	if (nl >= 0)
		close(nl);
	pid = fork();
	if (pid == 0)
		_exit(7);
	say(fd, "fork %d\n", pid > 0 && waitpid(pid, &ws, 0) == pid &&
			       WIFEXITED(ws) && WEXITSTATUS(ws) == 7);
	say(fd, "pump %d\n", socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == 0 &&
			       pump_calls_work(sp));
	say(fd, "kill %d\n", kill(getpid(), 0) == 0);
	say(fd, "connect %d\n", connect_works(local_port));
	say(fd, "state %d\n", state_file_works(state_dir));
	errno = 0;
	r = execve(argv[0], argv, NULL);
	say(fd, "execve %d %s\n", r, strerror(errno));
	errno = 0;
	r = unshare(0);
	say(fd, "unshare %d %s\n", r, strerror(errno));
	grandchild_proxy(fd);
	say(fd, "alive 1\n");
}

static void monitor_child(int fd, int report_fd)
{
	struct nbd_err e = { "" };

	(void)report_fd;
	if (sandbox_monitor(&e) < 0) {
		say(fd, "error %s\n", e.msg);
		return;
	}
	say_status(fd);	/* the monitor may read files */
	monitor_allowed(fd);
}

static const int kept[] = { CAP_SYS_ADMIN, CAP_IPC_LOCK, CAP_SYS_RESOURCE,
			    CAP_SETUID, CAP_SETGID, CAP_SETPCAP, CAP_KILL };

static void test_monitor(void)
{
	uint64_t keep = 0, prm, bnd;
	char st[4096], v[256], want[32];
	struct child c;
	size_t i;

	for (i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		keep |= 1ULL << kept[i];
	read_file("/proc/self/status", st, sizeof(st));
	prm = status_hex(st, "CapPrm:");
	bnd = status_hex(st, "CapBnd:");
	local_port = listen_local();
	snprintf(state_dir, sizeof(state_dir), "/tmp/test-sandbox.XXXXXX");
	ok(local_port > 0 && mkdtemp(state_dir), "monitor: a listener and a directory to use");
	run_child(monitor_child, &c);
	rmdir(state_dir);
	close(listener_fd);
	is_str(info_get(c.info, "error", v, sizeof(v)), "", "monitor: sandboxed without error");
	snprintf(want, sizeof(want), "%016llx", (unsigned long long)(prm & keep));
	is_str(info_get(c.info, "CapPrm", v, sizeof(v)), want, "monitor: permitted: only its capabilities (of those it had)");
	is_str(info_get(c.info, "CapEff", v, sizeof(v)), want, "monitor: effective: the same");
	is_str(info_get(c.info, "CapInh", v, sizeof(v)), "0000000000000000", "monitor: no inheritable capabilities");
	snprintf(want, sizeof(want), "%016llx", (unsigned long long)(bnd & keep));
	is_str(info_get(c.info, "CapBnd", v, sizeof(v)), want, "monitor: the bounding set: only its capabilities");
	is_str(info_get(c.info, "NoNewPrivs", v, sizeof(v)), "1", "monitor: no_new_privs");
	is_str(info_get(c.info, "Seccomp", v, sizeof(v)), "2", "monitor: a seccomp filter");
	is_str(info_get(c.info, "Uid", v, sizeof(v)), "0\t0\t0\t0", "monitor: still root's uid");
	is_str(info_get(c.info, "netlink", v, sizeof(v)), "1", "monitor: socket(AF_NETLINK) works");
	is_str(info_get(c.info, "fork", v, sizeof(v)), "1", "monitor: fork and waitpid work");
	is_str(info_get(c.info, "pump", v, sizeof(v)), "1", "monitor: socket I/O works");
	is_str(info_get(c.info, "kill", v, sizeof(v)), "1", "monitor: kill works");
	is_str(info_get(c.info, "connect", v, sizeof(v)), "1", "monitor: getaddrinfo and a TCP connect work");
	is_str(info_get(c.info, "state", v, sizeof(v)), "1", "monitor: a state file is written, synced, renamed and removed");
	is_str(info_get(c.info, "execve", v, sizeof(v)), "-1 Operation not permitted", "monitor: execve fails with EPERM");
	is_str(info_get(c.info, "unshare", v, sizeof(v)), "-1 Operation not permitted", "monitor: unshare fails with EPERM");
	is_str(info_get(c.info, "proxy-status", v, sizeof(v)), "159", "monitor: a proxy it starts sandboxes itself and is stopped by a forbidden call");
	is_str(info_get(c.info, "proxy-report", v, sizeof(v)), "1", "monitor: that proxy reported the call");
	is_str(info_get(c.info, "proxy-call", v, sizeof(v)), "openat", "monitor: named openat");
	is_str(info_get(c.info, "alive", v, sizeof(v)), "1", "monitor: the child went on after the forbidden calls");
	ok(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0, "monitor: and exited 0 (status 0x%x)", c.status);
	close(c.report_fd);
}

/* ---- names ---- */

static void test_names(void)
{
	uint32_t arch = seccomp_arch_native();
	char name[64];

	sandbox_call_name(seccomp_syscall_resolve_name("openat"), arch, name,
			  sizeof(name));
	is_str(name, "openat", "names: openat");
	sandbox_call_name(99999, arch, name, sizeof(name));
	is_str(name, "syscall 99999", "names: an unknown number");
	is_int(sandbox_report_read(-1, name, sizeof(name)), 0, "names: no fd, no report");
}

/* The monitor's side: datapath_close finds the report a proxy left, and
 * nothing when there is none. */
static void test_datapath_report(void)
{
	struct sandbox_report r = { .magic = SANDBOX_REPORT_MAGIC,
				    .nr = seccomp_syscall_resolve_name("openat"),
				    .arch = seccomp_arch_native() };
	struct datapath dp;
	int p[2], st = -1;

	memset(&dp, 0, sizeof(dp));
	dp.kind = DATAPATH_PROXY;
	dp.kernel_fd = dp.watch_fd = dp.proxy_pid = -1;
	if (pipe2(p, O_NONBLOCK) < 0 || write(p[1], &r, sizeof(r)) != sizeof(r))
		return;
	close(p[1]);
	dp.report_fd = p[0];
	datapath_close(&dp, &st);
	is_str(dp.sandbox_call, "openat", "datapath_close: the call a proxy's sandbox reported");
	is_int(dp.report_fd, -1, "datapath_close: the report pipe is closed");
	if (pipe2(p, O_NONBLOCK) < 0)
		return;
	dp.report_fd = p[0];
	datapath_close(&dp, &st);
	is_str(dp.sandbox_call, "", "datapath_close: no report, no call (the pipe still open, empty)");
	close(p[1]);
}

int main(void)
{
	if (geteuid() != 0) {
		printf("1..0 # SKIP dropping capabilities and uids needs root\n");
		return 0;
	}
	if (sandbox_under_valgrind()) {
		printf("1..0 # SKIP under valgrind no filter is loaded: it would bind valgrind's own system calls\n");
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	test_names();
	test_datapath_report();
	test_proxy();
	test_proxy_inet();
	test_monitor();
	return tap_done();
}
